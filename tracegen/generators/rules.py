"""Rule-based deviation generators (math errors) for GSM8K-style steps; tracegen.generators.planner places them.

A generator rewrites one gold step into a wrong one in the step's own style: the calculator
annotation, the visible result after `>>` and the visible expression before `= <<` (when the
step shows one) stay consistent with each other, so the mistake reads like a model's mistake.

Kinds (all target steps with a calculator annotation; the three marked * also target the
final `#### x` step, giving a wrong final answer):
- arith_slip*    result off by one / ten / a carried digit / a place value; annotation false
- digit_swap*    two adjacent different digits of the result swapped; annotation false
- wrong_operator an operator changed, result recomputed (annotation true, operation wrong)
- wrong_operand  an operand replaced by another number of the question or an earlier result
- skip_ahead     a later step's computation written too early (that step's line, verbatim);
                 it computes another quantity rather than a wrong value of this one, so it is
                 never carried: its deviations have detected_after = 0
- copy_error*    a number quoted from earlier (question or earlier result) misquoted when used

Values are carried by *value* (they carry no provenance): when a step's result changes from 24
to 42, every later operand equal to 24 becomes 42, also a number of the question that happens
to be 24. Only operands, visible expressions, visible results and the final answer are
rewritten, never running text. A step whose visible expression does not match its annotation
cannot be rewritten without leaving it stale: a deviation that would have to carry a value
through one is dropped (`<kind>:cannot_carry`), as is one no rule applies to.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from fractions import Fraction

from tracegen.annotations import parse_annotations
from tracegen.generators.base import WrongStep
from tracegen.generators.calcs import Calc, OperatorStyle, final_literal, is_final_step, read_calcs
from tracegen.generators.plausible import digit_swaps, misquotes, sensible, slips, unique_values
from tracegen.generators.registry import rule
from tracegen.generators.rewrite import calc_result, edit_calc, result_edits, rewrite_step, splice_edits
from tracegen.problem import Problem
from tracegen.steps import format_number, numbers_in, parse_number, step_value

_ARITHMETIC = "+-*/"
Option = tuple[dict, dict, Callable[[], str]]  # operand changes, operator changes, the reason (formatted when used)


def _final_wrong(
    step: str, rng: random.Random, candidates: Callable[[str, Fraction], list[tuple[Fraction, str]]]
) -> WrongStep | None:
    """A final `#### x` step with x replaced by one of `candidates(literal, value)`."""
    literal = final_literal(step)
    if literal is None:
        return None
    start, end, value = literal
    options = candidates(step[start:end], value)
    if not options:
        return None
    new, why = rng.choice(options)
    return WrongStep(splice_edits(step, [(start, end, format_number(new, step[start:end]))]), f"final answer: {why}")


def _result_rule(
    steps: list[str], index: int, rng: random.Random, candidates: Callable[[str, Fraction], list[tuple[Fraction, str]]]
) -> WrongStep | None:
    """Shared shape of arith_slip and digit_swap: the expression kept, a wrong result written."""
    step = steps[index]
    if is_final_step(step):
        return _final_wrong(step, rng, candidates)
    calcs = read_calcs(step)
    options = [(t, v, why) for t, c in enumerate(calcs or ()) for v, why in candidates(c.annotation.result, c.result)]
    if not options:
        return None
    target, new, why = rng.choice(options)
    edits = result_edits(step, calcs[target], new)
    text = rewrite_step(step, calcs, target, edits, new, OperatorStyle(tuple(steps)))
    return WrongStep(text, why) if text is not None else None


@rule("arith_slip", targets_final=True)
def arith_slip(problem: Problem, steps: list[str], index: int, rng: random.Random) -> WrongStep | None:
    """The right expression with a slipped result: 48/2 = 25 (annotation false)."""
    return _result_rule(steps, index, rng, lambda literal, value: slips(value, literal))


def _swapped(literal: str, value: Fraction) -> list[tuple[Fraction, str]]:
    swaps = [(parse_number(s), "digits of the result swapped") for s in digit_swaps(literal)]
    return [(v, why) for v, why in unique_values(swaps) if v != value]


@rule("digit_swap", targets_final=True)
def digit_swap(problem: Problem, steps: list[str], index: int, rng: random.Random) -> WrongStep | None:
    """Two adjacent digits of the result swapped: 48/2 = 42 (annotation false)."""
    return _result_rule(steps, index, rng, _swapped)


def _expression_rule(
    steps: list[str], index: int, rng: random.Random, options: Callable[[Calc], list[Option]]
) -> WrongStep | None:
    """Shared shape of the rules that change an expression and recompute its result.

    `options(calc)` lists (operand changes, operator changes, reason); one whose new result
    is sensible is picked at random. Only the picked one's edits are written out (a step may
    have dozens of options), and a reason is a function, formatted only when it is used.
    """
    step = steps[index]
    calcs = read_calcs(step)
    if not calcs:
        return None
    style = OperatorStyle(tuple(steps))
    good = []
    for target, calc in enumerate(calcs):
        if not calc.editable:
            continue
        for numbers, operators, why in options(calc):
            new = calc_result(calc, numbers, operators)
            if new is not None and sensible(new, calc.result, calc.annotation.result):
                good.append((target, numbers, operators, why))
    while good:
        target, numbers, operators, why = good.pop(rng.randrange(len(good)))
        edits, new = edit_calc(step, calcs[target], numbers, operators, style)
        text = rewrite_step(step, calcs, target, edits, new, style)
        if text is not None:
            return WrongStep(text, why())
    return None


@rule("wrong_operator")
def wrong_operator(problem: Problem, steps: list[str], index: int, rng: random.Random) -> WrongStep | None:
    """An operator changed, result recomputed: 48*2 = 96 where 48/2 was meant (annotation true)."""

    def options(calc: Calc) -> list[Option]:
        return [
            ({}, {token: op}, lambda op=op, token=token: f"'{op}' instead of '{calc.tokens[token].text}'")
            for token, _ in calc.operators
            if calc.tokens[token].text in _ARITHMETIC
            for op in _ARITHMETIC
            if op != calc.tokens[token].text
        ]

    return _expression_rule(steps, index, rng, options)


def _earlier_numbers(problem: Problem, steps: list[str], index: int) -> list[Fraction]:
    """Numbers a step could use: the question's, then earlier steps' results (in order, distinct)."""
    values = [v for _, _, v in numbers_in(problem.question)]
    for step in steps[:index]:
        values += [c.result for c in read_calcs(step) or ()]
    return list(dict.fromkeys(values))


@rule("wrong_operand")
def wrong_operand(problem: Problem, steps: list[str], index: int, rng: random.Random) -> WrongStep | None:
    """An operand replaced by another available number: 48/4 where 48/2 was meant."""
    pool = _earlier_numbers(problem, steps, index)

    def options(calc: Calc) -> list[Option]:
        return [
            (
                {k: value},
                {},
                lambda value=value, operand=operand: (
                    f"uses {format_number(value)} instead of {format_number(operand.value)}"
                ),
            )
            for k, operand in enumerate(calc.operands)
            if not operand.signed
            for value in pool
            if value != operand.value
        ]

    return _expression_rule(steps, index, rng, options)


@rule("copy_error", targets_final=True)
def copy_error(problem: Problem, steps: list[str], index: int, rng: random.Random) -> WrongStep | None:
    """A number from earlier misquoted when used: 84/2 where 48/2 was meant."""
    step = steps[index]
    if is_final_step(step):
        return _final_wrong(step, rng, _misquoted_values)
    quoted = set(_earlier_numbers(problem, steps, index))  # membership only

    def options(calc: Calc) -> list[Option]:
        found = []
        for k, operand in enumerate(calc.operands):
            if operand.signed or operand.value not in quoted:
                continue
            literal = calc.tokens[operand.token].text
            for value, why in _misquoted_values(literal, operand.value):
                found.append(
                    (
                        {k: value},
                        {},
                        lambda literal=literal, value=value, why=why: (
                            f"{literal} copied as {format_number(value, literal)} ({why})"
                        ),
                    )
                )
        return found

    return _expression_rule(steps, index, rng, options)


def _misquoted_values(literal: str, value: Fraction) -> list[tuple[Fraction, str]]:
    found = [(parse_number(text), why) for text, why in misquotes(literal)]
    return [(v, why) for v, why in unique_values([(v, w) for v, w in found if v is not None]) if v != value]


@rule("skip_ahead", carries=False)
def skip_ahead(problem: Problem, steps: list[str], index: int, rng: random.Random) -> WrongStep | None:
    """A later step's computation written at this step (that step's line, nearer ones likelier)."""
    gold = step_value(steps[index])
    if gold is None:
        return None
    later = [
        j
        for j in range(index + 1, len(steps))
        if parse_annotations(steps[j]) and step_value(steps[j]) not in (None, gold)
    ]
    if not later:
        return None
    j = rng.choices(later, weights=[1 / (j - index) for j in later])[0]
    return WrongStep(steps[j], f"does the computation of step {j + 1} at step {index + 1}")
