"""A value that contradicts the problem: the line names a quantity the gold solution gives another value.

`misbinding` (tracegen.verifiers.binding) asks where the gold writes the line's *number*; this asks where the gold
writes the line's *quantity*. A line that says `Jon's total time was 40+1+20+50 = 111 minutes` where the gold's
total time is 170 minutes states something false, whether or not a later line uses 111. "The same quantity" is read,
never guessed, and strictly, since correct solutions name things loosely (measured on the 2,001 correct shipped
solutions):
- the line names a person as its clause's one subject and a noun the question counts (binding.bindings);
- a gold result names the same quantity when it has the same noun, period and scope (`each` / `total` / neither),
  the same person (or no one, where both call the value a total), and its line the same time words (`yesterday`,
  `after`, `in three years`, `left`, `so far`): a person's count of a thing changes from one time to another;
- the gold's results naming that quantity have one value, and the line's value is none of the gold's (a gold value
  bound elsewhere is binding.misbinding's question).
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

from tracegen.steps import split_steps
from tracegen.verifiers.answers import same_value
from tracegen.verifiers.binding import UNCLEAR, Binding, bindings, question_words
from tracegen.verifiers.calculations import plain
from tracegen.verifiers.values import GoldChain, contains

_WHEN = re.compile(  # `(?=[a-z])`: what every match starts with, so the scan skips the rest fast
    r"(?=[a-z])\b(?:yesterday|today|tomorrow|tonight|now|after|before|later|ago|far|then|still|left|remaining|first|second|"
    r"third|last|next|this|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"in\s+\w+\s+(?:year|month|week|day|hour|minute)s?)\b",
    re.IGNORECASE,
)


def _when(text: str) -> frozenset[str]:
    """The words of a line that say at what time or stage its values hold (`yesterday`, `after`, `in three years`,
    `left`, `so far`): the same person's count of the same thing differs from one time to another."""
    return frozenset(" ".join(found.lower().split()) for found in _WHEN.findall(text))


@lru_cache(maxsize=1024)
def _gold_results(question: str, gold: str) -> tuple[tuple[Fraction, Binding, frozenset[str]], ...]:
    """Each result of the gold solution with its binding and the time words of its line."""
    return tuple(
        (found, binding, _when(step))
        for step in split_steps(gold)
        for found, binding, result in bindings(step, question, gold=True)
        if result
    )


def _same_quantity(mine: Binding, theirs: Binding) -> bool:
    """Whether a gold result's binding names the line's quantity: the same counted noun and period, and the line's
    person, or no one where both call the value a total (the gold solutions often leave the subject out: `So his
    total time was 170 minutes`)."""
    if theirs.nouns != mine.nouns or theirs.period != mine.period or theirs.scope != mine.scope:
        return False
    return theirs.person == mine.person or (theirs.person is None and mine.scope == "total")


def contradicts_gold(question: str, gold: str, step: str, value: Fraction) -> str | None:
    """Why `value`, the last result `step` computes, contradicts the one value the gold solution gives the quantity the
    line names it as; None when it does not. A line with no one as its subject (`she has a total of 55 eggs`) is not
    read: measured, it flagged true running totals of correct solutions (5 more false alarms on the shipped file)."""
    if contains(GoldChain.of(gold).quantities, abs(value)):
        return None  # a gold value: whether it is bound to the gold's quantity is binding.misbinding's question
    if not any(name in step for name in question_words(question)[1]):
        return None  # no person of the question in the line: no binding of it can name one (read no further)
    mine = [binding for found, binding, result in bindings(step, question, only=abs(value)) if result]
    if not mine or mine[-1].person in (None, UNCLEAR) or not mine[-1].nouns or mine[-1].nouns == {"times"}:
        return None  # names no person, or no thing the question counts, or a multiplier
    when = _when(step)
    theirs = {
        found
        for found, binding, gold_when in _gold_results(question, gold)
        if gold_when == when and _same_quantity(mine[-1], binding)
    }
    if len(theirs) != 1:
        return None
    (other,) = theirs
    if same_value(other, abs(value)):
        return None
    named = " ".join(sorted(mine[-1].nouns)) + (f" per {mine[-1].period}" if mine[-1].period else "")
    return f"{plain(value)} {named} of {mine[-1].person}, where the gold solution has {plain(other)}"
