"""The divergence verifier on generic steps: paragraphs or lines of prose and LaTeX, any answer format.

A solution whose final answer (in the problem's `answer_format`) equals the gold one, after
normalisation, is right. In a wrong one, walking its steps (the problem's `step_split`), the first is
wrong that
1. writes an equation that does not hold (`false_annotation`: `$12 + 7 = 20$`), else
2. computes with a number nothing justifies (`unsupported_value`): not in the question, not in the
   gold solution, not stated by an earlier step of its own.
When no step is, the error is where it concludes (`wrong_final`): the step stating its final answer,
else its last step. Kinds as in tracegen.verifiers.base.KINDS.
"""

from __future__ import annotations

from fractions import Fraction

from tracegen.answer_format import extract_answer, same_answer
from tracegen.problem import Problem
from tracegen.prose_math import numbers_outside_equations, read_equations
from tracegen.steps import numbers_in
from tracegen.stepsplit import split_solution
from tracegen.verifiers.base import Divergence


def is_right(problem: Problem, solution: str) -> bool:
    stated = extract_answer(solution, problem.answer_format)
    return stated is not None and same_answer(stated, problem.answer)


def first_generic_error(problem: Problem, solution: str) -> Divergence | None:
    """The first wrong step of `solution` (indexed in its own steps); None when its answer is right."""
    if is_right(problem, solution):
        return None
    return first_wrong_generic_step(problem, solution) or _conclusion(problem, solution)


def first_wrong_generic_step(problem: Problem, solution: str) -> Divergence | None:
    steps = split_solution(solution, problem.step_split)
    known: set[Fraction] = {abs(v) for _, _, v in numbers_in(problem.question)} | {
        abs(v) for _, _, v in numbers_in(problem.solution)
    }
    for index, step in enumerate(steps):
        equations = [e for e in read_equations(step) if e.checkable]
        for equation in equations:
            if not equation.holds():
                values = " = ".join(str(t.value) for t in equation.numeric)
                return Divergence(index, "false_annotation", f"{values}: an equation that does not hold")
        for equation in equations:
            computed = [t for t in equation.terms if t.computed]
            operands = [v for t in computed for _, v in t.numbers]
            unknown = [v for v in operands if abs(v) not in known]
            if unknown:
                return Divergence(
                    index,
                    "unsupported_value",
                    f"uses {unknown[0]}, which neither the question, the gold solution nor an earlier step gives",
                )
        for equation in read_equations(step):
            known.update(abs(t.value) for t in equation.numeric)
        known.update(abs(v) for _, v in numbers_outside_equations(step))
    return None


def _conclusion(problem: Problem, solution: str) -> Divergence:
    steps = split_solution(solution, problem.step_split)
    stating = [i for i, step in enumerate(steps) if extract_answer(step, problem.answer_format) is not None]
    last = stating[-1] if stating else max((i for i, step in enumerate(steps) if step.strip()), default=0)
    stated = extract_answer(solution, problem.answer_format)
    if stated is None:
        return Divergence(last, "wrong_final", "states no final answer, and no step before is wrong")
    return Divergence(last, "wrong_final", f"answers {stated}: the answer is {problem.answer}")
