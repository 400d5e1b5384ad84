"""Weak-model deviations: a step a real model got wrong, spliced into the gold solution.

A weak model's solution rarely shares the gold solution's wording, so its first wrong step
(found by a verifier, tracegen.verifiers) is placed by *value*: the gold prefix before the
deviation is the shortest one that has shown every value the weak solution had correctly
computed before its mistake (those the gold chain also computes). The model's wrong step, the
lines just before it that left the gold path (see `lead_in_start`) and, with `detected_after`
= k, its next k steps, become the deviation; where the deviation starts
with the same words as the gold step it replaces, the shared words stay clean and the deviation
starts where the texts part.

A weak final line (`A: 26`, `The answer is 26`) is written in the gold solution's final-line
form (`#### 26`): the mistake is the value, not the format.
"""

from __future__ import annotations

from tracegen import UNDO_TOKEN
from tracegen.annotations import parse_annotations
from tracegen.generators.base import Deviation, Skipped
from tracegen.generators.planner import divergence as parting_point
from tracegen.generators.weak_generic import generic_weak_deviation, is_generic
from tracegen.generators.weak_solution import MAX_DEVIATION_CHARS, WeakSolution
from tracegen.problem import Problem
from tracegen.steps import FINAL_MARK, numbers_in, parse_number, split_steps, step_value
from tracegen.verifiers.answers import answer_text


def _values(lines: list[str]) -> set:
    """Every number the lines state or compute."""
    values = set()
    for line in lines:
        values.update(value for _, _, value in numbers_in(line))
        values.update(v for a in parse_annotations(line) if (v := parse_number(a.result)) is not None)
    return values


def aligned_gold_step(gold_steps: list[str], weak_prefix: list[str]) -> int:
    """The gold step the deviation replaces: the first one after every gold value the weak prefix already has."""
    known = _values(weak_prefix)
    shown = [i for i, step in enumerate(gold_steps[:-1]) if (value := step_value(step)) is not None and value in known]
    return min(max(shown, default=-1) + 1, len(gold_steps) - 1)


def lead_in_start(gold_steps: list[str], lines: list[str], first: int) -> int:
    """Where the deviation starts: the error line, or earlier lines it builds on that leave the gold path.

    Lines after the weak solution's last gold value that compute values the gold chain never
    has (a partial total, a rate per unit) are kept with the wrong step: without them it would
    name numbers the trace never shows.
    """
    gold_values = {value for step in gold_steps if (value := step_value(step)) is not None}
    start = first
    for i in range(first - 1, -1, -1):
        value = step_value(lines[i])
        if value is None:
            continue
        if value in gold_values:
            break
        start = i
    return start


def _in_gold_style(line: str) -> tuple[str, bool]:
    """A weak line, with a final-answer line written as gold solutions write it; and whether it is final."""
    answer = answer_text(line)
    return (line, False) if answer is None else (f"{FINAL_MARK} {answer}", True)


def weak_deviation(problem: Problem, solution: WeakSolution, detected_after: int) -> Deviation | Skipped:
    """The deviation a wrong weak solution gives for `problem`, or why it gives none."""
    if solution.skip is not None:
        return Skipped(solution.skip)
    if solution.error is None:
        return Skipped("weak:correct_solution")
    if is_generic(problem):
        return generic_weak_deviation(problem, solution, detected_after)
    lines = solution.text.split("\n")
    first = solution.error.step_index
    if not 0 <= first < len(lines) or not lines[first].strip():
        return Skipped("weak:error_step_out_of_range")
    gold_steps = split_steps(problem.solution)
    given = solution.given_steps
    lead_in = max(lead_in_start(gold_steps, lines, first), given)
    written: list[str] = []
    carried = -1
    for i, line in enumerate(lines[lead_in:], start=lead_in):
        if not line.strip():
            continue
        text, is_final = _in_gold_style(line)
        written.append(text)
        carried += i >= first
        if is_final or carried >= detected_after:
            break
    at = given + aligned_gold_step(gold_steps[given:], lines[given:lead_in])
    if written[0] == gold_steps[at]:
        return Skipped("weak:same_as_gold")
    start = parting_point(gold_steps[at], written[0])
    if start >= len(written[0]):
        start = 0
    ends_solution = answer_text(written[-1]) is not None and at == len(gold_steps) - 1
    text = "\n".join(written)[start:] + ("" if ends_solution else "\n")
    if UNDO_TOKEN in text:
        return Skipped("weak:undo_text_in_sample")
    if len(text) > MAX_DEVIATION_CHARS:
        return Skipped("weak:deviation_too_long")
    reason = f"{solution.error.kind}: {solution.error.reason}" if solution.error.reason else solution.error.kind
    return Deviation(f"weak:{solution.model}", at, start, text, carried, reason, weak_solution=solution.text)


class WeakGenerator:
    """The `weak` generator (a tracegen.generators.base.SolutionGenerator, registered in tracegen.stages)."""

    name = "weak"

    def deviation(self, problem: Problem, solution: WeakSolution, detected_after: int) -> Deviation | Skipped:
        return weak_deviation(problem, solution, detected_after)


WEAK = WeakGenerator()
