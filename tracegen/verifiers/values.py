"""Which numbers a solution may use without computing them, and which quantities the gold chain has.

- `question_values`: the numbers a question states, in digits or in words (`three`, `half`,
  `twice`, `dozen`), with the forms a solution writes them in (`25%` -> 25, 0.25, 0.75, 1.25;
  `3/4` -> 0.75 and 0.25), plus the constants of the units it mentions (a question about weeks
  gives 7, one about hours 60).
- `GoldChain`: every number the gold solution writes; the quantities it computes (each
  calculation's result, every partial result of its expressions, a sum regrouped included, the
  final answer); and which operator it puts between which two values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property, lru_cache

from tracegen.steps import numbers_in, split_steps
from tracegen.verifiers.answers import far_apart, line_answer, same_value
from tracegen.verifiers.calculations import calculations

ALWAYS_KNOWN = (Fraction(0), Fraction(1), Fraction(2), Fraction(100), Fraction(1, 100))
"""Numbers any solution may use: nothing, one, halving and doubling, percent."""

_UNITS = (  # a word of the question (regex) -> the constants a solution may bring in with it
    (r"\bweek", (7, 52)),
    (r"\b(?:day|daily|night)", (7, 24, 30, 365)),
    (
        r"\bmonth|\b(?-i:January|February|March|April|May|June|July|August|September|October|November|December)\b",
        (12, 28, 29, 30, 31, 4),
    ),
    (r"\b(?:year|annual|birthday)", (12, 52, 365)),
    (r"\bhour", (60, 24)),
    (r"\b(?:minute|second)", (60, 3600)),
    (r"\bdecade", (10,)),
    (r"\bcentur", (100,)),
    (r"\bdozen", (12,)),
    (r"\b(?:feet|foot|inch)", (12,)),
    (r"\byard", (3, 36)),
    (r"\b(?:pound|ounce)", (16,)),
    (r"\b(?:gallon|quart|pint|cup)", (4, 2, 8, 16, 128)),
    (r"\bquarters\b", (25, Fraction(1, 4))),
    (r"\bdimes?\b", (10, Fraction(1, 10))),
    (r"\bnickels?\b", (5, Fraction(1, 20))),
    (r"\b(?:penny|pennies|cents?)\b", (Fraction(1, 100),)),
    (r"\b(?:meter|metre|kilo|gram|liter|litre)", (1000, 100)),
    (r"\bmile", (5280,)),
    (r"\b(?:pair|couple|twins|both)\b", (2,)),
    (r"\b(?:triple|thrice|triplet|triangle|tricycle)", (3,)),
    (r"\b(?:square|rectangle|quadruple|car|wheel)", (4,)),
    (r"\b(?:hand|finger|toe)", (5, 10)),
    (r"\b(?:alphabet|letter)", (26,)),
    (r"\b(?:deck|card)", (52,)),
)
_UNIT_PATTERNS = tuple((re.compile(words, re.IGNORECASE), values) for words, values in _UNITS)

WORD_VALUES = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "thousand": 1000,
    "million": 1_000_000,
    "billion": 1_000_000_000,
    "dozen": 12,
    "score": 20,
    "twice": 2,
    "double": 2,
    "doubled": 2,
    "doubles": 2,
    "triple": 3,
    "tripled": 3,
    "thrice": 3,
    "quadruple": 4,
    "quadrupled": 4,
    "single": 1,
    "once": 1,
    "none": 0,
}
_FRACTION_WORDS = {
    "half": Fraction(1, 2),
    "halves": Fraction(1, 2),
    "third": Fraction(1, 3),
    "thirds": Fraction(1, 3),
    "quarter": Fraction(1, 4),
    "quarters": Fraction(1, 4),
    "fourth": Fraction(1, 4),
    "fourths": Fraction(1, 4),
    "fifth": Fraction(1, 5),
    "fifths": Fraction(1, 5),
    "sixth": Fraction(1, 6),
    "seventh": Fraction(1, 7),
    "eighth": Fraction(1, 8),
    "ninth": Fraction(1, 9),
    "tenth": Fraction(1, 10),
    "tenths": Fraction(1, 10),
}
_WORD = re.compile(r"[a-z]+", re.IGNORECASE)
_CENTS_AFTER = re.compile(r"\s*cents?\b", re.IGNORECASE)
_PERCENT = re.compile(r"\s*(?:%|percent\b)", re.IGNORECASE)
_WRITTEN_FRACTION = re.compile(r"(?<![0-9.])([0-9]+)\s*/\s*([0-9]+)(?![0-9.])")


_SPACED_THOUSANDS = re.compile(r"(?<![0-9.,])[0-9]{1,3}(?: [0-9]{3})+(?![0-9])")


@lru_cache(maxsize=4096)
def question_values(question: str) -> frozenset[Fraction]:
    """What a solution may use without computing it, besides the gold chain's numbers."""
    values = set(ALWAYS_KNOWN)
    values.update(Fraction(m.group(0).replace(" ", "")) for m in _SPACED_THOUSANDS.finditer(question))  # `$400 000`
    for _, end, value in numbers_in(question):
        values.update({value, abs(value)})  # operands are read without their sign
        if _PERCENT.match(question, end):
            rate = value / 100
            values.update({rate, 1 - rate, 1 + rate, 100 - value, 100 + value})
        if _CENTS_AFTER.match(question, end):
            values.add(value / 100)  # `25 cents` -> $0.25
    for match in _WRITTEN_FRACTION.finditer(question):
        numerator, denominator = int(match.group(1)), int(match.group(2))
        if denominator:
            part = Fraction(numerator, denominator)
            values.update({part, 1 - part, 1 + part, 1 / part if part else part})
    for word in _WORD.findall(question):
        word = word.lower()
        if word in WORD_VALUES:
            values.add(Fraction(WORD_VALUES[word]))
        if word in _FRACTION_WORDS:
            part = _FRACTION_WORDS[word]
            values.update({part, 1 / part, 1 - part, 1 + part})
    for pattern, constants in _UNIT_PATTERNS:
        if pattern.search(question):
            values.update(Fraction(c) for c in constants)
    values |= _word_compounds(question)
    return frozenset(values)


def _word_compounds(question: str) -> set[Fraction]:
    """`twenty-five` -> 25, `three hundred` -> 300, `half a dozen` -> 6, `three and a half` -> 3.5."""
    found = set()
    words = [w.lower() for w in _WORD.findall(question)]
    for first, second in zip(words, words[1:]):
        a = WORD_VALUES.get(first, _FRACTION_WORDS.get(first))
        b = WORD_VALUES.get(second)
        if a is not None and b is not None:
            found.update({Fraction(a) * b, Fraction(a) + b})
    for first, second, third, fourth in zip(words, words[1:], words[2:], words[3:] + [""]):
        a = WORD_VALUES.get(first, _FRACTION_WORDS.get(first))
        if a is None:
            continue
        if WORD_VALUES.get(third) is not None:  # "half a dozen"
            found.add(Fraction(a) * WORD_VALUES[third])
        if second == "and" and _FRACTION_WORDS.get(fourth) is not None and third in ("a", "one"):  # "three and a half"
            found.add(a + _FRACTION_WORDS[fourth])
    return found


@dataclass(frozen=True)
class GoldChain:
    """What the gold solution writes and computes; `GoldChain.of(gold)` is cached per text."""

    numbers: frozenset[Fraction]  # every number it writes, in the text or in calculations
    quantities: frozenset[Fraction]  # what it computes: results, partial results, the final answer
    results: frozenset[
        Fraction
    ]  # what its steps conclude: each calculation's result, what a chain deducts in all, the final answer
    operations: frozenset[tuple[str, frozenset[Fraction]]]  # (symbol, {operands}) of each + - * /

    @staticmethod
    @lru_cache(maxsize=4096)
    def of(gold: str) -> GoldChain:
        numbers, quantities, results, operations = set(), set(), set(), set()
        for step in split_steps(gold):
            numbers.update(abs(value) for _, _, value in numbers_in(step))
            answer = line_answer(step)
            if answer is not None:
                quantities.add(answer)
                results.add(answer)
            for calc in calculations(step):
                numbers.update(calc.operands)
                numbers.add(abs(calc.result))
                quantities.add(calc.result)
                results.add(calc.result)
                if calc.expression is not None:
                    quantities.update(calc.expression.partial_results())
                    results.update(calc.expression.deductions())
                    operations.update(
                        (symbol, frozenset((left, right))) for symbol, left, right in calc.expression.operations()
                    )
        return GoldChain(frozenset(numbers), frozenset(quantities), frozenset(results), frozenset(operations))

    @cached_property
    def _ordered_operations(self) -> tuple[tuple[str, frozenset[Fraction]], ...]:
        """`operations` in one fixed order, sorted once: asked for every calculation off the chain."""
        return tuple(sorted(self.operations, key=repr))

    def computes_with_other_operator(self, symbol: str, left: Fraction, right: Fraction) -> str | None:
        """The operator the gold chain puts between these two values, when it is not `symbol`."""
        operands = frozenset((left, right))
        return next((other for other, pair in self._ordered_operations if pair == operands and other != symbol), None)


def contains(values: Iterable[Fraction], value: Fraction) -> bool:
    """Whether `value` is one of `values`, up to the rounding of written decimals (answers.same_value)."""
    if value in values:
        return True
    try:  # its float once, not once per value compared (answers.same_value)
        near = value.numerator / value.denominator
    except OverflowError:
        return any(same_value(value, known) for known in values)
    return any(
        not far_apart(near, known.numerator / known.denominator) and same_value(value, known) for known in values
    )
