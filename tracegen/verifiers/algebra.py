"""Equations in one unknown that a step sets up: `2x + x = 28`, `Total: x+3x+x+12=341`, `x = 2(28-2x)`.

A solution that writes an equation commits to the value of its unknown, whether or not it solves it
on that line: `3x + 2x = 180` says x is 36. When the question, the gold solution and the steps before
give no such value, the equation is set up wrongly, and the line that sets it up is the first error
(the labelling guide's rule for algebra), not the later line that solves it or uses its root.

Where the solution lets the same letter stand for what the gold solution's does (`Let x be the
number of cards PJ has`), each expression it writes in it (`Becca: x+12`) has a value at the gold's
root; one that no question, gold or earlier value has names the wrong quantity (Becca has 3x+12).
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

from tracegen.annotations import without_annotations
from tracegen.steps import evaluate
from tracegen.verifiers.answers import final_value
from tracegen.verifiers.binding import NOT_NAMES, lemma

_TOKEN = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+|[A-Za-z]+|[-+*/×()=]|\S")
_ARTICLES = frozenset("aAI")
_SYMBOLS = frozenset("+-*/()=")
_CURRENCY = str.maketrans("", "", "$€£")
_BRACKETED = re.compile(r"\(([^()]*)\)")
_LET = re.compile(r"\bLet\s+([A-Za-z])\s+(?:be|represent|=|denote|stand)", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z]{2,}")
_NAME = re.compile(r"\b[A-Z][A-Za-z]+(?=['’]s\b|\b)")
_NOT_SUBJECTS = frozenset(
    "be the of number amount in has have had that is are and his her their now we an at to how many much what doe "
    "did do it its he she they".split()
)
_THOUSANDS = re.compile(r"(?<=[0-9]),(?=[0-9]{3}(?![0-9]))")
_GLUED_PRODUCT = re.compile(r"(?<=[0-9.)a-z])(?=[(a-z])|(?<=[a-z)])(?=[0-9.(])")


@lru_cache(maxsize=1024)
def equations(step: str) -> tuple[tuple[str, Fraction], ...]:
    """(the equation as written, its unknown's value) of each linear equation in one unknown of `step`."""
    return tuple(solved for run in _runs(step) if (solved := _solve(list(run))) is not None)


def expressions(step: str, unknown: str, root: Fraction) -> tuple[tuple[str, Fraction], ...]:
    """(the expression as written, its value at `root`) of each expression in `unknown` of `step` that is no
    equation (`Becca: x+12`, `She uses 2x salt`)."""
    found = []
    for run in _runs(step):
        letters = {token.lower() for token in run if token.isalpha()}
        if letters != {unknown} or len(run) < 2 or _times_sign(run, unknown) or _solve(list(run)) is not None:
            continue  # an equation: its root is judged instead
        for side in "".join(run).split("="):  # `5*x+25 = 5x+25` restates one expression
            if unknown in side.lower() and side != unknown:
                try:
                    found.append((side, _value(side.lower(), unknown, root)))
                except (ValueError, ZeroDivisionError, SyntaxError):
                    continue
    return tuple(found)


@lru_cache(maxsize=1024)  # asked for each step of a solution
def shared_unknown(
    question: str, gold: str, steps: tuple[str, ...]
) -> tuple[str, Fraction, frozenset[Fraction]] | None:
    """(the solution's letter, the gold's value of it, the values of the gold's expressions in it there) when the
    solution lets its letter stand for what the gold's stands for (`Let V be the number of votes against` / `Let x
    be the number of votes against`) and the gold solution's equations give that a value; or else, when the
    solution's letter stands for what the question asks (`Let x be the amount of land he had at first`, `How much
    land did he have at first?`): its value is the gold's answer."""
    mine = _unknown_of("\n".join(steps))
    if mine is None:
        return None
    letter, about = mine
    theirs = _unknown_of(gold)
    gold_root, values = _gold_algebra(gold, theirs[0]) if theirs is not None else (None, frozenset())
    if theirs is not None and gold_root is not None and _same_thing(about, theirs[1]):
        return letter, gold_root, values
    asked = _about([sentence for sentence in re.split(r"(?<=[.?!])\s+", question.strip()) if sentence][-1])
    answer = final_value(gold)
    if answer is None or not _same_thing(about, asked, asked_names=asked[0]):
        return None
    return letter, answer, values


def _gold_algebra(gold: str, unknown: str) -> tuple[Fraction | None, frozenset[Fraction]]:
    """The value the gold solution's equations give `unknown`, and the values of its expressions in it there (both
    sides of each equation, each bracket: `(x+7)*5` has x+7 and (x+7)*5)."""
    runs = [
        run for line in gold.split("\n") for run in _runs(line) if unknown in {t.lower() for t in run if t.isalpha()}
    ]
    root = next((solved[1] for run in runs if (solved := _solve(list(run))) is not None), None)
    if root is None:
        return None, frozenset()
    values = set()
    for run in runs:
        text = "".join(run).lower()
        for part in [*text.split("="), *_BRACKETED.findall(text)]:
            try:
                values.add(_value(part, unknown, root))
            except (ValueError, ZeroDivisionError, SyntaxError):
                continue
    return root, frozenset(values)


About = tuple[frozenset[str], frozenset[str]]
"""What a `Let` line or a question's last sentence is about: (the names it gives, its other words)."""


def _about(text: str) -> About:
    names = frozenset(name.removesuffix("s") for name in _NAME.findall(text) if name not in NOT_NAMES)  # `Colin's`
    words = frozenset(lemma(word) for word in _WORD.findall(text) if not word[:1].isupper()) - _NOT_SUBJECTS
    return names, words


def _same_thing(mine: About, theirs: About, asked_names: frozenset[str] | None = None) -> bool:
    """Whether two say the same: the same people (a question that names no one may mean anyone: `he`), and the
    words of one among the other's (one may say more: `the cards PJ has`, `the cards in PJ's collection`; not
    `the third set` and `the first set`)."""
    if mine[0] != theirs[0] and not (asked_names is not None and not asked_names):
        return False
    return bool(mine[1]) and bool(theirs[1]) and (mine[1] <= theirs[1] or theirs[1] <= mine[1])


@lru_cache(maxsize=4096)
def _unknown_of(text: str) -> tuple[str, About] | None:
    """(the letter, what it stands for) of the first `Let x be ...` of `text`."""
    for line in text.split("\n"):
        found = _LET.search(line)
        if found is not None:
            return found.group(1).lower(), _about(line[found.end() :])
    return None


@lru_cache(maxsize=1024)
def _runs(step: str) -> tuple[tuple[str, ...], ...]:
    """The maximal runs of numbers, operators, brackets, `=` and one-letter words of `step` (other words end one)."""
    text = _THOUSANDS.sub("", without_annotations(step)).replace("×", "*").translate(_CURRENCY)
    runs = []
    run: list[str] = []
    for token in [*_TOKEN.findall(text), ";"]:
        if token[0].isdigit() or token[0] == "." and token[1:2].isdigit() or token in _SYMBOLS:
            run.append(token)
        elif len(token) == 1 and token.isalpha() and token not in _ARTICLES or token == "%":
            run.append(token)
        else:
            if run and "%" not in run:  # `x - 25% = 19.50`: a percentage of what, the line does not say
                runs.append(tuple(run))
            run = []
    return tuple(runs)


def _times_sign(run: tuple[str, ...] | list[str], unknown: str) -> bool:
    """`bars x 3 = 24000`: a letter before a number is a times sign; algebra writes 3x, not x3."""
    return any(a.lower() == unknown.lower() and b[0].isdigit() for a, b in zip(run, run[1:]))


def _solve(run: list[str]) -> tuple[str, Fraction] | None:
    """The root of the run's first equation, when it is linear in one unknown and has one root."""
    unknowns = {token for token in run if token.isalpha()}
    if len(unknowns) != 1 or "=" not in run:
        return None
    (unknown,) = unknowns
    if _times_sign(run, unknown):
        return None
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


def _value(side: str, unknown: str, at: Fraction | int) -> Fraction:
    expression = _GLUED_PRODUCT.sub("*", side).replace(unknown.lower(), f"({at})")
    return evaluate(expression)
