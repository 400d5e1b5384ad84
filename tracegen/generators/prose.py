"""Rule deviations for solutions without calculator annotations: numbers in prose or LaTeX.

Where GSM8K rules rewrite `<<48/2=24>>` annotations, these read the equations a step writes
(`$\\frac{3}{4} \\cdot 48 = 36$`, `12 + 7 = 19 cm`; tracegen.prose_math) and the final answer
(`\\boxed{36}`), and rewrite numbers in the step's own style:

- prose_wrong_result*   a result off by one / ten / a carried digit / a place value (the equation turns false)
- prose_digit_swap*     two adjacent digits of a result swapped (the equation turns false)
- prose_wrong_operand   an operand replaced by another number of the question or of earlier steps,
                        the result recomputed (the equation holds; the value changed)
- prose_copy_error*     a number quoted from earlier miscopied when used, the result recomputed

(* also rewrite a final answer that no equation computes, as `so there are $\\boxed{36}$ ways`.)
A changed result is carried by value through the rest of its step and, with `detected_after`, the
next steps (equations using it are recomputed). A rewrite counts only when verified wrong
(`prose_verdict`): an equation of the gold step that held no longer does, else a value the step
states changed; a rewrite neither shows is dropped as `<kind>:unverified`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from fractions import Fraction

from tracegen.answer_format import answer_span
from tracegen.generators.base import WrongStep
from tracegen.generators.plausible import misquotes, sensible, slips
from tracegen.generators.registry import rule
from tracegen.problem import Problem
from tracegen.prose_math import (
    carry_values,
    numbers_outside_equations,
    read_equations,
    rewrite_numbers,
    splice_text,
    write_like,
)
from tracegen.steps import numbers_in, parse_number
from tracegen.stepsplit import step_starts

Candidates = Callable[[str, Fraction], list[tuple[Fraction, str]]]


def _results(step: str) -> list[tuple[int, int]]:
    """(equation, term) of each literal result: a number alone, after a computed term of a holding equation."""
    found = []
    for e, equation in enumerate(read_equations(step)):
        if not equation.checkable or not equation.holds():
            continue
        computed = [k for k, t in enumerate(equation.terms) if t.computed]
        if computed:
            found += [(e, k) for k, t in enumerate(equation.terms) if k > computed[0] and t.literal is not None]
    return found


def final_numbers(problem: Problem, steps: list[str], index: int) -> list[tuple[int, int]]:
    """Spans (in step `index`) of the final answer's numbers when that step states it outside any equation."""
    span = answer_span(problem.solution, problem.answer_format)
    if span is None:
        return []
    start = step_starts(problem.solution, problem.step_split)[index]
    lo, hi = span[0] - start, span[1] - start
    step = steps[index]
    if not (0 <= lo and hi <= len(step)):
        return []
    return [s for s, _ in numbers_outside_equations(step) if lo <= s[0] and s[1] <= hi]


def _carry_rest(step: str, cut: int, old: Fraction, new: Fraction) -> str | None:
    """The step with its text after `cut` carrying old -> new."""
    if old == new:
        return step
    rest = carry_values(step[cut:], {old: new})
    return None if rest is None else step[:cut] + rest


def _result_rule(
    problem: Problem,
    steps: list[str],
    index: int,
    rng: random.Random,
    candidates: Candidates,
    finals_only: bool = False,
) -> WrongStep | None:
    """A literal result (else the final answer, when no equation gives one) replaced by a candidate, carried."""
    step = steps[index]
    options = []
    for e, k in [] if finals_only else _results(step):
        term = read_equations(step)[e].terms[k]
        literal = step[slice(*term.literal)]
        options += [(term.literal, term.value, new, why) for new, why in candidates(literal, term.value)]
    finals = [] if options else final_numbers(problem, steps, index)
    for span in finals:
        literal = step[slice(*span)]
        value = parse_number(literal)
        if value is not None:
            options += [(span, value, new, f"final answer: {why}") for new, why in candidates(literal, value)]
    if not options:
        return None
    (start, end), old, new, why = rng.choice(options)
    text = splice_text(step, [(start, end, write_like(new, step[start:end]))])
    text = _carry_rest(text, start + len(write_like(new, step[start:end])), old, new)
    return WrongStep(text, why) if text is not None else None


@rule("prose_wrong_result", targets_final=True)
def prose_wrong_result(problem: Problem, steps: list[str], index: int, rng: random.Random) -> WrongStep | None:
    """A result slipped: $12 + 7 = 20$."""
    return _result_rule(problem, steps, index, rng, lambda literal, value: slips(value, literal))


def _swapped_digits(literal: str, value: Fraction) -> list[tuple[Fraction, str]]:
    found = {}
    for text, why in misquotes(literal):
        new = parse_number(text)
        if why == "digits swapped" and new is not None and new != value:
            found.setdefault(new, "digits of the result swapped")
    return list(found.items())


@rule("prose_digit_swap", targets_final=True)
def prose_digit_swap(problem: Problem, steps: list[str], index: int, rng: random.Random) -> WrongStep | None:
    """Two digits of a result swapped: $14 \\cdot 9 = 162$."""
    return _result_rule(problem, steps, index, rng, _swapped_digits)


def earlier_numbers(problem: Problem, steps: list[str], index: int) -> list[Fraction]:
    """Numbers a step could use: the question's, then those of earlier steps (distinct, in order)."""
    values = [v for _, _, v in numbers_in(problem.question)]
    for step in steps[:index]:
        values += [v for _, _, v in numbers_in(step)]
    return list(dict.fromkeys(v for v in values if v >= 0))


def _operand_rule(
    step: str, rng: random.Random, options: Callable[[str, Fraction], list[tuple[Fraction, str]]]
) -> WrongStep | None:
    """Change a number of an equation's last computed term (`options(literal, value)`), recompute, carry."""
    good = []
    for e, equation in enumerate(read_equations(step)):
        if not equation.checkable or not equation.holds():
            continue
        computed = [k for k, t in enumerate(equation.terms) if t.computed]
        if not computed:
            continue
        k = computed[-1]
        term = equation.terms[k]
        for n, (span, value) in enumerate(term.numbers):
            good += [(e, k, n, new, why) for new, why in options(step[slice(*span)], value)]
    rng.shuffle(good)
    for e, k, n, new, why in good:
        rewritten = rewrite_numbers(step, e, k, {n: new})
        if rewritten is None:
            continue
        text, old, result = rewritten
        term = read_equations(text)[e].terms[-1]
        if not sensible(result, old, step[slice(*read_equations(step)[e].terms[-1].span)]):
            continue
        carried = _carry_rest(text, term.span[1], old, result)
        if carried is not None:
            return WrongStep(carried, why)
    return None


@rule("prose_wrong_operand")
def prose_wrong_operand(problem: Problem, steps: list[str], index: int, rng: random.Random) -> WrongStep | None:
    """An operand replaced by another number of the problem: $12 + 9 = 21$ where $12 + 7$ was meant."""
    pool = earlier_numbers(problem, steps, index)

    def options(literal: str, value: Fraction) -> list[tuple[Fraction, str]]:
        return [(v, f"uses {write_like(v, literal)} instead of {literal}") for v in pool if v != value]

    return _operand_rule(steps[index], rng, options)


@rule("prose_copy_error", targets_final=True)
def prose_copy_error(problem: Problem, steps: list[str], index: int, rng: random.Random) -> WrongStep | None:
    """A number from earlier miscopied when used: $21 + 7$ where $12 + 7$ was meant; or the final answer miscopied."""
    quoted = set(earlier_numbers(problem, steps, index))
    wrong = _operand_rule(
        steps[index], rng, lambda literal, value: _misquoted(literal, value) if value in quoted else []
    )
    return wrong or _result_rule(problem, steps, index, rng, _misquoted, finals_only=True)


def _misquoted(literal: str, value: Fraction) -> list[tuple[Fraction, str]]:
    found = {}
    for text, why in misquotes(literal):
        new = parse_number(text)
        if new is not None and new != value:
            found.setdefault(new, f"{literal} copied as {text} ({why})")
    return list(found.items())
