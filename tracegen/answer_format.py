"""Final answers of any format (`answer.format`), and comparing them after normalisation.

Formats: `gsm8k` (a last line `#### x`), `boxed` (the last `\\boxed{...}` or `\\fbox{...}`, braces
balanced), `last_number` (the last number written), or a regex whose one group is the answer (its
last match counts).

Two answers are the same when their normalised forms are equal: `\\$`, `$`, `\\text{...}` units,
`^\\circ`, `\\%`/`%`, `\\left`/`\\right`, spacing commands and a leading `x =` are dropped; numbers
(integers, decimals, `1,000`, `a/b`, `\\frac{a}{b}`, `\\dfrac`, `\\tfrac`, signs) compare by exact
value, so `\\frac{3}{2}`, `1.5` and `3/2` are one answer; anything else compares as the remaining
text without spaces, lower-cased (`36\\pi`, `(1,2)`, `\\text{Monday}` -> `monday`).
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

from tracegen.steps import MAX_NUMBER_CHARS, final_answer

GSM8K, BOXED, LAST_NUMBER = "gsm8k", "boxed", "last_number"
NAMED_FORMATS = (GSM8K, BOXED, LAST_NUMBER)

_BOX_COMMAND = re.compile(r"\\(?:boxed|fbox)\s*")
_LAST_NUMBER = re.compile(r"-?(?:[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])|[0-9]+)(?:\.[0-9]+)?(?:/[0-9]+)?|-?\.[0-9]+")
_NUMBER = re.compile(r"([-+]?)((?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)")
_FRACTION = re.compile(r"([-+]?)\\[dt]?frac\{([-+]?[0-9.]+)\}\{([-+]?[0-9.]+)\}")
_SHORT_FRACTION = re.compile(r"\\[dt]?frac([0-9])([0-9])")
_TEXT_COMMAND = re.compile(r"\\(?:text|textbf|mathrm|mbox|textnormal)\s*\{([^{}]*)\}")
_DROPPED = re.compile(
    r"\\left|\\right|\\[,;:! ]|\\quad|\\qquad|\\displaystyle|\^\s*\{?\\circ\}?|\\circ|\\%|%|\\\$|\$|\\\(|\\\)"
)
_ASSIGNMENT = re.compile(r"^[a-zA-Z]\s*=\s*(?=\S)")
_UNIT_WORDS = re.compile(r"^(?P<number>[^a-zA-Z\\]+?)\s*(?:[a-zA-Z]+\.?(?:\s+[a-zA-Z]+\.?)*)$")


def check_format(fmt: str) -> None:
    """A named format, or a regex with exactly one group."""
    if fmt in NAMED_FORMATS:
        return
    try:
        pattern = re.compile(fmt)
    except re.error as e:
        raise ValueError(
            f"not a named format ({', '.join(NAMED_FORMATS)}) and not a regular expression: {e}"
        ) from None
    if pattern.groups != 1:
        raise ValueError(f"a regex answer format needs exactly one group (the answer), this one has {pattern.groups}")


def extract_answer(solution: str, fmt: str) -> str | None:
    """The final answer `solution` states in format `fmt`, as written (stripped); None if it states none."""
    if fmt == GSM8K:
        return final_answer(solution)
    if fmt == BOXED:
        return last_boxed(solution)
    if fmt == LAST_NUMBER:
        found = list(_LAST_NUMBER.finditer(solution))
        return found[-1].group() if found else None
    matches = list(re.finditer(fmt, solution))
    text = matches[-1].group(1) if matches else None
    return text.strip() or None if text is not None else None


def answer_span(solution: str, fmt: str) -> tuple[int, int] | None:
    """Where the stated final answer sits in `solution` (for boxed: inside the braces)."""
    if fmt == BOXED:
        spans = boxed_spans(solution)
        return spans[-1] if spans else None
    if fmt == LAST_NUMBER:
        found = list(_LAST_NUMBER.finditer(solution))
        return found[-1].span() if found else None
    if fmt == GSM8K:
        at = solution.rfind("####")
        return (at + 4, len(solution)) if at >= 0 else None
    matches = list(re.finditer(fmt, solution))
    return matches[-1].span(1) if matches and matches[-1].group(1) is not None else None


def boxed_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the contents of every `\\boxed{...}` (braces balanced)."""
    spans = []
    for match in _BOX_COMMAND.finditer(text):
        at = match.end()
        if text[at : at + 1] != "{":
            continue
        depth = 0
        for end in range(at, len(text)):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            if depth == 0:
                spans.append((at + 1, end))
                break
    return spans


def last_boxed(text: str) -> str | None:
    spans = boxed_spans(text)
    return text[spans[-1][0] : spans[-1][1]].strip() or None if spans else None


@lru_cache(maxsize=4096)
def normalize_answer(text: str) -> str:
    """The canonical form two answers are compared by: `n/d` or an integer for numbers, else cleaned text."""
    value = answer_value(text)
    if value is not None:
        return str(value)
    return re.sub(r"\s+", "", _cleaned(text)).lower()


def answer_value(text: str) -> Fraction | None:
    """The number an answer states (units, `\\$`, `%` and `\\text{}` aside), or None."""
    cleaned = _cleaned(text)
    for candidate in (cleaned, _without_units(cleaned)):
        value = _number(candidate) if candidate is not None else None
        if value is not None:
            return value
    return None


def same_answer(a: str, b: str) -> bool:
    return normalize_answer(a) == normalize_answer(b)


def answer_matches(solution: str, answer: str, fmt: str) -> bool:
    """Whether `answer` is the answer of `solution` in format `fmt`: for gsm8k its `####` answer exactly (as
    always); else the one it states after normalisation, or any when it states none (an answer column)."""
    stated = extract_answer(solution, fmt)
    if fmt == GSM8K:
        return stated == answer
    return stated is None or same_answer(stated, answer)


def _cleaned(text: str) -> str:
    text = text.strip().strip("$").strip()
    inner = last_boxed(text)
    if inner is not None and text.startswith(("\\boxed", "\\fbox")):
        text = inner
    text = _TEXT_COMMAND.sub(lambda m: f" {m.group(1)} ", text)
    text = _DROPPED.sub(" ", text)
    text = _ASSIGNMENT.sub("", text.strip())
    return text.strip().rstrip(".").strip()


def _without_units(text: str) -> str | None:
    match = _UNIT_WORDS.fullmatch(text)
    return match.group("number").strip() if match else None


def _number(text: str) -> Fraction | None:
    text = re.sub(r"\s+", "", text)
    if not text or len(text) > MAX_NUMBER_CHARS:
        return None
    text = _SHORT_FRACTION.sub(r"\\frac{\1}{\2}", text)
    fraction = _FRACTION.fullmatch(text)
    if fraction:
        return _ratio(fraction.group(1), fraction.group(2), fraction.group(3))
    parts = text.split("/")
    if len(parts) == 2:
        sign = "-" if parts[0].startswith("-") else ""
        return _ratio(sign, parts[0].lstrip("+-"), parts[1])
    number = _NUMBER.fullmatch(text)
    if number is None:
        return None
    value = Fraction(number.group(2).replace(",", "").rstrip(".") or "0")
    return -value if number.group(1) == "-" else value


def _ratio(sign: str, numerator: str, denominator: str) -> Fraction | None:
    top, bottom = _NUMBER.fullmatch(numerator), _NUMBER.fullmatch(denominator)
    if top is None or bottom is None:
        return None
    num, den = _number(numerator), _number(denominator)
    if num is None or not den:
        return None
    value = num / den
    return -value if sign == "-" else value
