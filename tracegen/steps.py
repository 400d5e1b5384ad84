"""GSM8K-style solution steps: splitting, safe arithmetic, numbers (annotations are read by tracegen.annotations).

A solution is a list of steps separated by "\\n"; the last step is `#### <answer>`. Steps may
carry calculator annotations `<<48/2=24>>`, usually followed by the visible result (`24`).

What the annotations of GSM8K train (23,716 of them) contain: digits, `.`, `+ - * /`, `//`
(twice), parentheses and unary minus (`71+-3`); decimals without a leading zero (`.5`, 838
times); never spaces, commas, `%`, `**` or `x`. `evaluate` accepts a little more (spaces,
`**`, `%`, leading zeros) and nothing that is not arithmetic.

Number conventions (the same everywhere in this module):
- `1,000` is one thousand (strict groups of three); `3,4` is not a number.
- `%` is a unit, not an operator, when it follows a number in text: `50%` reads as 50, the
  number written (GSM8K multiplies by `.5` or `/100` explicitly in its annotations). Inside an
  expression given to `evaluate`, `%` is Python's modulo.
- `$`, `€`, `£` before a number are units and are skipped.
"""

from __future__ import annotations

import ast
import operator
import re
from fractions import Fraction
from functools import lru_cache

from tracegen.annotations import Annotation, parse_annotations, without_leading_zeros

FINAL_MARK = "####"
MAX_EXPRESSION_CHARS = 500
MAX_POWER_BITS = 4096  # a power whose result would need more bits than this is refused

# A number in running text: optional sign (only where it cannot be a binary minus), then a
# grouped (`1,000`) or plain integer part with optional decimals, or a bare decimal (`.5`).
# Not glued to a word or another number on its left (`x2`, `v1.2`), not an ordinal (`3rd`).
# The lookahead first only says what every match starts with: the scan skips other characters 4x faster.
_TEXT_NUMBER = re.compile(
    r"""
    (?=[-.0-9])(?:
    (?:(?<![\w).])-)?
    (?:(?<![\w.])|(?<=[0-9][xX]))
    (?:[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])|[0-9]+)(?:\.[0-9]+)?
    (?![0-9])(?!(?:st|nd|rd|th)\b)
    |
    (?:(?<![\w).])-)?(?<![\w.])\.[0-9]+
    )""",
    re.VERBOSE,
)
_SIGN_AND_UNIT = re.compile(r"([-+]?)\s*[$€£]?\s*([-+]?)\s*")
MAX_NUMBER_CHARS = 100
"""Longer digit runs are not read as numbers (Python refuses to convert > 4300 digits, and no
math problem needs them)."""
_PLAIN_DECIMAL = re.compile(r"[0-9]+\.?[0-9]*|\.[0-9]+")
# a chunk's texts (64 problems, each read by several generators): enough to parse each once, bounded
_CACHE_SIZE = 4096
_WRITTEN_FRACTION = re.compile(r"([0-9]+)/([0-9]+)")
_WRITTEN_NUMBER = re.compile(r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+")


class UnsafeExpression(ValueError):
    """An expression that is not plain arithmetic `evaluate` accepts (or would be too large)."""


def split_steps(solution: str) -> list[str]:
    """The steps of a solution; `"\\n".join(split_steps(s)) == s`."""
    return solution.split("\n")


def final_answer(solution: str) -> str | None:
    """The text after the last `####` line, stripped; None if there is none (or it is empty)."""
    for line in reversed(split_steps(solution)):
        if line.startswith(FINAL_MARK):
            return line[len(FINAL_MARK) :].strip() or None
    return None


def step_value(step: str) -> Fraction | None:
    """The value a step computes: its last annotation's result; for a final `#### x` step, x.

    None when the step computes nothing (no annotation) or the number cannot be read.
    """
    if step.startswith(FINAL_MARK):
        return parse_number(step[len(FINAL_MARK) :])
    annotations = parse_annotations(step)
    return parse_number(annotations[-1].result) if annotations else None


# --- safe arithmetic -------------------------------------------------------------------------


def _power(base: Fraction, exponent: Fraction) -> Fraction:
    if exponent.denominator != 1:
        raise UnsafeExpression(f"non-integer exponent {exponent}")
    size = max(base.numerator.bit_length() + base.denominator.bit_length(), 1)
    if size * abs(exponent.numerator) > MAX_POWER_BITS:
        raise UnsafeExpression(f"power too large: ({base})**{exponent}")
    return base**exponent.numerator


_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}


def evaluate(expr: str) -> Fraction:
    """Evaluate plain arithmetic exactly, without `eval`.

    Accepts decimal literals (`3`, `.5`, `2.`, leading zeros), `+ - * / // % **`, unary signs
    and parentheses. Anything else (names, calls, attributes, strings, `1e5`, `0x10`, `1_000`,
    commas) raises UnsafeExpression, as do powers with huge results and expressions longer than
    MAX_EXPRESSION_CHARS. Division by zero raises ZeroDivisionError.
    """
    if not isinstance(expr, str):
        raise UnsafeExpression(f"not a string: {type(expr).__name__}")
    if len(expr) > MAX_EXPRESSION_CHARS:
        raise UnsafeExpression(f"expression longer than {MAX_EXPRESSION_CHARS} characters")
    return _evaluate_text(expr)


@lru_cache(maxsize=_CACHE_SIZE)
def _evaluate_text(expr: str) -> Fraction:
    source = without_leading_zeros(expr.strip())
    simple = _evaluate_simple(source)
    if simple is not None:
        return simple
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise UnsafeExpression(f"not an arithmetic expression: {expr!r}") from None
    try:
        return _evaluate_node(tree.body, source)
    except RecursionError:
        raise UnsafeExpression(f"expression nested too deeply: {expr!r}") from None


_SIMPLE_EXPRESSION = re.compile(r"\s*(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:\s*[-+*/]\s*(?:[0-9]+\.?[0-9]*|\.[0-9]+))*\s*")
_SIMPLE_TOKEN = re.compile(r"[0-9]+\.?[0-9]*|\.[0-9]+|[-+*/]")


def _evaluate_simple(source: str) -> Fraction | None:
    """The value of `48/2+3`-like expressions (numbers and `+ - * /` only), with integers kept as ints.

    Nearly every annotation is one; this gives exactly what the syntax-tree walk gives, many times
    faster. None for anything else (parentheses, signs, `//`, `**`, `%`, over-long literals).
    """
    if not _SIMPLE_EXPRESSION.fullmatch(source):
        return None
    tokens = _SIMPLE_TOKEN.findall(source)
    if any(len(t) > MAX_NUMBER_CHARS for t in tokens[::2]):
        return None
    total, term, sign = 0, _literal_value(tokens[0]), 1
    for op, literal in zip(tokens[1::2], tokens[2::2]):
        value = _literal_value(literal)
        if op == "*":
            term = term * value
        elif op == "/":
            term = Fraction(term, value) if type(term) is int and type(value) is int else term / value
        else:
            total, term, sign = total + sign * term, value, 1 if op == "+" else -1
    return Fraction(total + sign * term)


@lru_cache(maxsize=_CACHE_SIZE)
def _literal_value(text: str) -> int | Fraction:
    """A plain decimal literal's exact value: an int when it has no point (cheaper to compute with)."""
    return int(text) if text.isascii() and text.isdigit() else Fraction(text)


def _evaluate_node(node: ast.AST, source: str) -> Fraction:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        # The literal's own text, so `0.1` is exactly 1/10 (a float would not be).
        text = ast.get_source_segment(source, node)
        if text is None or len(text) > MAX_NUMBER_CHARS or not _PLAIN_DECIMAL.fullmatch(text):
            raise UnsafeExpression(f"not a plain decimal number: {text!r}")
        return Fraction(_literal_value(text))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left = _evaluate_node(node.left, source)
        right = _evaluate_node(node.right, source)
        return Fraction(_BINARY[type(node.op)](left, right))  # `//` on Fractions gives an int
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate_node(node.operand, source))
    raise UnsafeExpression(f"not allowed in arithmetic: {type(node).__name__}")


def annotation_holds(annotation: Annotation) -> bool:
    """Whether the annotation's expression evaluates exactly to its written result."""
    result = parse_number(annotation.result)
    if result is None:
        return False
    try:
        return evaluate(annotation.expr) == result
    except (ValueError, ZeroDivisionError):
        return False


# --- numbers as written ----------------------------------------------------------------------


@lru_cache(maxsize=_CACHE_SIZE)
def parse_number(text: str) -> Fraction | None:
    """The value of a number as written in an answer or in text, or None if it is not one.

    Accepts `1,000`, `$5`, `-$5`, `$-5`, `5.50`, `.5`, `2.`, `3/4`, `-7` and `50%` (= 50, the
    number written: `%` is read as a unit).
    """
    text = text.strip()
    if len(text) > MAX_NUMBER_CHARS:
        return None
    if text.endswith("%"):
        text = text[:-1].rstrip()
    match = _SIGN_AND_UNIT.match(text)
    if match.group(1) and match.group(2):
        return None
    negative = "-" in match.groups()
    text = text[match.end() :]
    fraction = _WRITTEN_FRACTION.fullmatch(text)
    if fraction:
        numerator, denominator = int(fraction.group(1)), int(fraction.group(2))
        value = Fraction(numerator, denominator) if denominator else None
    else:
        value = (
            Fraction(_literal_value(text.replace(",", "").rstrip("."))) if _WRITTEN_NUMBER.fullmatch(text) else None
        )
    if value is None:
        return None
    return -value if negative else value


def numbers_in(text: str) -> list[tuple[int, int, Fraction]]:
    """Numeric literals in text with their spans: `(start, end, value)`.

    `1,000` is one number; `48/2` is two (a fraction in a step is a division). A `-` counts as
    a sign only where it cannot be a binary minus: not after a number, `)` or `%`, spaces
    aside (`-7`, `was -7`, `(-17)`, `71+-3`, `x = -4`; but `48-24` and `34 -12` subtract).
    Digits glued to a word on their left (`x2`, `COVID19`) and ordinals (`3rd`) are not numbers,
    except after a multiplication `x` between digits (`15x2` is 15 and 2); a unit on the right
    (`50kg`, `5pm`) does not stop one. A trailing `.` is punctuation.
    """
    return list(_numbers_in(text))


@lru_cache(maxsize=_CACHE_SIZE)
def _numbers_in(text: str) -> tuple[tuple[int, int, Fraction], ...]:
    found = []
    for match in _TEXT_NUMBER.finditer(text):
        start, literal = match.start(), match.group()
        if literal.startswith("-") and text[:start].rstrip()[-1:] in tuple("0123456789)%"):
            start, literal = start + 1, literal[1:]
        if len(literal) > MAX_NUMBER_CHARS:
            continue
        found.append((start, match.end(), _signed_value(literal)))
    return tuple(found)


@lru_cache(maxsize=_CACHE_SIZE)
def _signed_value(literal: str) -> Fraction:
    """The value of a literal `_numbers_in` finds (`-1,200`), made once: the same few recur in every text."""
    value = Fraction(_literal_value(literal.replace(",", "").lstrip("-")))
    return -value if literal.startswith("-") else value


def decimal_places(value: Fraction) -> int | None:
    """Digits after the point needed to write `value` exactly; None if it does not terminate."""
    return 0 if value.denominator == 1 else _denominator_places(value.denominator)


@lru_cache(maxsize=_CACHE_SIZE)
def _denominator_places(denominator: int) -> int | None:
    twos = fives = 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    return max(twos, fives) if denominator == 1 else None


def format_number(value: Fraction, like: str | None = None) -> str:
    """Write `value` in the style of the literal `like`.

    Integers plainly, decimals with the places they need. When `like` has decimals and the value
    fits in that many places, that many are written (`like="5.50"`: 6 -> "6.00"). A value that
    does not terminate is rounded to max(2, places of `like`). Thousands separators when `like`
    has them; no leading zero when `like` has none (`.5`). Symbols (`$`, `%`) are not copied.
    `parse_number(format_number(v, like)) == v` for every terminating `v`.
    """
    if type(value) is not Fraction:
        value = Fraction(value)
    grouped, like_places, bare_point = _style_of(like)
    places = decimal_places(value)
    if places is None:
        places = max(2, like_places)
        value = round(value, places)
    elif like_places >= places:
        places = like_places
    negative = value.numerator < 0
    scaled = abs(value.numerator) * 10**places // value.denominator  # exact: `value` has at most `places` decimals
    digits = str(scaled)
    whole, fraction = (digits[:-places] or "0", digits[-places:].rjust(places, "0")) if places else (digits, "")
    if grouped:
        whole = f"{int(whole):,}"
    if bare_point and whole == "0" and fraction:
        whole = ""
    text = f"{whole}.{fraction}" if fraction else whole
    return f"-{text}" if negative and scaled != 0 else text


@lru_cache(maxsize=_CACHE_SIZE)
def _style_of(like: str | None) -> tuple[bool, int, bool]:
    """(thousands separators, decimal places, no leading zero) of an example literal."""
    if not like:
        return False, 0, False
    match = _WRITTEN_NUMBER.search(like)
    if match is None:
        return False, 0, False
    literal = match.group()
    _, _, fraction = literal.partition(".")
    return "," in literal, len(fraction), literal.startswith(".")
