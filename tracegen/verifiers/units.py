"""Calculations whose operands cannot be combined that way, whatever the numbers: a unit error.

Four kinds are read, all from what the question says about the operands:

- a rate times a count of another period: the question gives `50 patients each day` and `2 weeks`,
  and the step multiplies 50 by 2 (a count of weeks times a number per day needs the 7 days of a
  week first);
- a percentage added to or taken from an amount: `10 + 60%` where the question means 60% *of*
  something (`10 + 60*.01 = 10.6` plants): a rate and an amount have different units, so their
  sum is no quantity;
- a number per item times the count of items, called a number per item: `Each floor contains 8
  units` and `15 floors`, then `15*8 = 120 units on each floor` (120 is the building's);
- a number of things per period times a count of periods, called a number of another thing: `4
  times a week` and `6 weeks`, then `6*4 = 24 hours` (24 classes).

Each is wrong even when its value happens to be a value of the gold chain.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

from tracegen.annotations import without_annotations
from tracegen.steps import numbers_in
from tracegen.verifiers.binding import bindings, lemma, rate_period
from tracegen.verifiers.calculations import Calculation, plain

_PERCENT_AFTER = re.compile(r"\s*(?:%|percent\b)", re.IGNORECASE)
_PERIOD_UNITS = frozenset("second minute hour day week month year".split())
_CLAUSE = re.compile(r"[.!?;:,]\s|\s(?:and|so|but|which|because)\s")
_EACH_NOUN = re.compile(r"\b(?:each|every|per)\s+([a-z]+)", re.IGNORECASE)
_OWNED = re.compile(r"[0-9]\s+[A-Za-z]+\s*$")  # `2 hours each`: the `each` of the number before it
_TIMES = re.compile(r"\s+times\s+(?:a|an|per|each|every)\s", re.IGNORECASE)
_NOT_ITEMS = frozenset("one other of time".split())


@lru_cache(maxsize=4096)
def _question_units(question: str) -> tuple[dict[Fraction, str], dict[Fraction, str], frozenset[Fraction]]:
    """(value -> the period it is a rate per, value -> the period it counts, the question's percentages as rates),
    for the values the question writes once (a value written twice may be either). A number of periods per period
    (`5 days a week`, `50 weeks a year`) is no rate of things: `1 hour` of yoga on those days is per day."""
    found = bindings(question, question)
    spans = numbers_in(question)
    seen: dict[Fraction, int] = {}
    for value, _, _ in found:
        seen[value] = seen.get(value, 0) + 1
    per, counts = {}, {}
    for i, ((value, binding, _), (start, end, _)) in enumerate(zip(found, spans)):
        if seen[value] != 1:
            continue
        following = spans[i + 1][0] if i + 1 < len(spans) else len(question)
        after = _CLAUSE.split(question[end:following])[0]
        before = _CLAUSE.split(question[:start])[-1]
        each_before = [m for m in _EACH_NOUN.finditer(before) if not _OWNED.search(before[: m.start()])]
        own_each = _EACH_NOUN.search(after) is not None or bool(each_before)  # `3 hours each time`, `Each patient
        # is seen for 24 minutes`; not `2 hours each time for 6 weeks`, whose `each` is the 2's
        period = binding.period if binding.period is None else rate_period(question, start, end)
        if period is not None and period in _PERIOD_UNITS and not (binding.nouns or set()) & _PERIOD_UNITS:
            per[value] = period
        if (
            not question.startswith("-", end)  # `a 7-day week`: 7 counts days, in a word that names a week
            and binding.period is None
            and not own_each
            and binding.nouns is not None
            and len(binding.nouns) == 1
            and (noun := next(iter(binding.nouns))) in _PERIOD_UNITS
        ):
            counts[value] = noun
    rates = frozenset(abs(value) / 100 for _, end, value in spans if _PERCENT_AFTER.match(question, end))
    return per, counts, rates


@lru_cache(maxsize=4096)
def _each(question: str) -> dict[Fraction, str]:
    """value -> the noun its clause gives it for each one of (`Each floor contains 8 units`: 8 -> floor), for the
    values the question writes once."""
    spans = numbers_in(question)
    values = [abs(value) for _, _, value in spans]
    found = {}
    for start, end, value in spans:
        clause = _CLAUSE.split(question[:start])[-1] + " " + _CLAUSE.split(question[end:])[0]
        nouns = {lemma(noun) for noun in _EACH_NOUN.findall(clause)} - _NOT_ITEMS
        if values.count(abs(value)) == 1 and len(nouns) == 1:
            found[abs(value)] = nouns.pop()
    return found


@lru_cache(maxsize=4096)
def _counted_nouns(question: str) -> dict[Fraction, str]:
    """value -> the one noun the question counts with it (`15 floors`: 15 -> floor; `4 times a week`: 4 -> time)."""
    found = {}
    for (value, binding, _), (_, end, _) in zip(bindings(question, question), numbers_in(question)):
        if binding.nouns is not None and len(binding.nouns) == 1:
            found.setdefault(value, next(iter(binding.nouns)))
        elif _TIMES.match(question, end):
            found.setdefault(value, "time")
    return found


def per_item_total(question: str, calc: Calculation, step: str) -> str | None:
    """Why `calc`, a number per item times the count of items (`8 units on each floor * 15 floors`), is called a
    number per item in `step` (`120 units on each floor`); None when it is not."""
    operations = calc.expression.operations() if calc.expression is not None else []
    if len(operations) != 1 or operations[0][0] != "*":
        return None
    _, left, right = operations[0]
    each, counted = _each(question), _counted_nouns(question)
    items = [per for per, count in ((left, right), (right, left)) if per in each and counted.get(count) == each[per]]
    if not items:
        return None  # no number per item times the count of items: the step's words need no reading
    ends = [end for _, end, value in numbers_in(without_annotations(step)) if abs(value) == abs(calc.stated)]
    if not ends:
        return None
    said = {lemma(noun) for noun in _EACH_NOUN.findall(_CLAUSE.split(without_annotations(step)[ends[-1] :])[0])}
    for per in items:
        if each[per] in said:
            return f"{plain(calc.stated)} is all the {each[per]}s' together, not one {each[per]}'s"
    return None


def rate_product_named(question: str, calc: Calculation, step: str) -> str | None:
    """Why a number of things per period times a count of periods (`4 times a week` * `6 weeks`) is called a number of
    another thing the question counts (`= 24 hours`): it counts the rate's things (24 times); None when it is not."""
    operations = calc.expression.operations() if calc.expression is not None else []
    if len(operations) != 1 or operations[0][0] != "*":
        return None
    per, counts, _ = _question_units(question)
    counted = _counted_nouns(question)
    for rate, count in (operations[0][1:], operations[0][2:0:-1]):
        if rate in per and counts.get(count) == per[rate] and rate in counted:
            said = {
                next(iter(binding.nouns))
                for _, binding, result in bindings(step, question, only=abs(calc.stated))
                if result and binding.nouns is not None and len(binding.nouns) == 1
            }
            if len(said) == 1 and (other := said.pop()) not in (counted[rate], per[rate]):
                return f"{plain(calc.stated)} counts {counted[rate]}s ({plain(rate)} a {per[rate]}), not {other}s"
    return None


def unit_error(question: str, calc: Calculation, gold_operations: frozenset = frozenset()) -> str | None:
    """Why `calc` combines two of the question's quantities that cannot be combined so; None when it does not, or
    when the gold solution makes the same operation (`gold_operations`: (symbol, {operands})), which settles it."""
    if calc.expression is None or any(
        (symbol, frozenset((left, right))) in gold_operations for symbol, left, right in calc.expression.operations()
    ):
        return None
    per, counts, rates = _question_units(question)
    operations = calc.expression.operations()
    for symbol, left, right in operations:
        if symbol == "*" and len(operations) == 1:
            for rate, count in ((left, right), (right, left)):
                if rate in per and count in counts and per[rate] != counts[count]:
                    return (
                        f"{plain(rate)} a {per[rate]} times {plain(count)} {counts[count]}s: a count of "
                        f"{counts[count]}s times a number per {per[rate]}"
                    )
        if symbol in "+-":
            for rate, amount in ((left, right), (right, left)):
                if rate in rates and amount not in rates and amount > 1 and amount not in (100, rate * 100):
                    return f"{plain(amount)} {symbol} {plain(rate * 100)}%: a percentage added to an amount"
    return None
