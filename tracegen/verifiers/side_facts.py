"""True side facts: a product or quotient of the question's numbers whose units compose.

A solution may compute a true fact the gold solution never has (`10 pages a day * 30 days = 300
pages`, `50 customers a day * 7 = 350 customers a week`, `30 inches / 12 = 2.5 feet`) and go wrong
only where a later line misuses it (`300 - 200 = 100 days`). The labelling guide calls such a line
true, so it is not the first error; the line that misuses it is. A misreading, by contrast,
rarely composes: eggs times meals, a per-week rate times the days of another period, a rate
times a count of something else, a result named with another unit than its operands give.

`true_side_fact` reads each operand as a quantity of the question (tracegen.verifiers.quantities)
and the result as the step names it, and accepts the calculation only when:

- a rate times a count of what it is per (`$2 per doughnut` x `120 doughnuts`: dollars; `1000
  people in each city` x `5 cities in each country`: people per country), the count being the
  question's only count of that thing or in the rate's own sentence (`2 rides a week` x `4
  weeks`, where the 4 weeks are another period's, is no side fact); or
- a rate per period times (divided by) a unit constant (`a day` x 7 = `a week`), the step naming
  the new period; or a measure times (divided by) a unit constant (`30 inches / 12`: feet), the step
  naming the new unit; or
- an amount divided by a rate of the same unit (`32 ounces / 4 ounces per cube`: cubes), the step
  naming what the rate is per;

and the step's own words for the result (the noun after it, a period or `per` after it) agree
with the composition, and its words for each operand (`5 days`) with the quantity it is read as.
A result an earlier step writes, with its words (`100 cents a day`), is a quantity too. Such a
fact is not misbound when it equals a gold value of another thing (`8 hours a day * 5 days = 40
hours`, where the gold's 40 is minutes). Off the gold chain, only the readings a step must name
(a conversion by a unit constant, an amount over a rate of its unit) defer the blame
(`conversions_only`): deferring a rate times a count moved 18 of 40 whole-file first errors read
by hand (outside the labelled sets), right about as often as wrong (`2 sessions a week * 6 weeks`
called hours, `$2.20 a trip * 2 trips` where the 2 trips are a day's).
Deferring every product of two question values, as an earlier round did, lost 17 development
labels: most of those products are the misreading itself. Nor may the kinds differ: a big
cookie's calories are no mini cookie's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache
from itertools import product

from tracegen.annotations import without_annotations
from tracegen.steps import numbers_in
from tracegen.verifiers.answers import same_value
from tracegen.verifiers.binding import RESULT_BEFORE
from tracegen.verifiers.calculations import Calculation
from tracegen.verifiers.quantities import Noun, Quantity, quantities, quantity_at

CONVERSIONS = (  # (larger unit, smaller unit, how many of the smaller make one larger)
    ("week", "day", 7),
    ("week", "night", 7),
    ("day", "hour", 24),
    ("hour", "minute", 60),
    ("minute", "second", 60),
    ("hour", "second", 3600),
    ("year", "month", 12),
    ("year", "week", 52),
    ("year", "day", 365),
    ("month", "day", 30),
    ("month", "week", 4),
    ("decade", "year", 10),
    ("century", "year", 100),
    ("foot", "inch", 12),
    ("yard", "foot", 3),
    ("yard", "inch", 36),
    ("mile", "foot", 5280),
    ("dollar", "cent", 100),
    ("pound", "ounce", 16),
    ("ton", "pound", 2000),
    ("kilogram", "gram", 1000),
    ("kilometer", "meter", 1000),
    ("meter", "centimeter", 100),
    ("gallon", "quart", 4),
    ("gallon", "pint", 8),
    ("gallon", "cup", 16),
    ("quart", "pint", 2),
    ("pint", "cup", 2),
)
_FACTORS = frozenset(Fraction(factor) for _, _, factor in CONVERSIONS)
_BY_FACTOR = {  # a unit constant -> the conversions it makes, in CONVERSIONS' order
    factor: tuple((big, small) for big, small, other in CONVERSIONS if other == factor) for factor in _FACTORS
}


@dataclass(frozen=True)
class Composed:
    """What a product or quotient of two quantities is, and which part of it the step must name to claim it."""

    unit: Noun
    per: Noun | None
    must_name: str | None = None  # "unit" or "per": a conversion is only read as one when the step says what it made


def true_side_fact(
    question: str, earlier: Sequence[str], step: str, calc: Calculation, conversions_only: bool = False
) -> bool:
    """Whether `calc` of `step` is a product or quotient of two quantities of the question (or results of the `earlier`
    steps) whose units compose, and the step names its result as the composition does (see the module docstring).
    `conversions_only`: accept only the readings the step must name to claim (a conversion by a unit constant, an
    amount over a rate of its unit), not a rate times a count."""
    operations = calc.expression.operations() if calc.expression is not None else []
    if len(operations) != 1 or operations[0][0] not in "*/" or len(calc.operands) != 2:
        return False
    symbol, left, right = operations[0]
    read = quantities(question)
    known = read + tuple(result for text in earlier for result in _results(text))
    lefts, rights = ([q for q in known if same_value(q.value, size)] for size in (abs(left), abs(right)))
    if not any(q.per is not None for q in lefts + rights) and not {abs(left), abs(right)} & _FACTORS:
        return False  # no rate and no unit constant: nothing composes (most calls end here)
    stated = stated_result(step, calc.stated)
    if stated is None:
        return False
    return any(
        _agrees(composed, stated)
        for a, b in product(_allowed(lefts, step, left), _allowed(rights, step, right))
        if a is not b
        for composed in _compose(symbol, a, b, read)
        if composed.must_name is not None or not conversions_only
    )


def _allowed(candidates: list[Quantity], step: str, operand: Fraction) -> list[Quantity]:
    """The quantities an operand may be that the step's own words for it allow (`100 cents x 5 days` uses 5 days, not
    the question's $5), and the operand as a unit constant."""
    size = abs(operand)
    if not candidates:
        return [Quantity(size, None, None, -1)]  # nothing to check against the step's words
    text = without_annotations(step, "=")
    written = [
        quantity_at(text, start, end, size)
        for start, end, number in numbers_in(text)
        if same_value(abs(number), size) and not RESULT_BEFORE.search(text[:start])
    ]
    return [q for q in candidates if all(_may_be(q, mine) for mine in written)] + [Quantity(size, None, None, -1)]


def _may_be(question: Quantity, written: Quantity) -> bool:
    """Whether a number the step writes may be this quantity of the question: no other unit, no other rate."""
    if written.unit is not None and not written.unit.matches(question.unit):
        return False
    return written.per is None or question.per is None or written.per.matches(question.per)


def _compose(symbol: str, a: Quantity, b: Quantity, read: tuple[Quantity, ...]) -> Iterator[Composed]:
    """What `a symbol b` is, in every reading that composes (module docstring)."""
    if symbol == "*":
        for x, y in ((a, b), (b, a)):
            if x.unit is None:
                continue
            if x.per is not None and x.per.matches(y.unit) and (y.per is not None or _the_count(y, x, read)):
                yield Composed(x.unit, y.per)  # a rate times what it is per
            for larger, smaller in _BY_FACTOR.get(y.value, ()):
                if _named(x.per, smaller):
                    yield Composed(x.unit, Noun(larger), "per")  # 50 customers a day * 7: a week
                if _named(x.unit, larger):
                    yield Composed(Noun(smaller), x.per, "unit")  # 3 hours * 60: minutes
        return
    if a.unit is None:
        return
    for larger, smaller in _BY_FACTOR.get(b.value, ()):
        if _named(a.unit, smaller):
            yield Composed(Noun(larger), a.per, "unit")  # 30 inches a day / 12: feet a day
        if _named(a.per, larger):
            yield Composed(a.unit, Noun(smaller), "per")  # 350 customers a week / 7: a day
    if a.is_count and b.per is not None and a.unit.matches(b.unit):
        yield Composed(b.per, None, "unit")  # 32 ounces / 4 ounces per cube: cubes


def _named(noun: Noun | None, name: str) -> bool:
    return noun is not None and noun.name == name


def _the_count(count: Quantity, rate: Quantity, read: tuple[Quantity, ...]) -> bool:
    """Whether `count` is the count a rate applies to: the question's only count of that thing, or one in the rate's
    own sentence (`2 times a week ... for 3 weeks`, not the 4 weeks of the sentence before)."""
    if not count.is_count:
        return False
    counts = [q for q in read if q.is_count and q.unit == count.unit]
    return count in counts and (len(counts) == 1 or count.sentence == rate.sentence)


def stated_result(step: str, value: Fraction) -> Quantity | None:
    """The result as the step writes it last (after an `=` or an annotation), with its unit and rate."""
    size = abs(value)
    written = [result for result in _results(step) if same_value(result.value, size)]
    return written[-1] if written else None


@lru_cache(maxsize=1024)
def _results(step: str) -> tuple[Quantity, ...]:
    """The results a step writes (after an `=` or an annotation), read as quantities; of no sentence of the
    question."""
    text = without_annotations(step, "=")
    return tuple(
        replace(quantity_at(text, start, end, abs(number)), sentence=-1)
        for start, end, number in numbers_in(text)
        if RESULT_BEFORE.search(text[:start])
    )


def _agrees(composed: Composed, stated: Quantity) -> bool:
    """Whether the step names its result as the composition reads it: no other unit, no other period or `per`, and
    the unit or period a conversion makes named."""
    if stated.unit is not None and not stated.unit.matches(composed.unit):
        return False
    if stated.per is not None and not stated.per.matches(composed.per):
        return False
    if composed.must_name == "unit":
        return stated.unit is not None
    if composed.must_name == "per":
        return stated.per is not None
    return True
