"""Calculator annotations `<<48/2=24>>24`: the one reader of their syntax, which every part of tracegen uses.

GSM8K writes each computation of a step as an annotation, `<<expr=result>>`, usually followed
by the visible result. This module reads them: the annotations of a step (`parse_annotations`),
the tokens of an expression (`tokenize_expression`), the expression as the evaluator and `ast`
read it (`normalise`: thousands separators and leading zeros), and the number written right
after an annotation, in the two readings its users need (`shown_literal`: the literal a rule may
rewrite, ordinals included; `shown_number`: the value a reader sees, currency, fractions and
spaced thousands included). Values come from tracegen.steps (`evaluate`, `parse_number`);
rewriting from tracegen.generators.calcs; checking from tracegen.verifiers.calculations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

Span = tuple[int, int]

_ANNOTATION = re.compile(r"<<([^<>]*)>>")
_EXPR_TOKEN = re.compile(r"\s*(?:(?P<number>[0-9]+\.?[0-9]*|\.[0-9]+)|(?P<op>\*\*|//|[-+*/%])|(?P<paren>[()]))")
_LEADING_ZEROS = re.compile(r"(?<![0-9.])0+(?=[0-9])")  # `07` (Python refuses it); `0.07` and `.07` are left alone
_THOUSANDS = re.compile(r"(?<=[0-9]),(?=[0-9]{3}(?![0-9]))")

WHOLE_NUMBER = r"(?:[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])|[0-9]+)(?:\.[0-9]+)?"
"""A written number with an integer part: grouped (`1,000`, strict groups of three) or plain, optional decimals."""
NUMBER = rf"{WHOLE_NUMBER}|\.[0-9]+"
"""A written number: WHOLE_NUMBER, or a bare decimal (`.5`)."""
_SHOWN_LITERAL = re.compile(rf"-?{WHOLE_NUMBER}(?:st|nd|rd|th)?(?![0-9])|-?\.[0-9]+")
_SHOWN_NUMBER = re.compile(
    rf"\s*[$€£]?\s*(-?(?:[0-9]+/[0-9]+(?![0-9])|[0-9]{{1,3}}(?: [0-9]{{3}})+(?![0-9])|{NUMBER}))"
)


@dataclass(frozen=True)
class Annotation:
    """A calculator annotation `<<expr=result>>`; (start, end) spans all of it in its step."""

    expr: str
    result: str
    start: int
    end: int


@dataclass(frozen=True)
class ExprToken:
    """One token of an annotation expression: a number, an operator or a parenthesis.

    `unary` marks a sign operator (`-` in `71+-3`), as opposed to a binary one.
    """

    kind: str  # "number", "op" or "paren"
    text: str
    start: int
    end: int
    unary: bool = False


def without_annotations(text: str, replacement: str = " ") -> str:
    """`text` with every annotation replaced (`=` keeps `6*3=<<6*3=18>>18` reading as a result: `6*3==18`)."""
    return _ANNOTATION.sub(replacement, text)


def parse_annotations(step: str) -> list[Annotation]:
    """Calculator annotations of a step, in order; the result is the text after the last `=`."""
    annotations = []
    for match in _ANNOTATION.finditer(step):
        expr, sep, result = match.group(1).rpartition("=")
        if sep:
            annotations.append(Annotation(expr, result, match.start(), match.end()))
    return annotations


def tokenize_expression(expr: str) -> list[ExprToken] | None:
    """Tokens of an annotation expression, or None if it holds anything else."""
    tokens: list[ExprToken] = []
    pos = 0
    while pos < len(expr.rstrip()):
        match = _EXPR_TOKEN.match(expr, pos)
        if match is None:
            return None
        kind = match.lastgroup
        start = match.start(kind)
        text = match.group(kind)
        after_operand = bool(tokens) and (tokens[-1].kind == "number" or tokens[-1].text == ")")
        unary = kind == "op" and text in "+-" and not after_operand
        tokens.append(ExprToken(kind, text, start, match.end(), unary))
        pos = match.end()
    return tokens


def without_leading_zeros(expr: str) -> str:
    """`07` -> `7`, as tracegen.steps.evaluate reads a literal (GSM8K-like text may write one)."""
    return _LEADING_ZEROS.sub("", expr)


def normalise(expr: str) -> str:
    """The expression `evaluate` and `ast` both read: `3,650` -> `3650`, `07` -> `7`."""
    return without_leading_zeros(_THOUSANDS.sub("", expr.strip()))


def shown_literal(step: str, at: int) -> Span | None:
    """The literal written right at `at` (just after `>>`), an ordinal like `6th` included: what a rule rewrites."""
    match = _SHOWN_LITERAL.match(step, at)
    return match.span() if match else None


def shown_number(step: str, at: int) -> re.Match | None:
    """The number a reader sees after `at` (just after `>>`), past spaces and a currency sign: `3/4` and
    `17 500` too. Group 1 is the number as written."""
    return _SHOWN_NUMBER.match(step, at)
