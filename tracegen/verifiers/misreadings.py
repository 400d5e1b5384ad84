"""Lines whose numbers are right and whose meaning is not: the checks of step 3 of the divergence verifier
besides bindings, each a general statement about word problems (see each module):

- an equation in one unknown whose root no value has, or an expression in the gold's unknown whose value at
  the gold's root no value has (tracegen.verifiers.algebra);
- a gold-valued sum that a later step adds one of its own terms to again, or a calculation repeated where the
  gold applies its operator and operand to a new base (tracegen.verifiers.counting);
- two of the question's quantities combined against their units (tracegen.verifiers.units);
- a product still per one of several items called a total of them all (tracegen.verifiers.scope).

Each is wrong even when its value lands on the gold chain, so these run before the gold-chain checks.
"""

from __future__ import annotations

from fractions import Fraction

from tracegen.verifiers.algebra import equations, expressions, shared_unknown
from tracegen.verifiers.answers import same_value
from tracegen.verifiers.calculations import Calculation, plain
from tracegen.verifiers.counting import counted_twice, repeated
from tracegen.verifiers.scope import asked_total_not_the_answer, per_one_called_all
from tracegen.verifiers.units import per_item_total, rate_product_named, unit_error
from tracegen.verifiers.values import GoldChain, contains, question_values


def misreading(
    question: str,
    gold: str,
    steps: list[str],
    step_calcs: list[tuple[Calculation, ...]],
    index: int,
    known: set[Fraction],
    answer: Fraction | None = None,
) -> str | None:
    """Why step `index` misreads the problem (the reason of a `misread`), or None. `known`: the values the question,
    the gold solution and the earlier steps give; `answer`: the solution's final answer, if any."""
    chain, step, calcs = GoldChain.of(gold), steps[index], step_calcs[index]
    unknown = shared_unknown(question, gold, tuple(steps))
    for expression, value in expressions(step, *unknown[:2]) if unknown else ():
        if not (
            contains(known, value)
            or contains(chain.quantities, value)
            or contains(unknown[2], value)
            or contains(_shares(question, unknown[1]), value)
        ):
            return (
                f"{expression} is {plain(value)} at the gold solution's {unknown[0]} = {plain(unknown[1])}, a value "
                "neither the question, the gold solution nor an earlier step has"
            )
    for equation, root in equations(step):
        if not (contains(known, root) or contains(chain.quantities, root)) and not any(
            same_value(root, calc.stated)
            for calc in calcs  # `S = 19 - 4 - 2 = 13`: a calculation, judged as one
        ):
            return (
                f"{equation} gives {plain(root)}, which neither the question, the gold solution nor an earlier step "
                "has"
            )
    for calc in calcs:
        why = counted_twice(step_calcs, index, calc, gold, answer) or repeated(calc, step_calcs[:index], gold)
        if why is not None:
            return why
    for calc in calcs:
        if (
            why := unit_error(question, calc, chain.operations)
            or per_item_total(question, calc, step)
            or rate_product_named(question, calc, step)
            or per_one_called_all(question, calc, step)
            or asked_total_not_the_answer(question, gold, steps, calc, index)
        ) is not None:
            return f"{calc.text}: {why}"
    return None


def _shares(question: str, whole: Fraction) -> frozenset[Fraction]:
    """The parts of the unknown's value that the question's fractions and percentages take (`3/5x` of the land)."""
    return frozenset(whole * part for part in question_values(question) if 0 < part < 1)
