"""Calculations whose operands cannot be combined that way, whatever the numbers: a unit error.

Three kinds are read, all from what the question says about the operands:

- a rate times a count of another period: the question gives `50 patients each day` and `2 weeks`,
  and the step multiplies 50 by 2 (a count of weeks times a number per day needs the 7 days of a
  week first);
- a percentage added to or taken from an amount: `10 + 60%` where the question means 60% *of*
  something (`10 + 60*.01 = 10.6` plants): a rate and an amount have different units, so their
  sum is no quantity;
- a number per item times the count of items, called a number per item: `Each floor contains 8
  units` and `15 floors`, then `15*8 = 120 units on each floor` (120 is the building's).

Each is wrong even when its value happens to be a value of the gold chain.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

from tracegen.steps import numbers_in
from tracegen.verifiers.binding import bindings, lemma, rate_period
from tracegen.verifiers.calculations import Calculation, plain

_PERCENT_AFTER = re.compile(r"\s*(?:%|percent\b)", re.IGNORECASE)
_PERIOD_UNITS = frozenset("second minute hour day week month year".split())
_ANNOTATION = re.compile(r"<<[^<>]*>>")
_CLAUSE = re.compile(r"[.!?;:,]\s|\s(?:and|so|but|which|because)\s")
_EACH_NOUN = re.compile(r"\b(?:each|every|per)\s+([a-z]+)", re.IGNORECASE)
_NOT_ITEMS = frozenset("one other of time".split())


@lru_cache(maxsize=4096)
def _question_units(question: str) -> tuple[dict[Fraction, str], dict[Fraction, str], frozenset[Fraction]]:
    """(value -> the period it is a rate per, value -> the period it counts, the question's percentages as rates),
    for the values the question writes once (a value written twice may be either)."""
    found = bindings(question, question)
    spans = numbers_in(question)
    seen: dict[Fraction, int] = {}
    for value, _, _ in found:
        seen[value] = seen.get(value, 0) + 1
    per, counts = {}, {}
    for (value, binding, _), (start, end, _) in zip(found, spans):
        if seen[value] != 1:
            continue
        period = binding.period if binding.period is None else rate_period(question, start, end)
        if period is not None and period in _PERIOD_UNITS:
            per[value] = period
        if (
            not question.startswith("-", end)  # `a 7-day week`: 7 counts days, in a word that names a week
            and binding.period is None
            and binding.scope != "each"
            and binding.nouns is not None
            and len(binding.nouns) == 1
            and (noun := next(iter(binding.nouns))) in _PERIOD_UNITS
        ):
            counts[value] = noun
    rates = frozenset(abs(value) / 100 for _, end, value in spans if _PERCENT_AFTER.match(question, end))
    return per, counts, rates


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


def _counted_nouns(question: str) -> dict[Fraction, str]:
    """value -> the one noun the question counts with it (`15 floors`: 15 -> floor)."""
    found = {}
    for value, binding, _ in bindings(question, question):
        if binding.nouns is not None and len(binding.nouns) == 1:
            found.setdefault(value, next(iter(binding.nouns)))
    return found


def per_item_total(question: str, calc: Calculation, step: str) -> str | None:
    """Why `calc`, a number per item times the count of items (`8 units on each floor * 15 floors`), is called a
    number per item in `step` (`120 units on each floor`); None when it is not."""
    operations = calc.expression.operations() if calc.expression is not None else []
    if len(operations) != 1 or operations[0][0] != "*":
        return None
    _, left, right = operations[0]
    each, counted = _each(question), _counted_nouns(question)
    ends = [end for _, end, value in numbers_in(_ANNOTATION.sub(" ", step)) if abs(value) == abs(calc.stated)]
    if not ends:
        return None
    said = {lemma(noun) for noun in _EACH_NOUN.findall(_CLAUSE.split(_ANNOTATION.sub(" ", step)[ends[-1] :])[0])}
    for per, count in ((left, right), (right, left)):
        if per in each and counted.get(count) == each[per] and each[per] in said:
            return f"{plain(calc.stated)} is all the {each[per]}s' together, not one {each[per]}'s"
    return None


def unit_error(question: str, calc: Calculation) -> str | None:
    """Why `calc` combines two of the question's quantities that cannot be combined so; None when it does not."""
    if calc.expression is None:
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
