"""Arithmetic written in prose: `12 apples / 3 = 4 apples`, `3 times 4 equals 12`, `100% - 32% = 68%`.

Weak models often write a calculation without a calculator annotation and with the units of each
number between the numbers and the operators. `prose_expression` reads the text before an `=`
(or `equals`) backwards as terms joined by operators, each term a number (`$2.50`, `1,000`,
`25%`) followed by at most a few unit words (`kilograms of rice per sack`, `cups/day`), and
returns the arithmetic (`12/3`, `20*25`) or None when the text is not such an expression: a verb
or conjunction among the unit words (`4 dollars and she pays`), an operator with no number
before it, no operator at all, algebra (`2x + 5`). `n%` is read as n/100 on both sides, as
the existing text equations do.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(
    r"(?P<number>[$€£]?\s?(?:[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])|[0-9]+)(?:\.[0-9]+)?%?|[$€£]?\.[0-9]+%?)"
    r"|(?P<operator>multiplied\s+by|divided\s+by|times|plus|minus|(?<![A-Za-z])[xX×](?![A-Za-z])|[-+*/÷−–])"
    r"|(?P<open>\()|(?P<close>\))"
    r"|(?P<word>[A-Za-z][A-Za-z'’]*)"
    r"|(?P<other>[^\sA-Za-z0-9()])"
)
_OPERATORS = {
    "multiplied by": "*",
    "divided by": "/",
    "times": "*",
    "plus": "+",
    "minus": "-",
    "x": "*",
    "×": "*",
    "÷": "/",
    "−": "-",
    "–": "-",
}
_NOT_UNITS = frozenset(
    "is are was were be been equals equal so then and or but that which who because if when while since "
    "he she they it we you i his her their its has have had gets got get makes made pays paid buys bought "
    "sells sold needs uses used will would can could total left".split()
)
MAX_UNIT_WORDS = 5


def prose_expression(before: str) -> tuple[str, str] | None:
    """(the expression as written, its arithmetic) ending at the end of `before`, or None."""
    tokens = [(m.lastgroup, m.group(), m.start()) for m in _TOKEN.finditer(before)]
    i = len(tokens) - 1
    parts: list[str] = []
    operators = 0
    start = 0
    while True:
        term = _term_backwards(tokens, i)
        if term is None:
            return None
        i, arithmetic, start = term
        parts.insert(0, arithmetic)
        if i >= 0 and tokens[i][0] == "operator":
            parts.insert(0, _OPERATORS.get(" ".join(tokens[i][1].lower().split()), tokens[i][1]))
            operators += 1
            i -= 1
            continue
        break
    if not operators or (i >= 0 and (tokens[i][0] == "number" or tokens[i][1] in (".", ","))):
        return None  # `3 1/2` (a mixed number), `1.5` cut at its point
    if i >= 0 and tokens[i][0] == "word" and tokens[i][1].lower() in ("of", "by"):
        return None  # `half of 12 apples / 3`: a longer expression in words
    return " ".join(before[start:].split()), "".join(parts)


def _term_backwards(tokens: list[tuple[str, str, int]], i: int) -> tuple[int, str, int] | None:
    """Read `( number unit-words )` backwards from token i: (next index, arithmetic, start offset)."""
    closing = ""
    units = 0
    while (
        i >= 0
        and tokens[i][0] in ("word", "close")
        or (i >= 1 and tokens[i][1] == "/" and tokens[i + 1 :][:1] and tokens[i + 1][0] == "word")
    ):
        kind, text, _ = tokens[i]
        if kind == "close":
            closing += ")"
        elif kind == "word":
            if text.lower() in _NOT_UNITS or text.lower() in _OPERATORS or (len(text) == 1 and text not in "aA"):
                return None  # `2s + 30`: a variable, not a unit
            units += 1
            if units > MAX_UNIT_WORDS:
                return None
        i -= 1
    if i < 0 or tokens[i][0] != "number":
        return None
    number, start = tokens[i][1], tokens[i][2]
    if i + 1 < len(tokens) and tokens[i + 1][0] == "word" and tokens[i + 1][2] == start + len(number):
        return None  # `2s`, `5kg`: glued to a word, a variable or an unclear unit
    i -= 1
    opening = ""
    while i >= 0 and tokens[i][0] == "open":
        opening += "("
        start = tokens[i][2]
        i -= 1
    value = number.lstrip("$€£ ").replace(",", "")
    if value.endswith("%"):
        value = f"({value[:-1]}/100)"
    return i, opening + value + closing, start
