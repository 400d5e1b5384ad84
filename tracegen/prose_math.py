"""Arithmetic written in prose or LaTeX: the equations of a step, their values, and rewriting numbers.

A step like `the sum is $9^2 + 12^2 = 81 + 144 = \\boxed{225}$ cm` holds an *equation*: terms joined
by `=`. A term is numeric when it is plain arithmetic: numbers (`12`, `0.5`, `1,000`), `+ - \\cdot
\\times * / \\div`, parentheses and braces, `\\frac{a}{b}` (`\\dfrac`, `\\tfrac`), `^` with one digit or a
braced exponent, `(a)(b)` products, and the transparent `\\boxed`, `\\left`, `\\right`, `\\$` and spacing
commands. Anything else (a variable, `\\sqrt`, `\\pi`, `!`, a word) ends the arithmetic, and a term
glued to it (`2x`, `36\\pi`, `5!`, `\\binom{9}{2}`) is not numeric: `2a = 50 + 14 = 64` is read as
`50 + 14 = 64`, and `x - 6 = 10` holds no numeric equation at all (`- 6` starts with an operator).

Values are exact (Fractions). Numbers are rewritten in the style they are written in
(tracegen.steps.format_number).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from tracegen.steps import MAX_POWER_BITS, format_number

Span = tuple[int, int]

_TOKEN = re.compile(
    r"""
    (?P<num>[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])|[0-9]+(?:\.[0-9]+)?)
    |(?P<op>\\cdot|\\times|\\div|[-+*/×÷−])
    |(?P<eq>=)
    |(?P<open>\\left\s*\(|\(|\{)
    |(?P<close>\\right\s*\)|\)|\})
    |(?P<frac>\\[dt]?frac(?![a-zA-Z]))
    |(?P<caret>\^)
    |(?P<skip>\\boxed(?![a-zA-Z])|\\\$|\\[,;:! ]|\\quad(?![a-zA-Z])|\\qquad(?![a-zA-Z])|\s+)
    |(?P<other>\\[a-zA-Z]+|\\.|[a-zA-Z]+|.)
    """,
    re.VERBOSE | re.DOTALL,
)
_OPERATOR = {
    "+": "+",
    "-": "-",
    "−": "-",
    "*": "*",
    "\\cdot": "*",
    "\\times": "*",
    "×": "*",
    "/": "/",
    "\\div": "/",
    "÷": "/",
}
_MATH_OPEN = {"$", "\\(", "\\["}
_GLUE = re.compile(r"[A-Za-z0-9_'!\]\)}^]|\\[A-Za-z]+")


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Term:
    """One side of an `=`: its span, its value (None when it is not plain arithmetic) and its numbers.

    `literal`: the span of the number when the term is that number alone (`19`, `\\boxed{19}`, `\\$45.00`).
    `numbers`: the number literals inside the term, as (span, value).
    """

    span: Span
    value: Fraction | None
    literal: Span | None
    numbers: tuple[tuple[Span, Fraction], ...]

    @property
    def computed(self) -> bool:
        return self.value is not None and self.literal is None


@dataclass(frozen=True)
class Equation:
    terms: tuple[Term, ...]

    @property
    def numeric(self) -> list[Term]:
        return [t for t in self.terms if t.value is not None]

    def holds(self) -> bool:
        """Every numeric term has the same value (an equation with one numeric term says nothing)."""
        values = {t.value for t in self.numeric}
        return len(values) <= 1

    @property
    def checkable(self) -> bool:
        return len(self.numeric) >= 2


def _tokens(text: str) -> list[_Tok]:
    return [_Tok(m.lastgroup, m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


@lru_cache(maxsize=8192)
def read_equations(text: str) -> tuple[Equation, ...]:
    """The equations of a text (runs of arithmetic with at least one `=`), in order."""
    tokens = _tokens(text)
    equations, run = [], []
    for index, token in enumerate(tokens + [_Tok("other", "", len(text), len(text))]):
        if token.kind != "other":
            run.append(index)
            continue
        if any(tokens[i].kind == "eq" for i in run):
            equations.append(_equation(text, tokens, run))
        run = []
    return tuple(equations)


def numbers_outside_equations(text: str) -> list[tuple[Span, Fraction]]:
    """Number literals that are no part of a numeric term (`there are $\\boxed{36}$ ways`)."""
    inside = [span for eq in read_equations(text) for term in eq.numeric for span, _ in term.numbers]
    found = []
    for token in _tokens(text):
        if token.kind == "num" and not any(s <= token.start < e for s, e in inside) and not _glued_number(text, token):
            found.append(((token.start, token.end), _value_of(token.text)))
    return found


def _glued_number(text: str, token: _Tok) -> bool:
    before, after = text[token.start - 1 : token.start], text[token.end : token.end + 1]
    return bool(re.match(r"[A-Za-z_^.]", before) or re.match(r"[A-Za-z]", after))


def _equation(text: str, tokens: list[_Tok], run: list[int]) -> Equation:
    sides: list[list[int]] = [[]]
    for i in run:
        if tokens[i].kind == "eq":
            sides.append([])
        else:
            sides[-1].append(i)
    terms = []
    for k, side in enumerate(sides):
        real = [i for i in side if tokens[i].kind != "skip" or tokens[i].text.strip() and tokens[i].text != "\\boxed"]
        if not real:
            continue
        first, last = real[0], real[-1]
        span = (tokens[first].start, tokens[last].end)
        value = None
        if _free_left(text, tokens, first, k == 0) and _free_right(text, tokens[last].end):
            value = _Parser([tokens[i] for i in side if tokens[i].kind != "skip"]).parse()
        numbers = tuple(
            ((tokens[i].start, tokens[i].end), _value_of(tokens[i].text)) for i in side if tokens[i].kind == "num"
        )
        literal = (
            numbers[0][0]
            if value is not None and len(numbers) == 1 and value == numbers[0][1] and not _has_operator(tokens, side)
            else None
        )
        terms.append(Term(span, value, literal, numbers))
    return Equation(tuple(terms))


def _has_operator(tokens: list[_Tok], side: list[int]) -> bool:
    return any(tokens[i].kind in ("op", "frac", "caret") for i in side)


def _free_left(text: str, tokens: list[_Tok], first: int, opens_run: bool) -> bool:
    """A term opening its run is numeric only if nothing is glued to its left and it starts with no operator."""
    if not opens_run:
        return True
    head = tokens[first]
    previous = text[: head.start]
    stripped = previous.rstrip()
    math_open = any(stripped.endswith(m) for m in _MATH_OPEN)
    if head.kind == "op":
        return head.text in "-−" and math_open
    if previous != stripped:  # whitespace between: a word before is no factor
        return True
    return not (_GLUE.search(previous[-1:]) or re.search(r"\\[A-Za-z]+$", previous)) or previous.endswith("\\boxed")


def _free_right(text: str, end: int) -> bool:
    after = text[end:]
    return not re.match(r"[A-Za-z0-9_!'(^]|\\(?!text|mbox|mathrm|quad|qquad|[,;:! $%)\]])[A-Za-z]", after)


def _value_of(literal: str) -> Fraction:
    return Fraction(literal.replace(",", ""))


class _Parser:
    """Recursive descent over a term's tokens; `parse` gives its value, or None when it is not arithmetic."""

    def __init__(self, tokens: list[_Tok]):
        self.tokens, self.at = tokens, 0

    def parse(self) -> Fraction | None:
        try:
            value = self._sum()
        except (ValueError, ZeroDivisionError, IndexError, OverflowError):
            return None
        return value if self.at == len(self.tokens) else None

    def _peek(self) -> _Tok | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _take(self) -> _Tok:
        self.at += 1
        return self.tokens[self.at - 1]

    def _sum(self) -> Fraction:
        value = self._product()
        while (tok := self._peek()) is not None and tok.kind == "op" and _OPERATOR[tok.text] in "+-":
            self._take()
            right = self._product()
            value = value + right if _OPERATOR[tok.text] == "+" else value - right
        return value

    def _product(self) -> Fraction:
        value = self._unary()
        while (tok := self._peek()) is not None:
            if tok.kind == "op" and _OPERATOR[tok.text] in "*/":
                self._take()
                right = self._unary()
                value = value * right if _OPERATOR[tok.text] == "*" else value / right
            elif tok.kind == "open" and tok.text != "{" and self.tokens[self.at - 1].kind in ("close", "num"):
                value *= self._power()  # (3 + 1)(2 + 1), 2(5)
            else:
                break
        return value

    def _unary(self) -> Fraction:
        tok = self._peek()
        if tok is not None and tok.kind == "op" and _OPERATOR[tok.text] in "+-":
            self._take()
            value = self._unary()
            return -value if _OPERATOR[tok.text] == "-" else value
        return self._power()

    def _power(self) -> Fraction:
        base = self._primary()
        if (tok := self._peek()) is not None and tok.kind == "caret":
            self._take()
            exponent_token = self._peek()
            if exponent_token is not None and exponent_token.kind == "num" and len(exponent_token.text) > 1:
                raise ValueError("LaTeX reads only the first digit of an unbraced exponent")
            exponent = self._primary()
            if exponent.denominator != 1 or not 0 <= exponent <= 64:
                raise ValueError("exponent out of range")
            size = max(base.numerator.bit_length() + base.denominator.bit_length(), 1)
            if size * int(exponent) > MAX_POWER_BITS:
                raise ValueError("power too large")
            return base ** int(exponent)
        return base

    def _primary(self) -> Fraction:
        tok = self._take()
        if tok.kind == "num":
            return _value_of(tok.text)
        if tok.kind == "frac":
            numerator, denominator = self._group(), self._group()
            return numerator / denominator
        if tok.kind == "open":
            return self._closed(tok)
        raise ValueError(f"not arithmetic: {tok.text}")

    def _group(self) -> Fraction:
        tok = self._take()
        if tok.kind == "num" and len(tok.text) == 1:  # \frac12
            return _value_of(tok.text)
        if tok.kind != "open" or tok.text != "{":
            raise ValueError("\\frac needs braced groups")
        return self._closed(tok)

    def _closed(self, opening: _Tok) -> Fraction:
        value = self._sum()
        closing = self._take()
        if closing.kind != "close" or (opening.text == "{") != (closing.text == "}"):
            raise ValueError("unbalanced")
        return value


# --- rewriting ----------------------------------------------------------------------------


def splice_text(text: str, edits: list[tuple[int, int, str]]) -> str:
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def write_like(value: Fraction, like: str) -> str:
    """`value` written as the literal `like` is (its places, its thousands separators)."""
    return format_number(value, like)


def rewrite_numbers(
    text: str, equation: int, term: int, numbers: dict[int, Fraction]
) -> tuple[str, Fraction, Fraction] | None:
    """Replace numbers (by index in the term) of term `term` of equation `equation`, recompute the term,
    and write its new value into the literal terms after it.

    Returns the new text, the term's old and new value; None when the term no longer computes.
    """
    target = read_equations(text)[equation].terms[term]
    edits = [(*target.numbers[k][0], write_like(v, text[slice(*target.numbers[k][0])])) for k, v in numbers.items()]
    changed = splice_text(text, edits)
    equations = read_equations(changed)
    if len(equations) <= equation or len(equations[equation].terms) <= term:
        return None
    new = equations[equation].terms[term].value
    if new is None:
        return None
    result_edits = [
        (*t.literal, write_like(new, changed[slice(*t.literal)]))
        for t in equations[equation].terms[term + 1 :]
        if t.literal is not None
    ]
    return splice_text(changed, result_edits), target.value, new


def carry_values(text: str, changes: dict[Fraction, Fraction]) -> str | None:
    """`text` with the changed values (old -> new) carried: numbers equal to an old value rewritten,
    the equations using them recomputed (their results carried further); None when one cannot be."""
    changes = dict(changes)
    for index in range(len(read_equations(text))):
        equation = read_equations(text)[index]
        computed = [k for k, t in enumerate(equation.terms) if t.computed]
        if not computed:
            continue
        term = computed[-1]
        numbers = {k: changes[v] for k, (_, v) in enumerate(equation.terms[term].numbers) if v in changes}
        if not numbers:
            continue
        rewritten = rewrite_numbers(text, index, term, numbers)
        if rewritten is None:
            return None
        text, old, new = rewritten
        if old != new:
            changes[old] = new
    edits = [
        (*span, write_like(changes[v], text[slice(*span)]))
        for span, v in numbers_outside_equations(text)
        if v in changes
    ]
    return splice_text(text, edits)
