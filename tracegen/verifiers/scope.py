"""Values named as a whole they are not: a per-one product called a total, a value called the total the question asks.

A word problem gives amounts per item (`1000 people living in each city`, `in each country, there are 5 cities`,
`Each class has 1/8 the capacity`) and how many items there are (`26 countries`, `two classes`). Multiplying amounts
per item through gives an amount that is still per one item: 1000 people per city times 5 cities per country is
5000 people *per country*, 1/8 of a 120-student class per class is 15 students *per class*. A line that calls such a
result a total (`The total population of cities is 5*1000`, `the combined capacity of John's classes is 1/8*120`)
states something false on that line, whatever a later line does with the value: the labelling guide's subtotal
called the total. Whether the result is per one item is read from the units of the operands
(tracegen.verifiers.quantities), not from the word alone: gold solutions say `total` loosely for true totals, and
the word decides nothing unless the units say the result is still per one of something the question has several of.

The check reads only a product of two operands (a share `1/8` is one operand) and only when:

- every reading of the operands that composes leaves the result per one item P: a rate per Q times a rate of Q's
  per P (`people per city * cities per country`), or two amounts per P (`1/8 per class * 120 students per class`);
  none reads it as a rate times a count of what it is per (a true total);
- P is no period (`$10 an hour * 8 hours a day` called `total earnings` is a day's, and solutions and golds alike
  name a day's total so: left to the period checks of tracegen.verifiers.units and binding);
- the question counts more than one P (`26 countries`, `two classes`, `A farm has 7 barns`): with one P, the per-one
  value is the total;
- the clause of the step that names the result calls it all of them (`total`, `combined`, `altogether`, `in all`,
  `whole`, `both`), does not say it is per one P (`each country`, `per class`, `a city`, `one country`), and does
  not write an operand with what it counts (`the total weight of the 8 portions is 8*2`: a total of those 8).

A line can also name its value as the very quantity the question asks: `to find the annual total: $1000/month * 12 =
$12000/year` when the question asks what she pays in a year. When that value is not the gold answer and no later
line uses it (it is not a subtotal on the way: nothing adds to it), the name is false on that line, even though no
line builds on it (`asked_total_not_the_answer`). The question's period anchors it: the line calls its value a total
(`total`, `in all`, ...) of the period the question's ask names (`in a year`, `annual`, `/year`, `monthly`...). The
same rule read from the total words alone (`total` in the ask and in the line) blamed true subtotals (`for a total
of 5*3`, `the total area of all the bedrooms`) as often as real misnamings on the unlabelled solutions: rejected.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

from tracegen.annotations import without_annotations
from tracegen.steps import numbers_in
from tracegen.verifiers.answers import final_value, same_value
from tracegen.verifiers.calculations import Calculation, calculations, plain
from tracegen.verifiers.quantities import CLAUSE_END, PERIODS, Noun, Quantity, quantities
from tracegen.verifiers.values import WORD_VALUES

_ALL_OF_THEM = re.compile(
    r"\b(?:total|totals|combined|altogether|all\s+together|in\s+all|whole|entire|both)\b", re.IGNORECASE
)


def per_one_called_all(question: str, calc: Calculation, step: str) -> str | None:
    """Why `calc` of `step`, a product still per one item of several, is called a total of them all (module
    docstring); None when it is not."""
    operations = calc.expression.operations() if calc.expression is not None else []
    if not operations or operations[0][0] != "*" or any(symbol in "+-" for symbol, _, _ in operations):
        return None
    _, left, right = operations[0]  # the root: the product of its two sides
    read = quantities(question)
    lefts, rights = _readings(left, operations, read), _readings(right, operations, read)
    if not lefts or not rights:
        return None
    results = {_per(a, b) for a in lefts for b in rights if a is not b} - {None}
    if len(results) != 1 or (per := results.pop()) == _TOTAL or per.name in PERIODS:
        return None
    if not _each_one(question, per):
        return None
    several = [q.value for q in read if q.unit is not None and q.unit.matches(per) and q.value > 1 and _whole(q, read)]
    text = _clause(step, calc)
    if not several or not _ALL_OF_THEM.search(text) or _says_per_one(text, per) or _names_what_it_counts(text, calc):
        return None
    return (
        f"{plain(calc.stated)} is one {per.name}'s, called a total of all {plain(several[0])}"
        if len(several) == 1
        else f"{plain(calc.stated)} is one {per.name}'s, called a total"
    )


_TOTAL = Noun("")
"""The composition of a rate and a count of what it is per: a true total, per nothing."""


def _readings(value: Fraction, operations: list[tuple[str, Fraction, Fraction]], read: tuple[Quantity, ...]):
    """The question's quantities an operand may be: those of its value, or, for a share the step writes as a
    fraction (`1/8`), its denominator's (what the share is per)."""
    size = abs(value)
    found = [q for q in read if same_value(q.value, size)]
    if found:
        return found
    shares = [b for symbol, a, b in operations if symbol == "/" and a / b == value and a < b]
    return [q for q in read if shares and q.value == shares[0] and q.unit is None and q.per is not None]


def _per(a: Quantity, b: Quantity) -> Noun | None:
    """What `a * b` is per: `_TOTAL` for a rate times a count of what it is per, a noun P when the product is still
    per one P, None when the two do not compose."""
    for x, y in ((a, b), (b, a)):
        if x.per is not None and x.per.matches(y.unit):
            return _TOTAL if y.per is None else y.per  # a rate times its count; times a rate of its per
    if a.per is not None and a.per.matches(b.per) and not (a.per.matches(a.unit) or b.per.matches(b.unit)):
        return a.per  # two amounts per one P: `1/8 of` a class per class times students per class
    for x, y in ((a, b), (b, a)):
        if x.unit is None and x.per is not None and y.per is None:
            return x.per  # a share each P has (`Each room has 1/5 the seats`) of an amount (`150 people`)
    return None


def _whole(count: Quantity, read: tuple[Quantity, ...]) -> bool:
    """Whether `count` counts all there are of its thing: a plain count (`26 countries`), or one per a thing the
    question has one of (`A farm has 7 barns`: no count of farms)."""
    return count.per is None or not any(q.unit is not None and q.unit.matches(count.per) for q in read)


def _each_one(question: str, per: Noun) -> bool:
    """Whether the question says something of each one P (`in each country, there are 5 cities`, `Each class has`)
    in a clause with no number before the `each`: in `25 cards in each deck and five boxes` the deck is the 25's,
    and the five boxes are no boxes per deck."""
    for clause in CLAUSE_END.split(question):
        for match in re.finditer(rf"\b(?:each|every|per)\s+{re.escape(per.name)}", clause, re.IGNORECASE):
            before = clause[: match.start()]
            if not any(char.isdigit() for char in before) and not any(
                word.lower() in WORD_VALUES for word in re.findall(r"[A-Za-z]+", before)
            ):
                return True
    return False


def _clause(step: str, calc: Calculation) -> str:
    """The clause of `step` that names the result of `calc`: `If each class has 1/8 of the capacity, the combined
    capacity of John's classes is 1/8*120` names it in its last clause; the first only restates the question."""
    text = without_annotations(step)
    at = text.find(calc.text)
    if at < 0:
        return text
    start = max((m.end() for m in CLAUSE_END.finditer(text, 0, at)), default=0)
    end = CLAUSE_END.search(text, at + len(calc.text))
    return text[start : end.start() if end else len(text)]


def _names_what_it_counts(clause: str, calc: Calculation) -> bool:
    """Whether the clause writes an operand with what it counts (`The total weight of the 8 portions is 8*2`): the
    total it claims is of those, which the product is."""
    words = clause.replace(calc.text, " ")
    return any(q.unit is not None and any(same_value(q.value, v) for v in calc.operands) for q in quantities(words))


def _says_per_one(text: str, per: Noun) -> bool:
    """Whether the step says its result is per one P: `each country`, `per class`, `a city`, `one country`."""
    name = re.escape(per.name)
    return (
        re.search(rf"\b(?:each|per|every|one|single|a|an)\s+(?:[A-Za-z'’]+\s+)?{name}\b", text, re.IGNORECASE)
        is not None
    )


_PERIOD_WORDS = {
    period: re.compile(rf"\b(?:{words})", re.IGNORECASE)
    for period, words in {
        "year": r"annual|yearly|a\s+year|per\s+year|each\s+year|every\s+year|in\s+a\s+year|/\s*year",
        "month": r"monthly|a\s+month|per\s+month|each\s+month|every\s+month|in\s+a\s+month|/\s*month",
        "day": r"daily|a\s+day|per\s+day|each\s+day|every\s+day|in\s+a\s+day|/\s*day",
        "week": r"weekly|a\s+week|per\s+week|each\s+week|every\s+week|in\s+a\s+week|/\s*week",
    }.items()
}
_ASK = re.compile(r"[^.!?]*\?\s*$")


@lru_cache(maxsize=4096)
def _asked_periods(question: str) -> tuple[str, ...]:
    """The periods the question's ask names (`in a year`, `annual`, `/week`), in _PERIOD_WORDS's order; read once per
    question, not once per calculation."""
    ask = _ASK.search(question)
    return () if ask is None else tuple(period for period, said in _PERIOD_WORDS.items() if said.search(ask.group(0)))


def asked_total_not_the_answer(
    question: str, gold: str, steps: list[str], calc: Calculation, index: int
) -> str | None:
    """Why `calc` of step `index`, named the total of the period the question asks about (`the annual total` when it
    asks what she pays in a year), is misnamed: it is not the gold answer and no later step uses it; None when not."""
    asked = _asked_periods(question)
    answer = final_value(gold)
    if not asked or answer is None or same_value(calc.stated, answer) or calc != calculations(steps[index])[-1]:
        return None  # a line names its last value (`eats 10+4 = 14 a day, for a total of 14*7`: the total is 98)
    text = _clause(steps[index], calc)
    for period in asked:
        if _PERIOD_WORDS[period].search(text):
            if _ALL_OF_THEM.search(text) and not _used_later(calc.stated, steps[index + 1 :]):
                return (
                    f"{plain(calc.stated)} is called the {period}'s total the question asks, which is {plain(answer)}"
                )
    return None


def _used_later(value: Fraction, later: list[str]) -> bool:
    return any(same_value(abs(number), abs(value)) for step in later for _, _, number in numbers_in(step))
