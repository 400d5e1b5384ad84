"""Final answers as solutions write them: `#### 18` (GSM8K), `A: 18` (the example model solutions),
`The answer is 18.` (chat models), and comparing them by value."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from tracegen.steps import parse_number, split_steps

_FINAL_LINE = re.compile(
    r"^\s*(?:####|A\s*:|(?:so\s+)?the\s+(?:final\s+)?answer\s+is\s*:?)\s*(?P<answer>.*?)\s*\.?\s*$", re.IGNORECASE
)


@lru_cache(maxsize=1024)  # asked for the same solution by `final_value` and its callers
def final_line_index(solution: str) -> int | None:
    """Index (into solution.split("\\n")) of the last line that states a final answer; None if none does."""
    steps = split_steps(solution)
    return next((i for i in range(len(steps) - 1, -1, -1) if answer_text(steps[i]) is not None), None)


def answer_text(line: str) -> str | None:
    """The answer a final line states as written (`#### 18`, `A: $18`, `The answer is 18.`), else None."""
    match = _FINAL_LINE.match(line)
    return match.group("answer") if match and match.group("answer") else None


def line_answer(line: str) -> Fraction | None:
    """The number a final-answer line states, or None (not a final line, or not a number)."""
    text = answer_text(line)
    return None if text is None else parse_number(text)


@lru_cache(maxsize=4096)  # a gold solution's is asked by several checks, for each of its problem's solutions
def final_value(solution: str) -> Fraction | None:
    """The number the solution's last final-answer line states; None when it states none."""
    index = final_line_index(solution)
    return None if index is None else line_answer(split_steps(solution)[index])


@dataclass(frozen=True)
class WrongSolution:
    """A solution whose final answer is not the gold one, cut into its reasoning and its conclusion."""

    steps: list[str]  # solution.split("\n")
    body: list[str]  # the steps before the final-answer line (all of them when there is none)
    final: int | None  # index of the final-answer line
    answer: Fraction | None  # what it answers (None: no number)
    gold_answer: Fraction

    @classmethod
    def of(cls, gold: str, solution: str) -> WrongSolution | None:
        """None when the solution's final answer equals the gold one."""
        gold_answer = final_value(gold)
        if gold_answer is None:
            raise ValueError("the gold solution states no numeric final answer")
        answer = final_value(solution)
        if answer is not None and same_value(answer, gold_answer):
            return None
        steps = split_steps(solution)
        final = final_line_index(solution)
        return cls(steps, steps if final is None else steps[:final], final, answer, gold_answer)


def same_value(a: Fraction, b: Fraction) -> bool:
    """Equal, or equal up to the rounding of a written decimal: at most half a cent apart (a
    billionth for huge numbers) and at most 2% of `b`.

    `83.33` is the same as 1000/12, `0.33` as 1/3; 0.000001 is not 0; two different integers are
    never the same below a billion.
    """
    try:  # float(a) is a.numerator / a.denominator: the same float, without a call of Fraction's
        near, other = a.numerator / a.denominator, b.numerator / b.denominator
    except OverflowError:  # beyond floats: only exact equality is decided here
        if a == b:
            return True
        raise
    if far_apart(near, other):
        return False  # so not equal either: decided without exact arithmetic (the common case)
    if a == b:
        return True
    difference = abs(a - b)
    return difference <= max(Fraction(1, 200), abs(b) * Fraction(1, 10**9)) and difference <= abs(b) / 50


def far_apart(a: float, b: float) -> bool:
    """Whether two values (as floats) are too far apart for `same_value(a, b)`: more than a cent, or a billionth."""
    return abs(a - b) > max(0.0051, abs(b) * 1.1e-9)
