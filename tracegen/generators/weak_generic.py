"""Weak-model deviations for generic problems (any step split and answer format).

The verdict of each solution comes from the source where it states one (generic replay's
`is_correct`), else from the answer format; the first wrong step from the generic divergence
verifier (tracegen.verifiers.generic). The deviation is placed as for GSM8K (tracegen.generators.weak)
but by the values prose and LaTeX state: it replaces the first gold step after every gold value the
weak solution had shown before its mistake (by position when it had shown none: paragraphs that only
explain), and carries its next `detected_after` steps.
"""

from __future__ import annotations

from fractions import Fraction

from tracegen import UNDO_TOKEN
from tracegen.answer_format import extract_answer
from tracegen.generators.base import Deviation, Skipped
from tracegen.generators.planner import divergence as parting_point
from tracegen.generators.weak_solution import MAX_DEVIATION_CHARS, WeakSolution
from tracegen.llm.base import Sample
from tracegen.problem import Problem
from tracegen.prose_math import numbers_outside_equations, read_equations
from tracegen.stepsplit import split_with_separators
from tracegen.verifiers.generic import first_generic_error, first_wrong_generic_step


def is_generic(problem: Problem) -> bool:
    return (problem.step_split, problem.answer_format) != ("line", "gsm8k")


def generic_verdict(problem: Problem, sample: Sample, text: str, variant: str, prefix: str = "") -> WeakSolution:
    """The verdict on one solution of a generic problem: the source's (`sample.correct`), else the answer format's.

    `text` starts with the gold `prefix` the model was given (prefix mode): its steps are not the model's.
    """
    given = len(split_with_separators(prefix, problem.step_split)[0]) - 1 if prefix else 0
    if len(split_with_separators(text, problem.step_split)[0]) <= given or not text[len(prefix) :].strip():
        return WeakSolution(sample.model, text, variant, skip="weak:empty_sample")
    if sample.correct is True:
        return WeakSolution(sample.model, text, variant, given_steps=given)
    error = (
        first_generic_error(problem, text)
        if sample.correct is None
        else first_wrong_generic_step(problem, text) or first_generic_error(problem, text)
    )
    if sample.correct is False and error is None:
        return WeakSolution(
            sample.model,
            text,
            variant,
            skip="weak:no_error_found",
            note="marked incorrect, but it states the gold answer and no step is wrong",
        )
    if error is not None and error.step_index < given:
        return WeakSolution(sample.model, text, variant, skip="weak:error_in_gold_prefix", note=error.reason)
    return WeakSolution(sample.model, text, variant, error=error, given_steps=given)


def _stated_values(step: str) -> set[Fraction]:
    values = {t.value for e in read_equations(step) for t in e.numeric}
    return values | {v for _, v in numbers_outside_equations(step)}


def _step_value(step: str) -> Fraction | None:
    """What a step computes: the last numeric term of its last equation that has one."""
    for equation in reversed(read_equations(step)):
        if equation.numeric:
            return equation.numeric[-1].value
    return None


def generic_weak_deviation(problem: Problem, solution: WeakSolution, detected_after: int) -> Deviation | Skipped:
    steps, separators = split_with_separators(solution.text, problem.step_split)
    first = solution.error.step_index
    if not 0 <= first < len(steps) or not steps[first].strip():
        return Skipped("weak:error_step_out_of_range")
    gold_steps, gold_separators = split_with_separators(problem.solution, problem.step_split)
    given = solution.given_steps  # prefix mode: the gold steps the model was given come first
    known = set().union(*(_stated_values(step) for step in steps[given:first]))
    shown = [
        i
        for i, step in enumerate(gold_steps[given:-1], start=given)
        if (value := _step_value(step)) is not None and value in known
    ]
    # after the last gold value the weak prefix has shown; with none shown (explanations only), by position
    at = min(shown[-1] + 1 if shown else first, len(gold_steps) - 1)
    last = min(first + detected_after, len(steps) - 1)
    while last > first and not steps[last].strip():
        last -= 1
    written = (
        "".join(step + separator for step, separator in zip(steps[first:last], separators[first:last])) + steps[last]
    )
    if steps[first] == gold_steps[at]:
        return Skipped("weak:same_as_gold")
    start = parting_point(gold_steps[at], steps[first])
    if start >= len(steps[first]):
        start = 0
    ends_solution = extract_answer(steps[last], problem.answer_format) is not None
    separator = (
        gold_separators[at] if at < len(gold_separators) else (gold_separators[-1] if gold_separators else "\n")
    )
    text = written[start:] + ("" if ends_solution else separator)
    if UNDO_TOKEN in text:
        return Skipped("weak:undo_text_in_sample")
    if len(text) > MAX_DEVIATION_CHARS:
        return Skipped("weak:deviation_too_long")
    reason = f"{solution.error.kind}: {solution.error.reason}" if solution.error.reason else solution.error.kind
    return Deviation(f"weak:{solution.model}", at, start, text, last - first, reason, weak_solution=solution.text)
