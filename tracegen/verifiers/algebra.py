"""Equations in one unknown that a step sets up: `2x + x = 28`, `Total: x+3x+x+12=341`, `x = 2(28-2x)`.

A solution that writes an equation commits to the value of its unknown, whether or not it solves it
on that line: `3x + 2x = 180` says x is 36. When the question, the gold solution and the steps before
give no such value, the equation is set up wrongly, and the line that sets it up is the first error
(the labelling guide's rule for algebra), not the later line that solves it or uses its root.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

from tracegen.steps import evaluate

_ANNOTATION = re.compile(r"<<[^<>]*>>")
_TOKEN = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+|[A-Za-z]+|[-+*/×()=]|\S")
_ARTICLES = frozenset("aAI")
_THOUSANDS = re.compile(r"(?<=[0-9]),(?=[0-9]{3}(?![0-9]))")
_GLUED_PRODUCT = re.compile(r"(?<=[0-9.)a-z])(?=[(a-z])|(?<=[a-z)])(?=[0-9.(])")


@lru_cache(maxsize=4096)
def equations(step: str) -> tuple[tuple[str, Fraction], ...]:
    """(the equation as written, its unknown's value) of each linear equation in one unknown of `step`."""
    text = _THOUSANDS.sub("", _ANNOTATION.sub(" ", step)).replace("×", "*")
    tokens = _TOKEN.findall(text)
    found = []
    run: list[str] = []
    for token in [*tokens, ";"]:
        if (
            token[0].isdigit()
            or token[0] == "."
            and token[1:2].isdigit()
            or token in ("+", "-", "*", "/", "(", ")", "=")
        ):
            run.append(token)
        elif len(token) == 1 and token.isalpha() and token not in _ARTICLES:
            run.append(token)
        else:
            if (solved := _solve(run)) is not None:
                found.append(solved)
            run = []
    return tuple(found)


def _solve(run: list[str]) -> tuple[str, Fraction] | None:
    """The root of the run's first equation, when it is linear in one unknown and has one root."""
    unknowns = {token for token in run if token.isalpha()}
    if len(unknowns) != 1 or "=" not in run:
        return None
    (unknown,) = unknowns
    if any(a == unknown and b[0].isdigit() for a, b in zip(run, run[1:])):
        return None  # `bars x 3 = 24000`: a times sign; algebra writes 3x, not x3
    sides = "".join(run).lower().split("=")
    sides = [side for side in sides if side]
    with_unknown = [i for i, side in enumerate(sides) if unknown.lower() in side]
    if len(sides) < 2 or not with_unknown:
        return None
    first = with_unknown[0]
    left, right = (sides[first], sides[first + 1]) if first + 1 < len(sides) else (sides[first - 1], sides[first])
    try:
        f = [_value(left, unknown, t) - _value(right, unknown, t) for t in (0, 1, 2)]
    except (ValueError, ZeroDivisionError, SyntaxError):
        return None
    slope = f[1] - f[0]
    if slope == 0 or f[2] - f[1] != slope:
        return None  # no unknown left, or not linear
    return f"{left}={right}", -f[0] / slope


def _value(side: str, unknown: str, at: int) -> Fraction:
    expression = _GLUED_PRODUCT.sub("*", side).replace(unknown.lower(), f"({at})")
    return evaluate(expression)
