"""Calculations whose operands cannot be combined that way, whatever the numbers: a unit error.

Two kinds are read, both from what the question says about the operands:

- a rate times a count of another period: the question gives `50 patients each day` and `2 weeks`,
  and the step multiplies 50 by 2 (a count of weeks times a number per day needs the 7 days of a
  week first);
- a percentage added to or taken from an amount: `10 + 60%` where the question means 60% *of*
  something (`10 + 60*.01 = 10.6` plants): a rate and an amount have different units, so their
  sum is no quantity.

Either is wrong even when its value happens to be a value of the gold chain.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

from tracegen.steps import numbers_in
from tracegen.verifiers.binding import bindings, rate_period
from tracegen.verifiers.calculations import Calculation, plain

_PERCENT_AFTER = re.compile(r"\s*(?:%|percent\b)", re.IGNORECASE)
_PERIOD_UNITS = frozenset("second minute hour day week month year".split())


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
