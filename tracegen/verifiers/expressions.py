"""The structure of a calculator expression: its operations and the partial results it has
(a sum regrouped included).

Values come from `tracegen.steps.evaluate` (exact, never `eval`); the tree from `ast` only tells
which text is a sub-expression. Thousands separators (`3,650*10/100`) are read as GSM8K's text
reads them.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterator
from fractions import Fraction
from functools import lru_cache
from itertools import combinations

from tracegen.annotations import normalise
from tracegen.steps import evaluate

OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
MAX_CHAIN = 8  # terms of a chain of + and - whose partial sums are enumerated (2**8 subsets)


@lru_cache(maxsize=4096)
def value_of(expr: str) -> Fraction | None:
    """The exact value, or None when it is not plain arithmetic or divides by zero."""
    try:
        return evaluate(normalise(expr))
    except (ValueError, ZeroDivisionError):
        return None


class Expression:
    """A parsed arithmetic expression; `Expression.parse` gives None for anything else."""

    def __init__(self, source: str, tree: ast.expr):
        self.source = source
        self.tree = tree
        self._operations: tuple[tuple[str, Fraction, Fraction], ...] | None = None  # read by many checks: made once
        self._one_line = source.isascii() and "\n" not in source and "\r" not in source

    @classmethod
    def parse(cls, expr: str) -> Expression | None:
        source = normalise(expr)
        if value_of(source) is None:
            return None
        return cls(source, ast.parse(source, mode="eval").body)

    def value(self, node: ast.expr | None = None) -> Fraction | None:
        node = node or self.tree
        if self._one_line:  # what ast.get_source_segment reads, without splitting the source into lines each time
            return value_of(self.source[node.col_offset : node.end_col_offset])
        return value_of(ast.get_source_segment(self.source, node) or "")

    def operations(self) -> list[tuple[str, Fraction, Fraction]]:
        """(symbol, left value, right value) of every + - * / in it."""
        if self._operations is None:
            found = []
            for node in _binary_nodes(self.tree):
                if type(node.op) in OPERATORS:
                    left, right = self.value(node.left), self.value(node.right)
                    if left is not None and right is not None:
                        found.append((OPERATORS[type(node.op)], left, right))
            self._operations = tuple(found)
        return list(self._operations)

    def partial_results(self) -> set[Fraction]:
        """Values of every operation in it and of every regrouping of a chain of + and -.

        `16-3-4` has the partial results 13 and 12 and also 7 (3+4): a solution that first adds
        what is eaten and then subtracts it computes the gold chain's quantities in another order.
        (Regrouping products too would let through more wrong values than right ones: `.05*.01*50000`
        would make `.05*50000` a quantity of the chain.)
        """
        results = set()
        for node in _binary_nodes(self.tree):
            if type(node.op) in OPERATORS:
                value = self.value(node)
                if value is not None:
                    results.add(value)
                if isinstance(node.op, (ast.Add, ast.Sub)):
                    results.update(self._regroupings(node))
        return results

    def deductions(self) -> set[Fraction]:
        """Sums of the terms a chain of + and - takes away: `320-200-75` deducts 200+75 = 275 in all.

        Unlike a partial sum (`8+16` of `8+16+64`: the total without its last term), what is
        taken away in all is a whole quantity (what she earned), on the chain in its own right.
        """
        found = set()
        for node in _binary_nodes(self.tree):
            if isinstance(node.op, ast.Sub):
                terms = self._terms(node, positive=True)
                taken = [value for value, positive in terms or () if not positive]
                if terms is not None and 2 <= len(taken) <= MAX_CHAIN:
                    found.update(
                        sum(subset) for size in range(2, len(taken) + 1) for subset in combinations(taken, size)
                    )
        return found

    def _regroupings(self, node: ast.BinOp) -> set[Fraction]:
        terms = self._terms(node, positive=True)
        if terms is None or len(terms) > MAX_CHAIN:
            return set()
        results = set()
        for size in range(2, len(terms)):
            for subset in combinations(terms, size):
                total = sum(value if positive else -value for value, positive in subset)
                results.update({total, -total})
        return results

    def _terms(self, node: ast.expr, positive: bool) -> list[tuple[Fraction, bool]] | None:
        """The terms of a flat chain of + and - with their signs (True: added)."""
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            left = self._terms(node.left, positive)
            right = self._terms(node.right, positive != isinstance(node.op, ast.Sub))
            return None if left is None or right is None else left + right
        value = self.value(node)
        return None if value is None else [(value, positive)]


def _binary_nodes(tree: ast.expr) -> Iterator[ast.BinOp]:
    """The binary operations of a tree in `ast.walk`'s order (breadth first), without visiting every operator and
    number node as `ast.walk` does: the checks read them for every calculation."""
    queue: deque[ast.AST] = deque([tree])
    while queue:
        node = queue.popleft()
        if isinstance(node, ast.BinOp):
            queue.extend((node.left, node.right))
            yield node
        elif isinstance(node, ast.UnaryOp):
            queue.append(node.operand)
        elif not isinstance(node, ast.Constant):
            queue.extend(ast.iter_child_nodes(node))
