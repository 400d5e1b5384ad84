"""Reading a GSM8K step for rewriting: its calculator annotations with the visible expression and
result around each (`Calc`), the final `#### x` literal, and how the solution writes operators."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from tracegen.annotations import Annotation, ExprToken, Span, parse_annotations, shown_literal, tokenize_expression
from tracegen.steps import FINAL_MARK, MAX_NUMBER_CHARS, format_number, numbers_in, parse_number

# How operators are written in visible expressions, and what they mean.
_SHOWN_OPERATORS = {"+": "+", "-": "-", "−": "-", "–": "-", "*": "*", "x": "*", "X": "*", "×": "*", "/": "/", "÷": "/"}
_SHOWN_EQUALS = re.compile(r"=\s*[$€£]?\s*$")
_DECORATION = "$€£%()"


@dataclass(frozen=True)
class Operand:
    """A number of an annotation expression.

    `value` includes a unary sign before it (`71+-3`: -3); such signed operands are never
    rewritten. `span` is the literal inside the annotation, `shown` the same number in the
    visible expression, both as spans of the step text.
    """

    token: int
    value: Fraction
    signed: bool
    span: Span
    shown: Span | None


@dataclass(frozen=True)
class Calc:
    """One calculator annotation of a step, with where its parts appear in the step text.

    `editable` is False when the step shows an expression before `= <<` that could not be
    matched to the annotation: changing the annotation's expression would leave it stale.
    `operators` maps the token index of each binary operator to its visible symbol's span.
    """

    annotation: Annotation
    tokens: tuple[ExprToken, ...]
    operands: tuple[Operand, ...]
    operators: tuple[tuple[int, Span | None], ...]
    editable: bool
    result: Fraction
    result_span: Span
    shown_result: Span | None


@lru_cache(maxsize=8192)
def read_calcs(step: str) -> tuple[Calc, ...] | None:
    """The annotations of a step as Calcs; None if one of them is not plain arithmetic."""
    calcs = []
    previous_end = 0
    for annotation in parse_annotations(step):
        calc = _read_calc(step, annotation, previous_end)
        if calc is None:
            return None
        calcs.append(calc)
        previous_end = annotation.end
    return tuple(calcs)


def _read_calc(step: str, annotation: Annotation, previous_end: int) -> Calc | None:
    tokens = tokenize_expression(annotation.expr)
    result = parse_number(annotation.result)
    if not tokens or result is None or any(t.kind == "number" and len(t.text) > MAX_NUMBER_CHARS for t in tokens):
        return None
    base = annotation.start + 2
    operands = []
    for index, token in enumerate(tokens):
        if token.kind == "number":
            signed = index > 0 and tokens[index - 1].unary
            value = Fraction(token.text)
            if signed and tokens[index - 1].text == "-":
                value = -value
            operands.append(Operand(index, value, signed, (base + token.start, base + token.end), None))
    binary = [i for i, t in enumerate(tokens) if t.kind == "op" and not t.unary]
    shown = _shown_expression(step, previous_end, annotation.start, tokens, operands)
    editable = shown is not False
    if shown:
        operands, operator_spans = shown
    else:
        operator_spans = {}
    result_start = base + len(annotation.expr) + 1
    return Calc(
        annotation=annotation,
        tokens=tuple(tokens),
        operands=tuple(operands),
        operators=tuple((i, operator_spans.get(i)) for i in binary),
        editable=editable,
        result=result,
        result_span=(result_start, annotation.end - 2),
        shown_result=shown_literal(step, annotation.end),
    )


def _shown_expression(
    step: str, lo: int, hi: int, tokens: list[ExprToken], operands: list[Operand]
) -> tuple[list[Operand], dict[int, Span]] | bool | None:
    """Match the visible `48 / 2 = ` before an annotation to its expression.

    Returns the operands with their visible spans and the visible operator spans; None when
    no expression is shown (no `=` just before the annotation); False when one is shown but
    does not match it. Unit words may stand around the numbers (`16 pandas / 2 =`), but
    between two numbers there must be exactly one operator, written as a word of its own.
    """
    equals = _SHOWN_EQUALS.search(step, lo, hi)
    if equals is None:
        return None
    found = [(lo + s, lo + e, v) for s, e, v in numbers_in(step[lo : equals.start()])]
    if not operands or len(found) < len(operands):
        return False
    found = found[len(found) - len(operands) :]
    if [v for _, _, v in found] != [o.value for o in operands]:
        return False
    if _shown_operators(step, found[-1][1], equals.start()):
        return False
    operator_spans = {}
    for left, right, (_, gap_start, _), (gap_end, _, _) in zip(operands, operands[1:], found, found[1:]):
        between = [i for i in range(left.token + 1, right.token) if tokens[i].kind == "op" and not tokens[i].unary]
        shown = _shown_operators(step, gap_start, gap_end)
        if len(between) != 1 or len(shown) != 1 or _SHOWN_OPERATORS[step[slice(*shown[0])]] != tokens[between[0]].text:
            return False
        operator_spans[between[0]] = shown[0]
    shown_operands = [Operand(o.token, o.value, o.signed, o.span, (s, e)) for o, (s, e, _) in zip(operands, found)]
    return shown_operands, operator_spans


def _shown_operators(step: str, start: int, end: int) -> list[Span]:
    """Spans of the operator symbols written as words of their own (brackets, `$`, `%` aside)."""
    spans = []
    for word in re.finditer(r"\S+", step[start:end]):
        symbol = word.group().strip(_DECORATION)
        if symbol in _SHOWN_OPERATORS:
            at = start + word.start() + word.group().index(symbol)
            spans.append((at, at + len(symbol)))
    return spans


def write_shown(value: Fraction, like: str) -> str:
    """A visible number in the style of `like`; an ordinal stays one (`6th` -> `7th`)."""
    if not like[-2:].isalpha() or value.denominator != 1:
        return format_number(value, like)
    number = int(value)
    suffix = "th" if number % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(abs(number) % 10, "th")
    return format_number(value, like[:-2]) + suffix


def is_final_step(step: str) -> bool:
    return step.startswith(FINAL_MARK)


def final_literal(step: str) -> tuple[int, int, Fraction] | None:
    """The answer number of a final `#### x` step."""
    if not is_final_step(step):
        return None
    found = numbers_in(step)
    return found[0] if found else None


class OperatorStyle(Mapping):
    """`operator_style(steps)`, read only when asked: most rewrites change no visible operator,
    and reading every step of a solution costs more than the rest of planning it."""

    def __init__(self, steps: tuple[str, ...]):
        self._steps = steps

    def _style(self) -> dict[str, str]:
        return operator_style(self._steps)

    def __getitem__(self, op: str) -> str:
        return self._style()[op]

    def __iter__(self) -> Iterator[str]:
        return iter(self._style())

    def __len__(self) -> int:
        return len(self._style())


@lru_cache(maxsize=256)
def operator_style(steps: tuple[str, ...]) -> dict[str, str]:
    """How this solution writes each operator in its visible expressions (most common symbol); read-only."""
    seen: dict[str, Counter] = {}
    for step in steps:
        for calc in read_calcs(step) or ():
            for token, span in calc.operators:
                if span is not None:
                    seen.setdefault(calc.tokens[token].text, Counter())[step[span[0] : span[1]]] += 1
    return {op: counts.most_common(1)[0][0] for op, counts in seen.items()}
