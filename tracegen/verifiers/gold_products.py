"""A product of one part of a gold sum: a true piece of the gold's calculation, even off the chain.

The gold solution often multiplies a sum of parts by a factor: `(8 + 1) * 80` kg for Jack and the 8 other
adults, `12 * (6 + 5 + 4)` dollars for 12 place settings, `(1.75 + 1.25) * 5` pounds over 5 weeks. Multiplied out,
its calculation is a sum of products (`8*80 + 1*80`), each the same operation on one part of the whole. A solution
line that multiplies (or divides) some of the factors of one of those products (`80 * 8 = 640 kg` for the 8 other
adults, `1.25 * 5 = 6.25 pounds` lost in 5 weeks) states what the gold's own reading of the problem gives that
part, even though the gold never writes the value. The labelling guide calls such a line true; the first error is
the line that later misuses the piece, so step 4 of divergence.py does not blame it (`gold_piece`), provided the
line also names its value as the units of its operands compose (side_facts.true_side_fact, and a unit named:
`she makes 8 * 15 = 120` names no unit of classes times students).

Only sums are multiplied out. A gold result that is a single product (`2 * 8 * 2 = 32` cubic feet a bed) stays one
factor: regrouping products (`10 beds * 8 feet`, `2 sessions * 6 weeks` called hours) let through more misreadings
than true pieces on the audited whole-file moves. Nor is a sum of a base and its change a sum of parts (`$10 + $0.50
raise + $1 raise` an hour; `700 + 70` where 70 is the change of a price `10% higher`): the base times the count
(`20 hours * $10`) is not what the subject earns or pays now. An extra charge is a part (`$150 + $3` of interest a
phone: `150 * 5` is the phones' price). A difference stays one factor too (`30 * 11` of `30 * (11 - 8)` pays every
hour the overtime rate).

`gold_piece` is checked by value: the line's value must be the product of two or more factors of one gold product,
and each of its operands a product of some of those factors (or an inverse, for a divisor): the line multiplies the
factors the gold does, not numbers that happen to land on its value.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache
from itertools import combinations
from math import prod

from tracegen.steps import numbers_in, split_steps
from tracegen.verifiers.answers import same_value
from tracegen.verifiers.calculations import Calculation, calculations
from tracegen.verifiers.expressions import Expression
from tracegen.verifiers.side_facts import stated_result, true_side_fact

MAX_PRODUCTS = 64  # a gold expansion with more products than this is not written out
MAX_FACTORS = 8  # factors of one product whose sub-products are enumerated (2**8 subsets)

_CHANGE_BEFORE = re.compile(
    r"\b(?:raise|raised|increase|increased|rise|rises|rose)\b(?:\s+\w+){0,2}\s*[$€£]?\s*$", re.I
)
_CHANGE_AFTER = re.compile(r"\s*%?\s*(?:[A-Za-z]+\s+){0,2}?(?:more|higher|extra|additional)\b", re.I)

Product = tuple[Fraction, ...]  # the factors of one product (a divisor as its inverse)


def true_gold_piece(question: str, gold: str, earlier: Sequence[str], step: str, calc: Calculation) -> bool:
    """Whether `calc` of `step` is a piece of the gold's calculation (`gold_piece`) that the step names as the units
    of its operands compose, with a unit (module docstring)."""
    named = stated_result(step, calc.stated)
    return (
        named is not None
        and named.unit is not None
        and gold_piece(question, gold, calc)
        and true_side_fact(question, earlier, step, calc)
    )


def gold_piece(question: str, gold: str, calc: Calculation) -> bool:
    """Whether `calc` multiplies or divides some of the factors of one product of the gold's calculation, its sums of
    parts multiplied out (module docstring)."""
    operations = calc.expression.operations() if calc.expression is not None else []
    if not operations or any(symbol not in "*/" for symbol, _, _ in operations):
        return False
    value = abs(calc.stated)
    operands = {abs(operand) for operand in calc.operands}
    return any(
        same_value(piece, value) and all(_is_part(operand, factors) for operand in operands)
        for factors, piece in _pieces(question, gold)
    )


def _is_part(operand: Fraction, factors: Product) -> bool:
    """Whether `operand` is a product of some of `factors`, or the inverse of one."""
    products = (
        prod(subset, start=Fraction(1))
        for size in range(1, len(factors) + 1)
        for subset in combinations(factors, size)
    )
    return any(same_value(product, operand) or (product and same_value(1 / product, operand)) for product in products)


@lru_cache(maxsize=4096)
def _pieces(question: str, gold: str) -> tuple[tuple[Product, Fraction], ...]:
    """Each sub-multiset of two or more factors of a gold product, with its product."""
    found: dict[tuple[Product, Fraction], None] = {}
    for factors in _gold_products(gold, _changes(question)):
        for size in range(2, len(factors) + 1):
            for subset in combinations(factors, size):
                found[(subset, prod(subset, start=Fraction(1)))] = None
    return tuple(found)


class _Gold:
    """The gold's results so far: each one's value, the operands it was computed from and its sums multiplied out."""

    def __init__(self, changes: frozenset[Fraction]):
        self.changes = changes
        self.results: list[tuple[Fraction, frozenset[Fraction], list[Product]]] = []

    def expand(self, expression: Expression, node: ast.expr) -> list[Product] | None:
        """`node` as a sum of products; None when too large."""
        if _adds(expression, node):
            added = _added(expression, node)
            terms = [self.expand(expression, term) for term in added]
            if any(term is None for term in terms):
                return None
            if not self._changes_a_base([expression.value(term) for term in added]):
                return _capped([product for term in terms if term is not None for product in term])
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
            left, right = self.expand(expression, node.left), self.expand(expression, node.right)
            if left is None or right is None:
                return None
            if isinstance(node.op, ast.Mult):
                return _capped([a + b for a in left for b in right])
            divisor = right[0] if len(right) == 1 else (expression.value(node.right),)
            if all(divisor):
                return _capped([a + tuple(1 / factor for factor in divisor) for a in left])
        value = expression.value(node)
        if value is None:
            return None
        earlier = self._parts(abs(value))
        return earlier if earlier is not None else [(abs(value),)]

    def _parts(self, value: Fraction) -> list[Product] | None:
        """The parts of an earlier gold result that is a sum of parts, else None (it is one factor)."""
        expanded = next((parts for result, _, parts in reversed(self.results) if same_value(result, value)), None)
        return expanded if expanded is not None and len(expanded) > 1 else None

    def _changes_a_base(self, terms: list[Fraction | None]) -> bool:
        """Whether a sum adds a change to a base rather than parts of a whole: a term the question gives as a change
        (`a raise of $0.50`, `$0.50 more per hour`), or a gold result computed from one (`700 + 70` where the gold's 70
        is `10/100*700` for a price `10% higher`). An extra charge is a part (`$150 + $3` of interest)."""
        values = [abs(term) for term in terms if term is not None]
        return any(
            value in self.changes
            or any(same_value(result, value) and operands & self.changes for result, operands, _ in self.results)
            for value in values
        )


@lru_cache(maxsize=4096)
def _gold_products(gold: str, changes: frozenset[Fraction]) -> tuple[Product, ...]:
    """The products of every gold calculation with its sums of parts multiplied out (earlier results that are such
    sums substituted where a later step uses them)."""
    read = _Gold(changes)
    products: dict[Product, None] = {}
    for step in split_steps(gold):
        for calc in calculations(step):
            if calc.expression is None:
                continue
            expanded = read.expand(calc.expression, calc.expression.tree)
            if expanded is None:
                continue
            read.results.append((calc.result, frozenset(abs(operand) for operand in calc.operands), expanded))
            products.update(
                (tuple(sorted(factors)), None) for factors in expanded if len(factors) <= MAX_FACTORS and all(factors)
            )
    return tuple(products)


def _changes(question: str) -> frozenset[Fraction]:
    """The numbers the question gives as a change of another (`a raise of $0.50`, `$0.50 more per hour`)."""
    return frozenset(
        abs(value)
        for start, end, value in numbers_in(question)
        if _CHANGE_BEFORE.search(question[:start]) or _CHANGE_AFTER.match(question[end:])
    )


def _adds(expression: Expression, node: ast.expr) -> bool:
    """A sum; taking away a negative adds too (`1.75 - (-1.25)`)."""
    return isinstance(node, ast.BinOp) and (
        isinstance(node.op, ast.Add) or (isinstance(node.op, ast.Sub) and (expression.value(node.right) or 0) < 0)
    )


def _added(expression: Expression, node: ast.expr) -> list[ast.expr]:
    """The terms of a chain of sums."""
    if isinstance(node, ast.BinOp) and _adds(expression, node):
        return _added(expression, node.left) + _added(expression, node.right)
    return [node]


def _capped(products: list[Product]) -> list[Product] | None:
    return products if len(products) <= MAX_PRODUCTS else None
