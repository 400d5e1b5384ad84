"""The name a clause gives its value *before* the number: `the actual temperature is 468`, `her total sales in the
first month were $400*2 = $800`, `First find the actual temperature of the oven ...: 468 - 450 = 18`, `Ali has saved
4*10 = $40`.

tracegen.verifiers.names reads the noun phrase *after* a number (`90 nongendered children`). Many lines name their
value only before it, as the subject of the clause that computes it, and money often has no noun after it at all.
This module reads that subject, the same way in a solution's line, a gold line and the question:

- in a line or gold line, for a result (a number right after an `=`), the subject of its clause: `the X is/was/are/
  were ... = N`, `find the X ...: ... = N`, `the X: ... = N`, `<Person> has ... = N`;
- in the question, a value it gives a quantity directly: `the X is N` (no word between the verb and the number).

A subject is the noun phrase after a determiner or possessive, split into its *head* (the words before its first
preposition or relative word: `actual temperature`) and its *tail* (`of the oven`); two names are the same when their
heads are, one tail starts the other (`the actual temperature` is `the actual temperature of the oven`), and their
sentences share their stage words (`will`, `now`, `left`: `His dad will be 48` is not `his dad is 43`). A person's
`has` / `saved` names money only, the name `<person> has`, and only where nothing after the value says what it is of
(`Ali has $40 in $10 bills` is true). A value that is compared (`3 apples fewer than`), an operand, or a clause that
goes on past its subject has no such name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from tracegen.annotations import without_annotations
from tracegen.steps import numbers_in
from tracegen.verifiers.answers import same_value
from tracegen.verifiers.binding import RESULT_BEFORE, lemma

_CLAUSE_START = re.compile(r"[.!?;]\s|,\s")
_LEAD = re.compile(
    r"^\s*(?:(?:so|then|thus|therefore|first|next|finally|now|and|hence|also|lastly)\s*,?\s+)*", re.IGNORECASE
)
_DETERMINER = r"(?:the|her|his|their|its|our|my|[A-Z][a-z]+['’]s)"
_VERB = r"(?:is|was|are|were|will\s+be|would\s+be|must\s+be|equals)"
_IS = re.compile(rf"^(?P<np>{_DETERMINER}\s+[^:=]*?)\s+{_VERB}\b", re.IGNORECASE)
_FIND = re.compile(
    rf"^(?:(?:we|you|i)\s+(?:need|have)\s+to\s+|let['’]s\s+|to\s+)?(?:find|calculate|compute|determine|figure\s+out|"
    rf"work\s+out)\s+(?P<np>{_DETERMINER}\s+[^:=,]*?)\s*(?=\s(?:by|using|if|we)\b|:)",
    re.IGNORECASE,
)
_COLON = re.compile(rf"^(?P<np>{_DETERMINER}\s+[^:=,]*?)\s*:", re.IGNORECASE)
_HAS = re.compile(r"^(?P<who>[A-Z][a-z]+)\s+(?:now\s+)?(?:has|had)(?:\s+saved)?\b|^(?P<saver>[A-Z][a-z]+)\s+saved\b")
_MONEY_BEFORE = re.compile(r"[$€£]\s*=?\s*$")
_PRONOUNS = frozenset("he she they it we i you who this that there".split())
_NAMED_AFTER = re.compile(r"\s*(?:[A-Za-z]+\s+)?(?:in|from|of|for|on|worth)\b", re.IGNORECASE)
_HAS_TO = re.compile(r"\s+to\b")
_GOES_ON = re.compile(
    r"\b(?:so|and|which|then|thus|because|since|is|are|was|were|that['’]s|that\s+is)\b", re.IGNORECASE
)
_QUESTION_IS = re.compile(rf"\b(?P<np>{_DETERMINER}\s+(?:[A-Za-z]+\s+){{0,3}}?[A-Za-z]+)\s+{_VERB}\s+[$€£]?\s*$")
_COMPARED = re.compile(  # `2.5 times faster`, `2/5 of`, `3 apples fewer than`, `3 minutes longer`: no value of its own
    r"\s*(?:%|[-+*/x×]\s*[$€£]?\s*[0-9(]|percent\b|times\b|of\b|as\b|than\b|(?:[A-Za-z]+\s+){0,2}?"
    r"(?:more|less|fewer|older|younger|longer|shorter|taller|heavier|lighter|higher|lower|faster|slower|bigger|"
    r"larger|smaller|cheaper|further|farther)\b)",
    re.IGNORECASE,
)
_GENERIC = frozenset("number amount count quantity sum total value".split())
_STAGE = re.compile(
    r"\b(?:will|would|now|left|remaining|still|yesterday|today|tomorrow|ago|later|in\s+\w+\s+(?:year|month|week|day)s?)\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?;](?:\s|$)")
_DROPPED = frozenset("the her his their its our my a an".split())
_SPLIT = frozenset(
    "of in for on at from to by with per after before during that which who whom whose all each when if than "
    "she he they it we you".split()
)


@dataclass(frozen=True)
class Subject:
    """A name a clause gives its value: its head (`actual temperature`) and tail (`of oven`), both singular."""

    head: str
    tail: str
    stage: frozenset[str] = frozenset()  # `will`, `now`, `left`: the same name at another time is another quantity

    def same_as(self, other: Subject) -> bool:
        return (
            self.head == other.head
            and self.stage == other.stage
            and (self.tail.startswith(other.tail) or other.tail.startswith(self.tail))
        )

    def __str__(self) -> str:
        return f"{self.head} {self.tail}".strip()


def _subject(phrase: str) -> Subject | None:
    words = [re.sub(r"['’]s$", "", w) for w in re.findall(r"[A-Za-z]+(?:['’]s)?", phrase)]
    words = [w.lower() for w in words if w not in _DROPPED and w.lower() not in _DROPPED or w.isupper()]  # `exit A`
    cut = next((i for i, w in enumerate(words) if w in _SPLIT), len(words))
    if cut and words[cut - 1] in _GENERIC and words[cut : cut + 1] == ["of"]:  # `the number of junior programmers`
        cut = next((i for i, w in enumerate(words) if w in _SPLIT and i > cut), len(words))
    if cut == 0 or words[cut - 1] in _GENERIC:
        return None  # `the number is 20/5`: a word that names nothing by itself
    return Subject(" ".join(lemma(w) for w in words[:cut]), " ".join(lemma(w) for w in words[cut:]))


def _clause_subject(clause: str, after: str) -> Subject | None:
    """The subject of `clause`, which ends where its value is written (`after` follows the value), when the rest of
    the clause only computes that value (`The jeans are $40 and they are 25% off so that's 40*.25 = $10` says no more
    of the jeans)."""
    clause = _LEAD.sub("", clause, count=1)
    has = _HAS.match(clause)
    if has is not None:
        who = has.group("who") or has.group("saver")
        # other things a person has are named after the number (`Ali has $40 in $10 bills`, `24 marbles`); `He has
        # to pay` names no one
        if (
            who.lower() in _PRONOUNS
            or _HAS_TO.match(clause, has.end())
            or not _MONEY_BEFORE.search(clause)
            or _NAMED_AFTER.match(after)
        ):
            return None
        return None if _GOES_ON.search(clause, has.end()) else Subject(f"{who.lower()} has", "")
    for pattern in (_FIND, _IS, _COLON):
        found = pattern.match(clause)
        if found is not None:
            return None if _GOES_ON.search(clause, found.end()) else _subject(found.group("np"))
    return None


def _at(subject: Subject, text: str, start: int) -> Subject:
    """`subject` with the stage words of the sentence around the number at `start` (`His dad will be 24*2 = 48`)."""
    begin = max((found.end() for found in _SENTENCE_END.finditer(text, 0, start)), default=0)
    end = _SENTENCE_END.search(text, start)
    sentence = text[begin : len(text) if end is None else end.start()]
    stage = frozenset(" ".join(word.lower().split()) for word in _STAGE.findall(sentence))
    return Subject(subject.head, subject.tail, stage)


@lru_cache(maxsize=4096)
def result_subjects(text: str) -> tuple[tuple[Fraction, Subject], ...]:
    """Each result `text` writes (a number right after an `=`, annotations read as results) with the subject of its
    clause, where it has one."""
    plain_text = without_annotations(text, "=")
    found = []
    for start, end, value in numbers_in(plain_text):
        if RESULT_BEFORE.search(plain_text[:start]) is None or _COMPARED.match(plain_text, end):
            continue  # not a result, or one compared (`Beck has 90 - 87 = 3 apples fewer than Boris`)
        subject = _clause_subject(_CLAUSE_START.split(plain_text[:start])[-1], plain_text[end:])
        if subject is not None:
            found.append((abs(value), _at(subject, plain_text, start)))
    return tuple(found)


@lru_cache(maxsize=1024)
def given_subjects(question: str) -> tuple[tuple[Fraction, Subject], ...]:
    """The values the question gives a quantity directly (`the actual temperature is 468`), with that quantity; not a
    comparison (`his speed is 2.5 times faster`, `is 5 years older than`)."""
    found = []
    for start, end, value in numbers_in(question):
        clause = _QUESTION_IS.search(question[:start])
        if clause is not None and not _COMPARED.match(question, end) and (subject := _subject(clause.group("np"))):
            found.append((abs(value), _at(subject, question, start)))
    return tuple(found)


def subject_of(text: str, value: Fraction) -> Subject | None:
    """The subject of the clause where `text` last writes `value` as a result, or None."""
    named = [subject for found, subject in result_subjects(text) if same_value(found, value)]
    return named[-1] if named else None
