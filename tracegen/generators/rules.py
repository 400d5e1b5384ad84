"""Rule-based deviation generators (math errors) and the planner that places them.

A generator rewrites one gold step into a wrong one in the step's own style: the calculator
annotation, the visible result after `>>` and the visible expression before `= <<` (when the
step shows one) stay consistent with each other, so the mistake reads like a model's mistake.

Kinds (all target steps with a calculator annotation; the three marked * also target the
final `#### x` step, giving a wrong final answer):
- arith_slip*    result off by one / ten / a carried digit / a place value; annotation false
- digit_swap*    two adjacent different digits of the result swapped; annotation false
- wrong_operator an operator changed, result recomputed (annotation true, operation wrong)
- wrong_operand  an operand replaced by another number of the question or an earlier result
- skip_ahead     a later step's computation written too early (that step's line, verbatim);
                 it computes another quantity rather than a wrong value of this one, so it is
                 never carried: its deviations have detected_after = 0
- copy_error*    a number quoted from earlier (question or earlier result) misquoted when used

Values are carried by *value* (they carry no provenance): when a step's result changes from 24
to 42, every later operand equal to 24 becomes 42, also a number of the question that happens
to be 24. Only operands, visible expressions, visible results and the final answer are
rewritten, never running text. A step whose visible expression does not match its annotation
cannot be rewritten without leaving it stale: a deviation that would have to carry a value
through one is dropped (`<kind>:cannot_carry`), as is one no rule applies to.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from tracegen.errors import InputError
from tracegen.generators.base import Deviation, DeviationPlan
from tracegen.problem import Problem
from tracegen.recipe import WEAK_GENERATOR, DeviationConfig
from tracegen.steps import (
    FINAL_MARK,
    MAX_NUMBER_CHARS,
    Annotation,
    ExprToken,
    annotation_holds,
    decimal_places,
    evaluate,
    format_number,
    numbers_in,
    parse_annotations,
    parse_number,
    split_steps,
    step_value,
    tokenize_expression,
)

Edit = tuple[int, int, str]  # replace text[start:end] by the string
Span = tuple[int, int]

# How operators are written in visible expressions, and what they mean.
_SHOWN_OPERATORS = {"+": "+", "-": "-", "−": "-", "–": "-", "*": "*", "x": "*", "X": "*", "×": "*", "/": "/", "÷": "/"}
_ARITHMETIC = "+-*/"
_SHOWN_EQUALS = re.compile(r"=\s*[$€£]?\s*$")
_DECORATION = "$€£%()"
_SHOWN_RESULT = re.compile(r"-?(?:[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])|[0-9]+)(?:\.[0-9]+)?(?:st|nd|rd|th)?(?![0-9])|-?\.[0-9]+")
ABSURD_FACTOR = 100  # a wrong value more than this many times the gold one (and over 1000) is absurd


# --- reading a step ---------------------------------------------------------------------------


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
        shown_result=_shown_result(step, annotation.end),
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


def _shown_result(step: str, at: int) -> Span | None:
    """The visible result written right after `>>` (an ordinal like `6th` included), if any."""
    match = _SHOWN_RESULT.match(step, at)
    return match.span() if match else None


def _write_shown(value: Fraction, like: str) -> str:
    """A visible number in the style of `like`; an ordinal stays one (`6th` -> `7th`)."""
    if not like[-2:].isalpha() or value.denominator != 1:
        return format_number(value, like)
    number = int(value)
    suffix = "th" if number % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(abs(number) % 10, "th")
    return format_number(value, like[:-2]) + suffix


def _is_final(step: str) -> bool:
    return step.startswith(FINAL_MARK)


def _final_literal(step: str) -> tuple[int, int, Fraction] | None:
    """The answer number of a final `#### x` step."""
    if not _is_final(step):
        return None
    found = numbers_in(step)
    return found[0] if found else None


class _OperatorStyle(Mapping):
    """`_operator_style(steps)`, read only when asked: most rewrites change no visible operator,
    and reading every step of a solution costs more than the rest of planning it."""

    def __init__(self, steps: tuple[str, ...]):
        self._steps = steps

    def _style(self) -> dict[str, str]:
        return _operator_style(self._steps)

    def __getitem__(self, op: str) -> str:
        return self._style()[op]

    def __iter__(self) -> Iterator[str]:
        return iter(self._style())

    def __len__(self) -> int:
        return len(self._style())


@lru_cache(maxsize=256)
def _operator_style(steps: tuple[str, ...]) -> dict[str, str]:
    """How this solution writes each operator in its visible expressions (most common symbol); read-only."""
    seen: dict[str, Counter] = {}
    for step in steps:
        for calc in read_calcs(step) or ():
            for token, span in calc.operators:
                if span is not None:
                    seen.setdefault(calc.tokens[token].text, Counter())[step[span[0] : span[1]]] += 1
    return {op: counts.most_common(1)[0][0] for op, counts in seen.items()}


# --- rewriting a step -------------------------------------------------------------------------


def _splice(text: str, edits: list[Edit]) -> str:
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _operand_text(value: Fraction, like: str) -> str:
    text = format_number(value, like)
    return f"({text})" if value < 0 else text


def _result_edits(step: str, calc: Calc, value: Fraction) -> list[Edit]:
    """Write a new result into the annotation and the visible result, each in its own style."""
    start, end = calc.result_span
    edits = [(start, end, format_number(value, step[start:end]))]
    if calc.shown_result is not None:
        start, end = calc.shown_result
        edits.append((start, end, _write_shown(value, step[start:end])))
    return edits


def _edit_calc(
    step: str, calc: Calc, numbers: dict[int, Fraction], operators: dict[int, str], style: Mapping[str, str]
) -> tuple[list[Edit], Fraction] | None:
    """Rewrite operands (by operand index) and operators (by token index), recompute the result.

    Returns the step edits and the new result; None if the new expression cannot be evaluated.
    """
    base = calc.annotation.start + 2
    expr_edits: list[Edit] = []
    step_edits: list[Edit] = []
    for index, value in numbers.items():
        operand = calc.operands[index]
        token = calc.tokens[operand.token]
        text = _operand_text(value, token.text)
        expr_edits.append((token.start, token.end, text))
        step_edits.append((*operand.span, text))
        if operand.shown is not None:
            step_edits.append((*operand.shown, _operand_text(value, step[operand.shown[0] : operand.shown[1]])))
    shown_operators = dict(calc.operators)
    for index, op in operators.items():
        token = calc.tokens[index]
        expr_edits.append((token.start, token.end, op))
        step_edits.append((base + token.start, base + token.end, op))
        if shown_operators.get(index) is not None:
            step_edits.append((*shown_operators[index], style.get(op, op)))
    try:
        result = evaluate(_splice(calc.annotation.expr, expr_edits))
    except (ValueError, ZeroDivisionError):
        return None
    return step_edits + _result_edits(step, calc, result), result


def _carry_calcs(
    step: str, calcs: tuple[Calc, ...], changes: dict[Fraction, Fraction], style: Mapping[str, str]
) -> tuple[list[Edit], dict[Fraction, Fraction]] | None:
    """Replace changed values used as operands, recompute, and let new changes propagate.

    Returns the edits and the updated changes; None when a calc that needs rewriting cannot be
    (its visible expression does not match, or the new expression cannot be evaluated).
    """
    changes = dict(changes)
    edits: list[Edit] = []
    for calc in calcs:
        numbers = {k: changes[o.value] for k, o in enumerate(calc.operands) if not o.signed and o.value in changes}
        if not numbers:
            continue
        if not calc.editable:
            return None
        edited = _edit_calc(step, calc, numbers, {}, style)
        if edited is None:
            return None
        edits += edited[0]
        if edited[1] != calc.result:
            changes[calc.result] = edited[1]
    return edits, changes


def carry(step: str, changes: dict[Fraction, Fraction], style: Mapping[str, str]) -> tuple[str, dict[Fraction, Fraction]] | None:
    """A gold step rewritten to use the changed values (old -> new); a final step's answer too."""
    final = _final_literal(step)
    if final is not None:
        start, end, value = final
        if value not in changes:
            return step, changes
        return _splice(step, [(start, end, format_number(changes[value], step[start:end]))]), changes
    calcs = read_calcs(step)
    if calcs is None:
        return None
    carried = _carry_calcs(step, calcs, changes, style)
    if carried is None:
        return None
    return _splice(step, carried[0]), carried[1]


def _rewrite(
    step: str, calcs: tuple[Calc, ...], target: int, edits: list[Edit], new_result: Fraction, style: Mapping[str, str]
) -> str | None:
    """Apply the edits of calc `target` and carry its new result through the rest of the step."""
    changes = {calcs[target].result: new_result} if new_result != calcs[target].result else {}
    carried = _carry_calcs(step, calcs[target + 1 :], changes, style)
    if carried is None:
        return None
    return _splice(step, edits + carried[0])


# --- plausibility -----------------------------------------------------------------------------


def _places_of(literal: str) -> int:
    _, point, fraction = literal.partition(".")
    return len(fraction) if point else 0


def sensible(new: Fraction, old: Fraction, like: str) -> bool:
    """A wrong value worth writing in place of `old` (written `like`).

    Different from `old`; positive where `old` is (non-negative where it is 0); an integer where
    `old` is one; otherwise exact within max(2, places of `like`) decimals (so it is written
    exactly); not absurdly large.
    """
    # on numerators and denominators: Fraction's own comparisons are slow, and this runs for every candidate
    new_n, new_d, old_n, old_d = new.numerator, new.denominator, old.numerator, old.denominator
    if (new_n == old_n and new_d == old_d) or (old_n > 0 and new_n <= 0) or (old_n == 0 and new_n < 0):
        return False
    if old_d == 1 and new_d != 1:
        return False
    places = decimal_places(new)
    if places is None or places > max(2, _places_of(like)):
        return False
    return abs(new_n) <= 1000 * new_d or abs(new_n) * old_d <= ABSURD_FACTOR * abs(old_n) * new_d  # |new| <= max(1000, factor * |old|)


def _unique(candidates: list[tuple[Fraction, str]]) -> list[tuple[Fraction, str]]:
    """Candidates with duplicate values removed, first reason kept, order kept."""
    seen: dict[Fraction, str] = {}
    for value, why in candidates:
        seen.setdefault(value, why)
    return list(seen.items())


def slips(value: Fraction, like: str) -> list[tuple[Fraction, str]]:
    """Plausible slips of a computed value: off by one, ten, a carried digit, a place value."""
    last_digit = Fraction(1, 10 ** max(_places_of(like), decimal_places(value) or 0))
    candidates = []
    if last_digit < 1:
        candidates += [(value + last_digit, "last digit off by one"), (value - last_digit, "last digit off by one")]
    candidates += [(value + 1, "off by one"), (value - 1, "off by one")]
    for power in range(1, max(2, len(str(abs(value.numerator // value.denominator))))):
        candidates += [(value + 10**power, "carry error"), (value - 10**power, "dropped carry")]
    candidates += [(value * 10, "wrong place value"), (value / 10, "wrong place value")]
    return [(v, why) for v, why in _unique(candidates) if sensible(v, value, like)]


def _digit_swaps(literal: str) -> list[str]:
    """`literal` with two text-adjacent different digits swapped (no leading zero created)."""
    swaps = []
    for i in range(len(literal) - 1):
        a, b = literal[i], literal[i + 1]
        if a.isdigit() and b.isdigit() and a != b:
            swapped = literal[:i] + b + a + literal[i + 2 :]
            if not re.match(r"-?0[0-9]", swapped):
                swaps.append(swapped)
    return swaps


def misquotes(literal: str) -> list[tuple[str, str]]:
    """Ways to copy a written number wrong: swapped digits, a digit off by one, a zero too many/few."""
    found = [(s, "digits swapped") for s in _digit_swaps(literal)]
    for i, char in enumerate(literal):
        if char.isdigit():
            for digit in (int(char) - 1, int(char) + 1):
                if 0 <= digit <= 9:
                    changed = literal[:i] + str(digit) + literal[i + 1 :]
                    if not re.match(r"-?0[0-9]", changed):
                        found.append((changed, "a digit miscopied"))
    whole = literal.partition(".")[0]
    if whole.endswith("00"):
        found.append((literal.replace(whole, whole[:-1], 1), "a zero dropped"))
    if whole.endswith("0"):
        found.append((literal.replace(whole, whole + "0", 1), "a zero added"))
    return found


# --- generators -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrongStep:
    """A wrong version of a gold step, and what is wrong with it."""

    text: str
    reason: str


Make = Callable[[Problem, list[str], int, random.Random], "WrongStep | None"]


@dataclass(frozen=True)
class RuleGenerator:
    """A named rule that turns gold step `index` into a wrong step, or None if it cannot.

    `targets_final`: whether it also rewrites the final `#### x` step (a wrong final answer).
    `carries`: whether the wrong value may be carried into later steps (detected_after).
    """

    name: str
    make: Make
    targets_final: bool
    carries: bool

    def generate(self, problem: Problem, steps: list[str], index: int, rng: random.Random) -> WrongStep | None:
        if _is_final(steps[index]) and not self.targets_final:
            return None
        return self.make(problem, steps, index, rng)


RULES: dict[str, RuleGenerator] = {}


def rule(name: str, targets_final: bool = False, carries: bool = True) -> Callable[[Make], Make]:
    """Register a generator function in RULES under `name`."""

    def register(make: Make) -> Make:
        RULES[name] = RuleGenerator(name, make, targets_final, carries)
        return make

    return register


def _final_wrong(step: str, rng: random.Random, candidates: Callable[[str, Fraction], list[tuple[Fraction, str]]]) -> WrongStep | None:
    """A final `#### x` step with x replaced by one of `candidates(literal, value)`."""
    literal = _final_literal(step)
    if literal is None:
        return None
    start, end, value = literal
    options = candidates(step[start:end], value)
    if not options:
        return None
    new, why = rng.choice(options)
    return WrongStep(_splice(step, [(start, end, format_number(new, step[start:end]))]), f"final answer: {why}")


def _result_rule(
    steps: list[str], index: int, rng: random.Random, candidates: Callable[[str, Fraction], list[tuple[Fraction, str]]]
) -> WrongStep | None:
    """Shared shape of arith_slip and digit_swap: the expression kept, a wrong result written."""
    step = steps[index]
    if _is_final(step):
        return _final_wrong(step, rng, candidates)
    calcs = read_calcs(step)
    options = [(t, v, why) for t, c in enumerate(calcs or ()) for v, why in candidates(c.annotation.result, c.result)]
    if not options:
        return None
    target, new, why = rng.choice(options)
    edits = _result_edits(step, calcs[target], new)
    text = _rewrite(step, calcs, target, edits, new, _OperatorStyle(tuple(steps)))
    return WrongStep(text, why) if text is not None else None


@rule("arith_slip", targets_final=True)
def arith_slip(problem: Problem, steps: list[str], index: int, rng: random.Random) -> WrongStep | None:
    """The right expression with a slipped result: 48/2 = 25 (annotation false)."""
    return _result_rule(steps, index, rng, lambda literal, value: slips(value, literal))


def _swapped(literal: str, value: Fraction) -> list[tuple[Fraction, str]]:
    swaps = [(parse_number(s), "digits of the result swapped") for s in _digit_swaps(literal)]
    return [(v, why) for v, why in _unique(swaps) if v != value]


@rule("digit_swap", targets_final=True)
def digit_swap(problem: Problem, steps: list[str], index: int, rng: random.Random) -> WrongStep | None:
    """Two adjacent digits of the result swapped: 48/2 = 42 (annotation false)."""
    return _result_rule(steps, index, rng, _swapped)


def _expression_rule(
    steps: list[str], index: int, rng: random.Random, options: Callable[[Calc], list[tuple[dict, dict, str]]]
) -> WrongStep | None:
    """Shared shape of the rules that change an expression and recompute its result.

    `options(calc)` lists (operand changes, operator changes, reason); one whose new result
    is sensible is picked at random.
    """
    step = steps[index]
    calcs = read_calcs(step)
    if not calcs:
        return None
    style = _OperatorStyle(tuple(steps))
    good = []
    for target, calc in enumerate(calcs):
        if not calc.editable:
            continue
        for numbers, operators, why in options(calc):
            edited = _edit_calc(step, calc, numbers, operators, style)
            if edited is not None and sensible(edited[1], calc.result, calc.annotation.result):
                good.append((target, edited, why))
    while good:
        target, (edits, new), why = good.pop(rng.randrange(len(good)))
        text = _rewrite(step, calcs, target, edits, new, style)
        if text is not None:
            return WrongStep(text, why)
    return None


@rule("wrong_operator")
def wrong_operator(problem: Problem, steps: list[str], index: int, rng: random.Random) -> WrongStep | None:
    """An operator changed, result recomputed: 48*2 = 96 where 48/2 was meant (annotation true)."""

    def options(calc: Calc) -> list[tuple[dict, dict, str]]:
        return [
            ({}, {token: op}, f"'{op}' instead of '{calc.tokens[token].text}'")
            for token, _ in calc.operators
            if calc.tokens[token].text in _ARITHMETIC
            for op in _ARITHMETIC
            if op != calc.tokens[token].text
        ]

    return _expression_rule(steps, index, rng, options)


def _earlier_numbers(problem: Problem, steps: list[str], index: int) -> list[Fraction]:
    """Numbers a step could use: the question's, then earlier steps' results (in order, distinct)."""
    values = [v for _, _, v in numbers_in(problem.question)]
    for step in steps[:index]:
        values += [c.result for c in read_calcs(step) or ()]
    return list(dict.fromkeys(values))


@rule("wrong_operand")
def wrong_operand(problem: Problem, steps: list[str], index: int, rng: random.Random) -> WrongStep | None:
    """An operand replaced by another available number: 48/4 where 48/2 was meant."""
    pool = _earlier_numbers(problem, steps, index)

    def options(calc: Calc) -> list[tuple[dict, dict, str]]:
        return [
            ({k: value}, {}, f"uses {format_number(value)} instead of {format_number(operand.value)}")
            for k, operand in enumerate(calc.operands)
            if not operand.signed
            for value in pool
            if value != operand.value
        ]

    return _expression_rule(steps, index, rng, options)


@rule("copy_error", targets_final=True)
def copy_error(problem: Problem, steps: list[str], index: int, rng: random.Random) -> WrongStep | None:
    """A number from earlier misquoted when used: 84/2 where 48/2 was meant."""
    step = steps[index]
    if _is_final(step):
        return _final_wrong(step, rng, _misquoted_values)
    quoted = set(_earlier_numbers(problem, steps, index))  # membership only

    def options(calc: Calc) -> list[tuple[dict, dict, str]]:
        found = []
        for k, operand in enumerate(calc.operands):
            if operand.signed or operand.value not in quoted:
                continue
            literal = calc.tokens[operand.token].text
            for value, why in _misquoted_values(literal, operand.value):
                found.append(({k: value}, {}, f"{literal} copied as {format_number(value, literal)} ({why})"))
        return found

    return _expression_rule(steps, index, rng, options)


def _misquoted_values(literal: str, value: Fraction) -> list[tuple[Fraction, str]]:
    found = [(parse_number(text), why) for text, why in misquotes(literal)]
    return [(v, why) for v, why in _unique([(v, w) for v, w in found if v is not None]) if v != value]


@rule("skip_ahead", carries=False)
def skip_ahead(problem: Problem, steps: list[str], index: int, rng: random.Random) -> WrongStep | None:
    """A later step's computation written at this step (that step's line, nearer ones likelier)."""
    gold = step_value(steps[index])
    if gold is None:
        return None
    later = [j for j in range(index + 1, len(steps)) if parse_annotations(steps[j]) and step_value(steps[j]) not in (None, gold)]
    if not later:
        return None
    j = rng.choices(later, weights=[1 / (j - index) for j in later])[0]
    return WrongStep(steps[j], f"does the computation of step {j + 1} at step {index + 1}")


# --- verification -----------------------------------------------------------------------------


def is_wrong(gold: str, wrong: str) -> bool:
    """Whether a rewritten step really is wrong.

    Its value differs from the gold step's, or one of its annotations that is not in the gold
    step is false, or (same number of annotations) one of them computes a different value.
    Annotations already false in the gold step (GSM8K has some) do not count.
    """
    if wrong == gold:
        return False
    if step_value(gold) != step_value(wrong):
        return True
    gold_annotations = parse_annotations(gold)
    gold_texts = [(a.expr, a.result) for a in gold_annotations]
    wrong_annotations = parse_annotations(wrong)
    if any((a.expr, a.result) not in gold_texts and not annotation_holds(a) for a in wrong_annotations):
        return True
    if len(gold_annotations) == len(wrong_annotations):
        return any(parse_number(g.result) != parse_number(w.result) for g, w in zip(gold_annotations, wrong_annotations))
    return False


def value_changes(gold: str, wrong: str) -> dict[Fraction, Fraction]:
    """Values the wrong step changed (old -> new), to carry into later steps."""
    gold_annotations, wrong_annotations = parse_annotations(gold), parse_annotations(wrong)
    if gold_annotations and len(gold_annotations) == len(wrong_annotations):
        pairs = [(parse_number(g.result), parse_number(w.result)) for g, w in zip(gold_annotations, wrong_annotations)]
    else:
        pairs = [(step_value(gold), step_value(wrong))]
    return {old: new for old, new in pairs if old is not None and new is not None and old != new}


# --- planner ----------------------------------------------------------------------------------


def _token_char(text: str, i: int) -> bool:
    """Whether text[i] belongs to a word or number (a `.` before a digit does, a `,` between digits)."""
    if not 0 <= i < len(text):
        return False
    char = text[i]
    if char.isalnum():
        return True
    before_digit = text[i + 1 : i + 2].isdigit()
    return (char == "." and before_digit) or (char == "," and before_digit and i > 0 and text[i - 1].isdigit())


def divergence(gold: str, wrong: str) -> int:
    """Where `wrong` leaves `gold`, moved back to the start of the word or number it falls in."""
    i = next((k for k, (a, b) in enumerate(zip(gold, wrong)) if a != b), min(len(gold), len(wrong)))
    while i > 0 and (_token_char(gold, i) or _token_char(wrong, i)) and (_token_char(gold, i - 1) or _token_char(wrong, i - 1)):
        i -= 1
    if i > 0 and gold[i - 1] == "-" and wrong[i : i + 1].isdigit() and not (i > 1 and (gold[i - 2].isalnum() or gold[i - 2] == ")")):
        i -= 1  # a sign belongs to its number
    return i


def check_generators(weights: dict[str, float]) -> None:
    """Recipes name generators by string: an unknown name is bad input, found before any work."""
    known = [*RULES, WEAK_GENERATOR]
    unknown = [name for name in weights if name not in known]
    if unknown:
        raise InputError(f"unknown generator '{unknown[0]}' (known: {', '.join(sorted(known))})", field="deviations.generators")


def _resolve(weights: dict[str, float]) -> list[tuple[RuleGenerator, float]]:
    """The rule generators with positive weight (the `weak` generator is planned by tracegen.generators.weak)."""
    check_generators(weights)
    return [(RULES[name], weight) for name, weight in weights.items() if weight > 0 and name != WEAK_GENERATOR]


def _weighted_order(generators: list[tuple[RuleGenerator, float]], rng: random.Random) -> list[RuleGenerator]:
    """All generators, in an order drawn by weight without replacement."""
    pool = list(generators)
    order = []
    while pool:
        pick = rng.choices(range(len(pool)), weights=[w for _, w in pool])[0]
        order.append(pool.pop(pick)[0])
    return order


def step_weights(candidates: list[int], count: int, position: str) -> list[float]:
    if position == "early":
        return [count - i for i in candidates]
    if position == "late":
        return [i + 1 for i in candidates]
    return [1.0] * len(candidates)


def draw_detected_after(config: DeviationConfig, rng: random.Random) -> int:
    return rng.choice(config.detected_after) if isinstance(config.detected_after, list) else config.detected_after


def plan_deviations(problem: Problem, config: DeviationConfig, rng: random.Random) -> DeviationPlan:
    """Choose up to `config.per_trace` verified deviations for a problem, at distinct steps.

    Steps are drawn without replacement with weights by `config.position` (uniform; early:
    n - i; late: i + 1, for step i of n). At each, every generator is tried once, in an order
    drawn by weight, until one gives a step that `is_wrong` confirms; steps where none does are
    set aside. `plan.dropped` counts accidentally correct rewrites (`<kind>:accidentally_correct`),
    values that could not be carried (`<kind>:cannot_carry`) and deviations wanted but not found
    (`no_applicable_step`, one per missing deviation).
    """
    generators = _resolve(config.generators)
    steps = split_steps(problem.solution)

    def deviation_at(index: int, dropped: Counter) -> Deviation | None:
        make, place = (lambda generator: generator.generate(problem, steps, index, rng)), (lambda generator, wrong: _place(steps, index, generator, wrong, config, rng))
        return first_verified(generators, rng, dropped, make=make, verified=lambda wrong: is_wrong(steps[index], wrong.text), place=place, unverified="accidentally_correct")

    return plan_at_steps(len(steps), config, rng, deviation_at)


def plan_at_steps(count: int, config: DeviationConfig, rng: random.Random, deviation_at: Callable[[int, Counter], Deviation | None]) -> DeviationPlan:
    """Up to `config.per_trace` deviations at distinct steps of `count`, drawn by `config.position`;
    `deviation_at(index, dropped)` gives one at a step, or None (counting why in `dropped`)."""
    plan = DeviationPlan()
    wanted = min(config.per_trace, count)
    candidates = list(range(count))
    chosen: list[Deviation] = []
    while len(chosen) < wanted and candidates:
        index = rng.choices(candidates, weights=step_weights(candidates, count, config.position))[0]
        candidates.remove(index)
        deviation = deviation_at(index, plan.dropped)
        if deviation is not None:
            chosen.append(deviation)
    if len(chosen) < wanted:
        plan.dropped["no_applicable_step"] += wanted - len(chosen)
    plan.deviations = sorted(chosen, key=lambda d: d.step_index)
    return plan


def first_verified(
    generators: list[tuple[RuleGenerator, float]],
    rng: random.Random,
    dropped: Counter,
    *,
    make: Callable[[RuleGenerator], WrongStep | None],
    verified: Callable[[WrongStep], bool],
    place: Callable[[RuleGenerator, WrongStep], Deviation | None],
    unverified: str,
) -> Deviation | None:
    """The first generator, in an order drawn by weight, whose wrong step is verified and placed;
    `<kind>:<unverified>` and `<kind>:cannot_carry` count the others."""
    for generator in _weighted_order(generators, rng):
        wrong = make(generator)
        if wrong is None:
            continue
        if not verified(wrong):
            dropped[f"{generator.name}:{unverified}"] += 1
            continue
        deviation = place(generator, wrong)
        if deviation is None:
            dropped[f"{generator.name}:cannot_carry"] += 1
            continue
        return deviation
    return None


def draw_placement(gold: str, wrong: WrongStep, steps_after: int, generator: RuleGenerator, config: DeviationConfig, rng: random.Random) -> tuple[int, int]:
    """(steps the wrong value is carried, where in the step the deviation starts), drawn by the recipe."""
    wanted = draw_detected_after(config, rng)
    after = min(wanted, steps_after) if generator.carries else 0
    start = divergence(gold, wrong.text) if rng.random() < config.mid_step_fraction else 0
    return after, 0 if start >= len(wrong.text) else start


def _place(
    steps: list[str], index: int, generator: RuleGenerator, wrong: WrongStep, config: DeviationConfig, rng: random.Random
) -> Deviation | None:
    """The deviation's start in the step and its text, the wrong value carried k steps on."""
    after, start = draw_placement(steps[index], wrong, len(steps) - 1 - index, generator, config, rng)
    written = [wrong.text]
    changes = value_changes(steps[index], wrong.text)
    style = _OperatorStyle(tuple(steps))
    for step in steps[index + 1 : index + 1 + after]:
        carried = carry(step, changes, style)
        if carried is None:
            return None
        step_text, changes = carried
        written.append(step_text)
    last = index + after
    text = "\n".join(written)[start:] + ("\n" if last < len(steps) - 1 else "")
    return Deviation(generator.name, index, start, text, after, wrong.reason)
