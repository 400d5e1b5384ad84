"""Partial sums a solution keeps adding to: a gold sum built up in pieces.

A solution may add the gold's terms in pieces (`4 + 3 = 7` pounds for two of the books, then `7 + 6`; `50 cows +
20 chickens = 70` at the start, then `90 + 70`), where the gold adds them in one line. Each piece is true; if the
solution goes wrong, it is on the line that concludes the sum without a term (the labelling guide: a last sum
that forgets a term is that sum's line), or on another line that misuses a piece. So a piece is no first error
when it is:

- a sum of some of the terms of one of the gold's sums (the gold's own operands of that calculation, not a value
  that merely equals a gold partial result), and
- next used in a sum: the solution keeps adding to it.

A piece next multiplied, divided or taken away (`5 + 4 = 9` sandwiches a day, then `9 * 7` a week, the son's 2
forgotten; `100 + 80 = 180` total score, then `180 / 4`) is taken for the whole on the line that makes it, and
stays the first error there. Measured on the shipped wrong solutions, deferring every piece moved the blame
right less often than wrong, most of those being this case.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache

from tracegen.steps import split_steps
from tracegen.verifiers.answers import same_value
from tracegen.verifiers.calculations import Calculation, calculations
from tracegen.verifiers.expressions import Expression


def kept_partial_sum(
    gold: str, calc: Calculation, earlier: Sequence[Sequence[Calculation]], later: Sequence[Sequence[Calculation]]
) -> bool:
    """Whether `calc` adds some of the terms of a gold sum (a term may be an `earlier` piece: `10 + 9` after `6 + 4 =
    10`) and the first later calculation that uses its value (the calculations of the `later` steps, in order) is a
    sum too (module docstring)."""
    sums = _gold_sums(gold)
    pieces: dict[Fraction, Counter[Fraction]] = {}
    for piece in (piece for calcs in earlier for piece in calcs):
        if (terms := _piece(piece, sums, pieces)) is not None:
            pieces[piece.stated] = terms
    if _piece(calc, sums, pieces) is None:
        return False
    next_use = next(
        (use for calcs in later for use in calcs if any(same_value(abs(calc.stated), v) for v in use.operands)),
        None,
    )
    return next_use is not None and next_use.expression is not None and _sum_terms(next_use.expression) is not None


def _piece(
    calc: Calculation, sums: tuple[tuple[Fraction, ...], ...], pieces: dict[Fraction, Counter[Fraction]]
) -> Counter[Fraction] | None:
    """The gold terms `calc` adds, earlier pieces among its terms counted by theirs; None when it is no proper part of
    a gold sum."""
    terms = _sum_terms(calc.expression) if calc.expression is not None else None
    if terms is None or len(terms) < 2:
        return None
    mine: Counter[Fraction] = Counter()
    for term in terms:
        mine += pieces.get(term, Counter([term]))
    return mine if any(mine < Counter(gold_terms) for gold_terms in sums) else None


@lru_cache(maxsize=4096)
def _gold_sums(gold: str) -> tuple[tuple[Fraction, ...], ...]:
    """The terms of each sum the gold writes."""
    sums = []
    for step in split_steps(gold):
        for calc in calculations(step):
            terms = _sum_terms(calc.expression) if calc.expression is not None else None
            if terms is not None and len(terms) >= 2:
                sums.append(terms)
    return tuple(sums)


def _sum_terms(expression: Expression) -> tuple[Fraction, ...] | None:
    """The terms of an expression that only adds (`2+4+12+1+2`); None for anything else."""
    terms: list[Fraction] = []

    def walk(node: ast.expr) -> bool:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return walk(node.left) and walk(node.right)
        if isinstance(node, ast.BinOp):
            return False
        value = expression.value(node)
        if value is None:
            return False
        terms.append(value)
        return True

    return tuple(terms) if walk(expression.tree) else None
