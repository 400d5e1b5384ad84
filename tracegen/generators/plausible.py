"""Plausibility: which wrong values read like a model's slip (`slips`, `misquotes`) and which are
absurd (`sensible`)."""

from __future__ import annotations

import re
from fractions import Fraction

from tracegen.steps import decimal_places

ABSURD_FACTOR = 100  # a wrong value more than this many times the gold one (and over 1000) is absurd


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
    return (
        abs(new_n) <= 1000 * new_d or abs(new_n) * old_d <= ABSURD_FACTOR * abs(old_n) * new_d
    )  # |new| <= max(1000, factor * |old|)


def unique_values(candidates: list[tuple[Fraction, str]]) -> list[tuple[Fraction, str]]:
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
    return [(v, why) for v, why in unique_values(candidates) if sensible(v, value, like)]


def digit_swaps(literal: str) -> list[str]:
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
    found = [(s, "digits swapped") for s in digit_swaps(literal)]
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
