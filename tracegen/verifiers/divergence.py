"""The value-tracking verifier: the first step that is false, unjustified or off the gold chain.

Two sets drive it. *Known values* are what a step may use without computing it: the question's
numbers (digits, words, percentages, fractions, unit constants), every number of the gold
solution, and the values the solution's own earlier steps compute or state. *Gold quantities*
are what the gold chain computes (each result, every partial result of its expressions, a sum
regrouped included, the final answer); its *results* are what its steps conclude.

A step's calculations are its annotations, the plain equations of its text and arithmetic in
prose (`12 apples / 3 = 4 apples`, tracegen.verifiers.calculations and .prose); the numbers it
writes outside them are values it *states*. Walking the steps in order, the first step is wrong that
1. has false arithmetic (`false_annotation`), else
2. uses an operand that is not known, or states a value no question, gold solution or earlier
   step gives, no gold quantity, that a later step uses or that it writes as money or as someone's
   (`Lylah's $30000`: a claim, even unused) (`unsupported_value`), else
3. computes a gold quantity but binds it to another quantity than the gold solution does: the
   right number of the wrong thing (`3 potatoes` for the gold's `3 onions`), period (`210 a
   day` for `210 a week`), person (`Raymond does 100` for the gold's `David does 100`) or as a
   multiplier (`30 times as old`) (`misread`, tracegen.verifiers.binding), or by the name the
   problem gives other values, then acts on that name (`3*30 = 90 nongendered children` where the
   gold's 90 is girls and its 3 nongendered children; tracegen.verifiers.names) or before it (`her
   total sales were $400*2 = $800` where the gold's are 1200; .subjects), or misreads the
   problem whatever the gold chain: an equation or an expression in the unknown that no value
   bears out (`3x + 2x = 180` where the angles are x, 2x and 3x), a term counted twice, a
   calculation repeated on a stale base, quantities combined against their units (`50 a day * 2
   weeks`) (`misread`, tracegen.verifiers.misreadings), or names its value as a quantity the gold
   gives one other value, used or not (`Jon's total time was 111 minutes` where the gold's is 170)
   (`misread`, tracegen.verifiers.contradiction), else
4. computes a value that leads nowhere on the gold chain yet is used: not a gold result, and no
   later step turns it into one (a partial result of the gold chain counts only when a later
   step completes it). A solution may take another path (`3+4=7`, then `16-7=9`), and a value
   nothing after uses is a side fact (`that is 180 minutes`), not where the solution goes wrong.
   A value off the chain that multiplies where the gold divides the same two values (or the other
   way round) is wrong even when a later value lands on the chain by chance.
   `wrong_operation` when the gold chain combines the same two values with another operator,
   else `misread`.
A true side fact is not 3: a product or quotient whose units compose (`8 hours a day * 5 days = 40 hours`, where
the gold's 40 is minutes; tracegen.verifiers.side_facts). Nor is it 4 when it converts by a unit constant
(`30 inches / 12 = 2.5 feet`, `50 a day * 7 = 350 a week`) or divides an amount by a rate of its unit, so the line
that misuses it is judged instead. A rate times a count stays 4: read by hand on whole-file moves, deferring it was
right about as often as wrong (a reader of units cannot tell `could read 300 pages` from `reads 300 pages`).
Nor is 4 a sum of some of a gold sum's terms that the solution keeps adding to (`4 + 3 = 7` pounds, then `7 + 6`:
tracegen.verifiers.partials), so the sum that concludes without a term is blamed. Nor is 4 a product of one part of
a gold sum of parts that the line names as its units compose (`80 * 8 = 640 kg` for the 8 other adults, where the
gold has `(8 + 1) * 80`: tracegen.verifiers.gold_products).
5. In a solution that some step above flags, or whose answer is wrong, an earlier value off the gold chain that
   nothing after uses is no side fact but the first error (`His change was $10 - $10 = $0`, then an unrelated
   slip): a right solution keeps such asides unflagged, so false alarms cannot rise. Likewise a value off the chain
   that step 4 let through because a later step lands on a gold value from it is the first error when the flagged
   step uses it again (`200*2 = 400` on red ties, `400*1.5 = 600` lands on the gold's 600, then `600 + 400`).
When no step is wrong but the answer is, the error is the conclusion (`wrong_final`).
Kinds are defined in tracegen.verifiers.base.KINDS. Measured against hand labels by
scripts/verifier_accuracy.py and `tracegen diverge --labels`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from tracegen.steps import split_steps
from tracegen.verifiers.answers import WrongSolution, final_line_index, final_value, same_value
from tracegen.verifiers.base import Divergence
from tracegen.verifiers.binding import misbinding, names_an_amount
from tracegen.verifiers.calculations import Calculation, calculations, plain, stated_numbers
from tracegen.verifiers.contradiction import contradicts_gold
from tracegen.verifiers.gold_products import true_gold_piece
from tracegen.verifiers.misreadings import misreading
from tracegen.verifiers.names import misnamed
from tracegen.verifiers.partials import kept_partial_sum
from tracegen.verifiers.side_facts import true_side_fact
from tracegen.verifiers.values import GoldChain, contains, question_values


class DivergenceVerifier:
    """Needs no model and no options; deterministic, a few milliseconds per solution."""

    def flag_steps(self, items: Sequence[tuple[str, str, str]]) -> list[int | None]:
        """The first wrong step of each (question, gold, solution) judging its steps alone, whatever its
        answer (None: none is wrong); on a correct solution a step flagged is a false alarm."""
        flagged = []
        for question, gold, solution in items:
            steps, final = split_steps(solution), final_line_index(solution)
            body = steps if final is None else steps[:final]
            found = first_wrong_step(question, gold, body, final_value(solution))
            flagged.append(None if found is None else found.step_index)
        return flagged

    def first_error(self, question: str, gold: str, solution: str) -> Divergence | None:
        wrong = WrongSolution.of(gold, solution)
        if wrong is None:
            return None
        body, answer = wrong.body, wrong.answer
        reading = _Reading.of(gold, body, answer)
        return (
            _first_wrong(question, body, reading)
            or _unused_aside(question, body, reading, before=len(body))
            or _wrong_conclusion(wrong.steps, body, wrong.final, answer, wrong.gold_answer)
        )


@dataclass(frozen=True)
class _Reading:
    """What the rules read from a solution's steps, read once for the flagging pass and the two passes that move
    its blame."""

    gold: str
    answer: Fraction | None
    chain: GoldChain
    step_calcs: list[tuple[Calculation, ...]]
    stated: list[tuple[Fraction, ...]]
    leads_to_gold: dict[int, bool]  # by id() of a calculation
    useful_after: list[set[Fraction]]
    used_after: list[set[Fraction]]

    @staticmethod
    def of(gold: str, steps: list[str], answer: Fraction | None) -> _Reading:
        chain = GoldChain.of(gold)
        step_calcs = [calculations(step) for step in steps]
        stated = [stated_numbers(step) for step in steps]
        leads_to_gold, useful_after = _leads_to_gold(step_calcs, chain.results)
        used_after = _used_after(step_calcs, stated, answer)
        return _Reading(gold, answer, chain, step_calcs, stated, leads_to_gold, useful_after, used_after)


def first_wrong_step(question: str, gold: str, steps: list[str], answer: Fraction | None = None) -> Divergence | None:
    """The first of `steps` that is false, unjustified, misbound or off the gold chain (1-4 above), or an unused
    value off the chain before it (5 above); None if none is.

    Judges the steps alone, whatever the final answer (`answer`, when given, counts as a use of
    the value it states): on a correct solution, a step it returns is a false alarm.
    """
    return _first_wrong(question, steps, _Reading.of(gold, steps, answer))


def _first_wrong(question: str, steps: list[str], reading: _Reading) -> Divergence | None:
    found = _first_flagged_step(question, steps, reading)
    if found is None:
        return None
    found = _reused_landing(reading, found) or found
    return _unused_aside(question, steps, reading, before=found.step_index) or found


def _reused_landing(reading: _Reading, found: Divergence) -> Divergence | None:
    """The earliest step before `found` whose value is off the gold chain, was let through because a later step turns
    it into a gold value, and that the flagged step uses again.

    Step 4 accepts a value off the chain that leads to a gold result: a solution may take another path (`3+4=7`, then
    `16-7=9`). But when the step found wrong builds on the same value again, the landing was luck, not a path
    (`200*2 = 400` spent on red ties, `400*1.5 = 600` lands on the gold's 600, then `600+400 = 1000`): the value was
    wrong where it was made. Like `_unused_aside`, it only moves the blame inside a solution already judged wrong.
    """
    chain, step_calcs, leads_to_gold = reading.chain, reading.step_calcs, reading.leads_to_gold
    earliest: tuple[int, Calculation] | None = None
    for operand in (operand for calc in step_calcs[found.step_index] for operand in calc.operands):
        source = _last_source(step_calcs[: found.step_index], operand)
        if (
            source is not None
            and (earliest is None or source[0] < earliest[0])
            and leads_to_gold[id(source[1])]
            and not contains(chain.quantities, source[1].stated)
        ):
            earliest = source
    if earliest is None:
        return None
    return _off_chain(
        *earliest, chain, fate="a later step lands on one from it by chance, and a wrong step uses it again"
    )


def _last_source(step_calcs: list[tuple[Calculation, ...]], operand: Fraction) -> tuple[int, Calculation] | None:
    """The last of these steps' calculations that computes `operand` (operands have no sign), with its step index."""
    for index in range(len(step_calcs) - 1, -1, -1):
        made = [calc for calc in step_calcs[index] if calc.computes and same_value(abs(calc.stated), operand)]
        if made:
            return index, made[-1]
    return None


def _unused_aside(question: str, steps: list[str], reading: _Reading, before: int) -> Divergence | None:
    """The first of `steps[:before]` that computes a value off the gold chain that nothing after uses, in a solution
    already known to go wrong at `before` (or only in its answer, `before == len(steps)`).

    Such a value is left alone in step 4: in a right solution it is a side fact (`that is 180 minutes`). But a
    solution that goes wrong anyway most often went wrong there first: a false claim that the solution drops
    (`His change was $10 - $10 = $0`), or a wrong try it starts again from. It never flags a solution that no other
    rule flags, so false alarms cannot rise. A true side fact (units that compose, a conversion) is still not it.
    """
    chain, step_calcs, used_after = reading.chain, reading.step_calcs, reading.used_after
    for index in range(before):
        for calc in step_calcs[index]:
            if (
                calc.computes
                and not contains(used_after[index], calc.stated)
                and not contains(chain.quantities, calc.stated)
                and not true_side_fact(question, steps[:index], steps[index], calc)
            ):
                return _off_chain(index, calc, chain)
    return None


def _first_flagged_step(question: str, steps: list[str], reading: _Reading) -> Divergence | None:
    """Steps 1-4 above: the first step a rule flags."""
    chain, step_calcs, stated = reading.chain, reading.step_calcs, reading.stated
    leads_to_gold, useful_after, used_after = reading.leads_to_gold, reading.useful_after, reading.used_after
    gold, answer = reading.gold, reading.answer
    known = set(question_values(question) | chain.numbers)
    for index, calcs in enumerate(step_calcs):
        for calc in calcs:
            if (error := calc.error()) is not None:
                return Divergence(index, "false_annotation", error)
        for calc in calcs:
            unknown = [operand for operand in calc.operands if not contains(known, operand)]
            if unknown:
                return Divergence(
                    index,
                    "unsupported_value",
                    f"{calc.text} uses {plain(unknown[0])}, which neither the question, the gold solution nor an "
                    "earlier step gives",
                )
        for value in stated[index]:
            if (contains(used_after[index], value) or names_an_amount(steps[index], value)) and not (
                contains(known, value) or contains(chain.quantities, value) or contains(useful_after[index], value)
            ):
                return Divergence(
                    index,
                    "unsupported_value",
                    f"states {plain(value)} with no calculation, and neither the question, the gold solution nor an "
                    "earlier step gives it",
                )
        if (why := misreading(question, gold, steps, step_calcs, index, known, answer)) is not None:
            return Divergence(index, "misread", why)
        for calc in calcs:
            if calc.computes and (wrong := contradicts_gold(question, gold, steps[index], calc.stated)):
                return Divergence(index, "misread", f"{calc.text} = {wrong}")
        for calc in calcs:
            if (
                calc.computes
                and contains(chain.quantities, calc.stated)
                and (
                    wrong := misbinding(question, gold, steps[index], calc.stated)
                    or misnamed(question, gold, steps[index], calc, step_calcs[index + 1 :])
                )
                and not true_side_fact(question, steps[:index], steps[index], calc)
            ):
                return Divergence(index, "misread", f"{calc.text} = {wrong}")
        for calc in calcs:
            if (
                calc.computes
                and contains(used_after[index], calc.stated)
                and (not leads_to_gold[id(calc)] or _swaps_gold_operator(calc, chain))
                and not true_side_fact(question, steps[:index], steps[index], calc, conversions_only=True)
                and not kept_partial_sum(gold, calc, step_calcs[:index], step_calcs[index + 1 :])
                and not true_gold_piece(question, gold, steps[:index], steps[index], calc)
            ):
                return _off_chain(index, calc, chain)
        known.update(  # operands are read without their sign; a later step may reuse what a step writes (`14.99`)
            abs(value) for calc in calcs for value in (calc.stated, calc.shown) if value is not None
        )
        known.update(stated[index])
    return None


def _leads_to_gold(
    step_calcs: list[tuple[Calculation, ...]], results: frozenset[Fraction]
) -> tuple[dict[int, bool], list[set[Fraction]]]:
    """For each calculation (by id): is its value a result of the gold chain, or an operand of a later one that leads
    to gold?
    (A partial result of the gold chain, `16-3` of `16-3-4`, leads to gold only when a later step completes it.)
    And for each step: the operands of the later calculations that lead to gold."""
    verdict = {}
    useful: set[Fraction] = set()  # operands of later calculations that lead to gold
    useful_after: list[set[Fraction]] = []
    for calcs in reversed(step_calcs):
        useful_after.insert(0, set(useful))
        for calc in reversed(calcs):
            verdict[id(calc)] = contains(results, calc.stated) or contains(useful, calc.stated)
            if verdict[id(calc)]:
                useful.update(calc.operands)
    return verdict, useful_after


def _used_after(
    step_calcs: list[tuple[Calculation, ...]], stated: list[tuple[Fraction, ...]], answer: Fraction | None
) -> list[set[Fraction]]:
    """For each step: the values later steps use or restate, and the answer. A value off the gold
    chain that nothing after uses is an aside (`that is 180 minutes`), not where the solution goes wrong."""
    used: set[Fraction] = set() if answer is None else {abs(answer)}
    used_after: list[set[Fraction]] = []
    for calcs, numbers in zip(reversed(step_calcs), reversed(stated)):
        used_after.insert(0, set(used))
        used.update(operand for calc in calcs for operand in calc.operands)  # operands have no sign
        used.update(numbers)
    return used_after


def _swaps_gold_operator(calc: Calculation, chain: GoldChain) -> bool:
    """Whether `calc` puts another operator between two values than the gold chain does, for a value the gold chain
    never has (`6/2 = 3` where the gold computes 2*6): wrong even when a later value happens to land on the chain."""
    return not contains(chain.quantities, calc.stated) and any(
        {operation[0], chain.computes_with_other_operator(*operation)} == {"*", "/"}
        for operation in (calc.expression.operations() if calc.expression is not None else ())
    )


def _off_chain(
    index: int, calc: Calculation, chain: GoldChain, fate: str = "no later step uses it to reach one"
) -> Divergence:
    for symbol, left, right in calc.expression.operations() if calc.expression is not None else ():
        other = chain.computes_with_other_operator(symbol, left, right)
        if other is not None:
            return Divergence(
                index,
                "wrong_operation",
                f"{plain(left)} {symbol} {plain(right)} where the gold solution computes {plain(left)} {other} "
                f"{plain(right)}",
            )
    if contains(chain.quantities, calc.stated):
        return Divergence(
            index,
            "misread",
            f"{calc.text} = {plain(calc.stated)}: only part of a gold calculation, and no later step completes it",
        )
    return Divergence(
        index,
        "misread",
        f"{calc.text} = {plain(calc.stated)}: a quantity the gold solution never has, and {fate}",
    )


def _wrong_conclusion(
    steps: list[str], body: list[str], final: int | None, answer: Fraction | None, gold_answer: Fraction
) -> Divergence:
    """No step is wrong: the answer is. Blame the last step that computes it, else the final line."""
    if answer is None:
        last = final if final is not None else max((i for i, step in enumerate(steps) if step.strip()), default=0)
        return Divergence(last, "wrong_final", "states no numeric final answer, and no step before is wrong")
    computing = [
        i for i, step in enumerate(body) if any(same_value(calc.stated, answer) for calc in calculations(step))
    ]
    if computing:
        return Divergence(
            computing[-1],
            "wrong_final",
            f"concludes with {plain(answer)}, a value on the way: the answer is {plain(gold_answer)}",
        )
    return Divergence(
        final, "wrong_final", f"answers {plain(answer)}, which no step computes: the answer is {plain(gold_answer)}"
    )
