"""A value that contradicts the problem: the line names a quantity the gold solution gives another value.

`misbinding` (tracegen.verifiers.binding) asks where the gold writes the line's *number*; this asks where the gold
writes the line's *quantity*. A line that says `Jon's total time was 40+1+20+50 = 111 minutes` where the gold's
total time is 170 minutes states something false, whether or not a later line uses 111. The match is strict, since
correct solutions name things loosely (measured on the 2,001 correct shipped solutions): the line names a person as
its clause's one subject and a total (`total`, `in all`...) of a noun the question counts, of a period or none; the
gold's results bound as a total of the same noun and period, of that person or of no one, have one value; the
line's value is none of the gold's. Without the total (person, noun and period alone) a running amount (`Dean has
30 - 6 = 24 marbles`) matched a later state of the same thing: 11 more false alarms.
"""

from __future__ import annotations

from fractions import Fraction

from tracegen.verifiers.answers import same_value
from tracegen.verifiers.binding import UNCLEAR, Binding, bindings, gold_bindings
from tracegen.verifiers.calculations import plain
from tracegen.verifiers.values import GoldChain, contains


def _key(binding: Binding) -> tuple[frozenset[str], str | None] | None:
    """The quantity a binding names as a whole, when it names one fully: a total of a counted noun (a multiplier is
    none), of a period or none."""
    if binding.scope != "total" or not binding.nouns or binding.nouns == {"times"}:
        return None
    return binding.nouns, binding.period


def _same_person(mine: str, gold: str | None) -> bool:
    """Whether the gold's person binding may be the line's person: the same name, or none (the gold solutions often
    leave the subject out: `So his total time was 170 minutes`)."""
    return gold is None or gold == mine


def contradicts_gold(question: str, gold: str, step: str, value: Fraction) -> str | None:
    """Why `value`, the last result `step` computes and names, contradicts the value the gold solution gives the same
    quantity (a total of the same noun and period, of the person the line names as its subject); None when the gold
    gives that quantity no one other value. A gold value is left to `binding.misbinding`, which asks whether it is
    bound as the gold binds it; a line with no one as its subject (`she has a total of 55 eggs`) is not read: measured,
    it flagged true running totals of correct solutions (6 false alarms on the shipped file)."""
    if contains(GoldChain.of(gold).quantities, abs(value)):
        return None  # a gold value: whether it is bound to the gold's quantity is binding.misbinding's question
    mine = [binding for found, binding, result in bindings(step, question, only=abs(value)) if result]
    key = _key(mine[-1]) if mine else None
    if key is None:
        return None
    person = mine[-1].person
    if person in (None, UNCLEAR):
        return None
    theirs = {
        found
        for found, binding, result in gold_bindings(question, gold)
        if result and _key(binding) == key and binding.person != UNCLEAR and _same_person(person, binding.person)
    }
    if len(theirs) != 1:
        return None
    (other,) = theirs
    if same_value(other, abs(value)):
        return None
    nouns, period = key
    named = " ".join(part for part in ("total", " ".join(sorted(nouns)), f"per {period}" if period else "") if part)
    return f"{plain(value)} {named}, where the gold solution's is {plain(other)}"
