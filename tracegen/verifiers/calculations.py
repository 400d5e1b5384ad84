"""The calculations a step shows: its calculator annotations (`<<48/2=24>>24`) and the plain
equations of its text (`35 x 20/100 = $5`), each with its operands and the result it writes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property, lru_cache

from tracegen.annotations import NUMBER, normalise, parse_annotations, shown_number, tokenize_expression
from tracegen.steps import decimal_places, numbers_in, parse_number
from tracegen.verifiers.answers import same_value
from tracegen.verifiers.expressions import Expression
from tracegen.verifiers.prose import prose_expression

_EQUALS_NUMBER = re.compile(  # `(?=[=ei])`: what every match starts with, so the scan skips the rest fast
    rf"(?=[=ei])(?:=|\bequals\b|\bis equal to\b)\s*[$€£]?\s*(?P<result>-?(?:{NUMBER}))(?![0-9])"
)
_EXPRESSION_CHARS = frozenset("0123456789.,$€£()+-*/×÷−–xX \t")
_OPERATOR_CHARS = frozenset("+-*/×÷−–")
_SPACED_TIMES = re.compile(r"(?:(?<=\s)|^)[xX](?=\s)")
_PLAIN_EXPRESSION = re.compile(rf"\(*(?:{NUMBER})\)*(?:[-+*/]\(*(?:{NUMBER})\)*)+")
_NUMBERS_APART = re.compile(r"[0-9.]\s+[0-9.(]|^\s+[0-9]")  # two numbers with only spaces between them
_ALGEBRA = re.compile(r"(?<![A-Za-z])[A-Za-z](?![A-Za-z'’])\s*[-+*/=]|[0-9][A-Za-z](?![A-Za-z])")
_GLUED_OR_SPACED = re.compile(r"[A-Za-z]|\s[0-9]{3}(?![0-9])|:[0-9]")  # `401k`, `17 500`, `1:30`
_IMPLICIT_TIMES = re.compile(r"(?<=[0-9.)])(?=\()|(?<=\))(?=[0-9.(])")
_CENTS = re.compile(r"\s*cents?\b")
_CONTINUED = re.compile(r"\s*(?:[-+*/×÷−–]|[xX]\s)")
_WRITTEN_OPERATORS = str.maketrans(
    {"×": "*", "÷": "/", "−": "-", "–": "-", "$": None, "€": None, "£": None, " ": None, "\t": None}
)


@dataclass(frozen=True)
class Calculation:
    """One calculation of a step.

    `expression` is None when the annotation is not plain arithmetic (`<<28-2x=20>>`): then only
    its result is known. `shown` is the number written right after an annotation, if any.
    """

    text: str  # the expression as written in the annotation or the text
    expression: Expression | None
    operands: tuple[Fraction, ...]  # the numbers of the expression as written: without sign (`71+-3`: 71, 3)
    result: Fraction
    shown: Fraction | None = None

    @cached_property  # read by every check of a step; a Calculation is made once per step (`calculations`)
    def value(self) -> Fraction | None:
        return None if self.expression is None else self.expression.value()

    @property
    def computes(self) -> bool:
        """Whether it is a computation at all (`<<4=4>>` only restates a number)."""
        return len(self.operands) > 1

    @cached_property
    def stated(self) -> Fraction:
        """What the step tells the reader: the shown number, else the result. A calculator's float noise cut off
        (`<<4.20+9.45+1.35=14.999999999999998>>14.99`) states the exact value (15), not the cut."""
        if self.shown is None:
            return self.result
        value = self.value
        if (
            value is not None
            and self.result != value
            and same_value(self.result, value)
            and abs(self.shown - value) <= Fraction(1, 100)
        ):
            return value
        return self.shown

    def error(self) -> str | None:
        """Why the calculation is false (`16*7 is 112, not 102`), or None when it holds (or cannot be checked).

        A result rounded or cut off to the places it is written with holds (`1000/12=83.33`, `=83`), and so does
        a negative result written without its sign (`<<1800-2000=-200>>200 less`).
        """
        value = self.value
        if value is not None and not _rounds_to(value, self.result):
            return f"{self.text} is {plain(value)}, not {plain(self.result)}"
        if self.shown is not None and not any(
            _rounds_to(result, self.shown) for result in (self.result, -self.result)
        ):
            return f"writes {plain(self.shown)} for {self.text} = {plain(self.result)}"
        return None


@lru_cache(maxsize=1024)  # a line is asked again only while its problem is judged; more keeps ASTs the GC walks
def calculations(step: str) -> tuple[Calculation, ...]:
    """The step's annotations, in order, then the equations of its text outside them."""
    found = []
    for annotation in parse_annotations(step):
        result = parse_number(annotation.result)
        if result is None:
            continue
        shown = shown_number(step, annotation.end)
        found.append(
            Calculation(
                text=annotation.expr.strip(),
                expression=Expression.parse(annotation.expr),
                operands=_operands(annotation.expr),
                result=result,
                shown=_shown_value(shown.group(1), result) if shown else None,
            )
        )
    found.extend(_text_equations(_mask_annotations(step)))
    return tuple(found)


@lru_cache(maxsize=1024)
def stated_numbers(step: str) -> tuple[Fraction, ...]:
    """The numbers a step writes outside its calculations, without sign: values it states with no
    equation (`Mei finds 4 eggs`, a list of amounts), or restates."""
    text = _mask_annotations(step)
    if _ALGEBRA.search(text):
        return ()  # `5x+12=341`, `G = 3S`: numbers of equations in unknowns are not values
    shown = {value for calc in calculations(step) for value in (*calc.operands, abs(calc.result), abs(calc.stated))}
    sizes = ((abs(value), end) for _, end, value in numbers_in(text))
    return tuple(
        dict.fromkeys(size for size, end in sizes if size not in shown and not _GLUED_OR_SPACED.match(text, end))
    )


def _text_equations(text: str) -> list[Calculation]:
    """Plain equations of running text: numbers joined by operators, `=`, a number; else the
    same in prose, with units between the numbers (`12 apples / 3 = 4 apples`, tracegen.verifiers.prose).

    Not algebra (`5x+12=341`), not mixed numbers (`3 1/2`), not a link of a chain
    (`14 * 1/2 = 14 / 2 = 7`), and never `= <<...`: annotations are masked first.
    """
    found = []
    for match in _EQUALS_NUMBER.finditer(text):
        after = text[match.end() :]
        if _CONTINUED.match(after) or _NUMBERS_APART.match(after) or after[:1].isalpha():
            continue  # `350 000`, a chain (`14 * 1/2 = 14 / 2 = 7`), algebra (`= 5A`)
        written = _plain_expression(text, match.start())
        if written is not None:
            compact = _compact(written)
        elif (prose := prose_expression(text[: match.start()])) is not None:
            written, compact = prose
        else:
            continue
        result = parse_number(match.group("result"))
        if result is not None and (after.startswith("%") or ("$" in written and _CENTS.match(after))):
            result /= 100  # `3 / 6 = 50%`, `$2.50 - $2.24 = 26 cents`
        expression = Expression.parse(compact) if _PLAIN_EXPRESSION.fullmatch(compact) else None
        if expression is not None and result is not None:
            found.append(Calculation(" ".join(written.split()), expression, _operands(compact), result))
    return found


def _plain_expression(text: str, equals: int) -> str | None:
    """The numbers and operators right before `text[equals]`, when nothing else is between them."""
    start = equals
    while start > 0 and text[start - 1] in _EXPRESSION_CHARS:
        start -= 1
    if text[start : start + 1] in ("x", "X") and start > 0 and text[start - 1].isalpha():
        start += 1  # the last letter of a word (`box 3 + 4`)
    written = text[start:equals]
    first = next((i for i, char in enumerate(written) if char.isdigit() or char in ".($€£"), None)
    if (
        first is None
        or any(char in _OPERATOR_CHARS for char in written[:first])
        or _SPACED_TIMES.search(written[:first])
    ):
        return None
    if first == 0 and start > 0 and text[start - 1].isalnum():
        return None  # glued to a word (`COVID19 + 1 = 20`)
    written = written[first:].strip()
    if _NUMBERS_APART.search(written) or not _PLAIN_EXPRESSION.fullmatch(_compact(written)):
        return None  # mixed numbers (`3 1/2`), or words among the numbers: prose
    return written


def _compact(written: str) -> str:
    """The arithmetic of a plain expression: `x` and `×` as `*`, no currency or spaces, and a number glued to a
    bracket multiplied (`9000(.30)`, `(4)(5)`, as some gold solutions write it)."""
    compact = _SPACED_TIMES.sub("*", written).translate(_WRITTEN_OPERATORS)
    return _IMPLICIT_TIMES.sub("*", compact)


def _shown_value(written: str, result: Fraction) -> Fraction | None:
    """The number written after an annotation; `12 200` is 12200, or 12 (then a count of 200-something) when that is
    the result."""
    first, _, rest = written.partition(" ")
    value = parse_number(written.replace(" ", ""))
    if rest and value is not None and not _rounds_to(result, value) and parse_number(first) == result:
        return parse_number(first)
    return value


def _rounds_to(value: Fraction, shown: Fraction) -> bool:
    """Whether `shown` writes `value` (rounded or cut off to the places it has: 14.999 -> 14.99 or 15, 83.33 -> 83)."""
    if same_value(shown, value):
        return True
    if value.denominator == 1:
        return False
    last_place = Fraction(1, 10 ** (decimal_places(shown) or 0))
    return abs(shown - value) < last_place


@lru_cache(maxsize=4096)
def _operands(expr: str) -> tuple[Fraction, ...]:
    tokens = tokenize_expression(normalise(expr)) or []
    return tuple(_literal(t.text) for t in tokens if t.kind == "number")


@lru_cache(maxsize=4096)
def _literal(text: str) -> Fraction:
    """A number token's value: the same few (`2`, `12`, `100`) recur in every expression, and reading one is slow."""
    return Fraction(text)


@lru_cache(maxsize=1024)  # read by `calculations` and `stated_numbers` of the same step
def _mask_annotations(step: str) -> str:
    """The step with each annotation and the result written after it blanked out (same length)."""
    masked = step
    for annotation in parse_annotations(step):
        end = annotation.end
        shown = shown_number(step, end)
        if shown:
            end = shown.end()
        masked = masked[: annotation.start] + "@" * (end - annotation.start) + masked[end:]
    return masked


def plain(value: Fraction) -> str:
    """A value for a reason: an integer, a short decimal, or rounded to 4 places."""
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.4f}".rstrip("0").rstrip(".")
