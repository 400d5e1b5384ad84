"""A quantity counted twice: a sum a later step adds one of its own terms to, a calculation made twice.

`He added 20 + 10 = 30 to his allowance`, then `30 + 20 = 50`: the 20 is in the 30 already, so the
later sum counts it twice. When the first sum is a value of the gold chain (`20 + 10 = 30` is the
gold's total), the first line is right in number and wrong in meaning: it calls the total a part
(what was added, the capacity of one school), and the later line believes it. The labelling guide
blames the line that misnames the value, so the first sum is the error, not the line that adds
again, unless the gold solution itself adds the same two values.

Likewise a calculation a step repeats (`9000*.30` for the first year and again for the second)
where the gold makes it once and applies the same operator and operand to another value the
second time (30% of the 6300 left): the repeat is applied to the wrong base.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

from tracegen.steps import split_steps
from tracegen.verifiers.answers import same_value
from tracegen.verifiers.calculations import Calculation, calculations, plain
from tracegen.verifiers.values import GoldChain, contains


def counted_twice(
    step_calcs: list[tuple[Calculation, ...]],
    index: int,
    calc: Calculation,
    gold: str,
    answer: Fraction | None,
) -> str | None:
    """Why the sum `calc` of step `index` is misnamed: a later step adds one of its terms to it again, and what that
    gives is used after (or answered); None when there is none. Not when the term is an increment the solution
    keeps adding (`200+50`, `250+50`, `300+50`: bids rising by 50), nor when the double count leads nowhere (an
    aside). Which of the two lines misnames its sum the numbers cannot tell (`the first two classes have 15+12 =
    27`, then `the first two classes have a total of 27+15`); read from the words of the two lines (the later one
    says the same thing), that cost a development label and two right blames for one, so the first is blamed."""
    chain = GoldChain.of(gold)
    if calc.expression is None or not contains(chain.quantities, calc.stated):
        return None
    terms = _terms(calc)
    if not terms:
        return None
    total = abs(calc.stated)
    later = step_calcs[index + 1 :]
    for position, calcs in enumerate(later):
        used = {operand for after in later[position + 1 :] for c in after for operand in c.operands}  # no sign
        for other in calcs:
            if not (
                contains(used, abs(other.stated))
                or (answer is not None and same_value(abs(answer), abs(other.stated)))
            ):
                continue
            for symbol, left, right in other.expression.operations() if other.expression is not None else ():
                if symbol != "+":
                    continue
                for whole, part in ((left, right), (right, left)):
                    if (
                        whole == total
                        and contains(terms, part)
                        and not _increment(step_calcs[: index + 1], terms, part)
                        and not any(
                            contains(terms, part) and (len(terms) == 1 or contains(terms, whole))
                            for terms in gold_sums(gold)
                        )
                    ):
                        return (
                            f"{calc.text} = {plain(total)} already holds {plain(part)}, and a later step adds "
                            f"{plain(part)} to it again: {plain(total)} is not what this line calls it"
                        )
    return None


def _increment(step_calcs: list[tuple[Calculation, ...]], terms: frozenset[Fraction], part: Fraction) -> bool:
    """Whether another term of the sum was itself made by adding `part` (a running total rising by `part`)."""
    return any(
        same_value(abs(earlier.stated), term) and contains(earlier.operands, part)
        for calcs in step_calcs
        for earlier in calcs
        for term in terms
        if not same_value(term, part) and earlier.expression is not None and "+" in earlier.text
    )


@lru_cache(maxsize=4096)
def gold_sums(gold: str) -> tuple[frozenset[Fraction], ...]:
    """The terms of each sum of the gold solution, a term that is itself a gold sum opened up: `36+40 = 76`, then
    `76+46 = 122` has the terms 76, 46, 36 and 40 (Rani's 46 is added to Monic's 36, through 76). A sum that has a
    term twice (`4+4+3+6`: two books of 4 pounds) may add it again to anything: it has every value twice."""
    sums = [
        (abs(calc.result), [abs(operand) for operand in calc.operands])
        for step in split_steps(gold)
        for calc in calculations(step)
        if calc.expression is not None
        and calc.computes
        and all(symbol in "+-" for symbol, _, _ in calc.expression.operations())
    ]
    first: dict[Fraction, frozenset[Fraction]] = {}
    for total, terms in sums:
        first.setdefault(total, frozenset(terms))

    def opened(terms: frozenset[Fraction], seen: frozenset[Fraction]) -> frozenset[Fraction]:
        for term in terms - seen:
            if term in first:
                terms |= opened(first[term], seen | terms)
        return terms

    return tuple(opened(frozenset(terms), frozenset({total})) for total, terms in sums) + tuple(
        frozenset({twice}) for _, terms in sums for twice in terms if terms.count(twice) > 1
    )


def _terms(calc: Calculation) -> frozenset[Fraction]:
    """The terms of a plain sum (`20+10`), else nothing."""
    operations = calc.expression.operations() if calc.expression is not None else []
    if not operations or any(symbol != "+" for symbol, _, _ in operations):
        return frozenset()
    return frozenset(calc.operands)


def repeated(calc: Calculation, earlier: list[tuple[Calculation, ...]], gold: str) -> str | None:
    """Why `calc`, the same calculation as an earlier step's, is applied to the wrong value: the gold solution makes it
    once and applies its operator and one of its operands to another value (`9000*.30` in the first year and again
    in the second, where the gold takes 30% of 6300 in the second)."""
    operations = calc.expression.operations() if calc.expression is not None else []
    if len(operations) != 1:
        return None
    symbol, left, right = operations[0]
    if not any(
        other.expression is not None and other.expression.operations() == operations
        for calcs in earlier
        for other in calcs
    ):
        return None
    gold_operations = _gold_operations(gold)
    if gold_operations.count((symbol, left, right)) + gold_operations.count((symbol, right, left)) != 1:
        return None  # the gold makes it twice too, or never: then it is no repeat of the gold's
    for gold_symbol, gold_left, gold_right in gold_operations:
        if gold_symbol != symbol:
            continue
        for shared, other in ((gold_right, gold_left), (gold_left, gold_right)):
            if shared in (left, right) and other not in (left, right) and shared not in (1, 2, 100):  # not a unit
                return (
                    f"{calc.text} again, where the gold solution computes it once and then {plain(other)} {symbol} "
                    f"{plain(shared)}"
                )
    return None


@lru_cache(maxsize=4096)
def _gold_operations(gold: str) -> list[tuple[str, Fraction, Fraction]]:
    return [
        operation
        for step in split_steps(gold)
        for calc in calculations(step)
        if calc.expression is not None
        for operation in calc.expression.operations()
    ]
