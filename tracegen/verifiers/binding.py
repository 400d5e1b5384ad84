"""What a value is *of*: the noun, the period and the person written around a number.

The same number can be right and still wrong: `12/4 = 3 potatoes` where the gold solution has
`12/4 = 3 onions`, `100` given to Raymond where the gold gives it to David, `$10,500 per month`
where the gold's 10,500 is paid once a year. A value's *binding* is read from the words around it:

- `nouns`: the word after the number (`more`, `extra` skipped) when the question counts it too
  (`3 onions`, `20 pounds of oats`; `5 dollars`, `12 each` bind nothing), or `times` for a
  multiplier (`25 times the size of`);
- `period`: `per day`, `a week`, `every 2 months`, `/hour`: the nearest after it in its clause, else
  the last before it in its sentence (`every month, they need 700`); where the gold solution names
  none, the one period of the values it adds the value to (the terms of a sum share a period);
- `scope`: `each` (`each class has 15`, `$3 apiece`) or `total` (`combined`, `altogether`), when its
  clause says one and not the other;
- `person`: the first name of the question in its sentence, its subject (`Raymond does 1/2*400 = 200`).

`misbinding` compares a value the solution computes with every place the gold solution writes the
same value, and speaks only when the evidence is unanimous: the gold binds the value the same way
everywhere it writes it, and the solution binds it to another of the problem's quantities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from itertools import dropwhile, takewhile

from tracegen.annotations import without_annotations
from tracegen.steps import numbers_in, split_steps
from tracegen.verifiers.answers import same_value
from tracegen.verifiers.calculations import plain
from tracegen.verifiers.values import GoldChain

_COUNTED = re.compile(
    r"(?:[0-9]|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|dozen|half|twice|double))[%$]?\s+([a-z]+)",
    re.IGNORECASE,
)
_WORDS_AFTER = re.compile(r"(?:\s*[-‐]?\s*[A-Za-z]+){1,3}")
_LETTERS = re.compile(r"[A-Za-z]+")
_PERIODS = "second|minute|hour|day|night|week|month|year|morning|afternoon|evening|meal"
_PERIOD = re.compile(
    rf"(?:\b(?:per|a|an|each|every)\s+(?:(?P<count>[0-9]+|other)\s+)?|/\s*)(?P<unit>{_PERIODS})s?\b", re.IGNORECASE
)
_POWER_BEFORE = re.compile(r"(?=[kw])\b(?:kilowatts?|watts?|kw|kwh)\s*$", re.IGNORECASE)
_DISTANCE_BEFORE = re.compile(
    r"(?=[mkfy])\b(?:miles?|kilomet(?:er|re)s?|km|met(?:er|re)s?|feet|foot|yards?)\s*$", re.IGNORECASE
)
_AMOUNT_BEFORE = re.compile(r"(?:[$€£]|[A-Za-z]['’]s\s+[$€£]?)\s*$")
_SPEED_PERIODS = frozenset("second minute hour".split())
_CLAUSE_END = re.compile(r"[.!?;:,]\s")
_NUMBER_JUST_BEFORE = re.compile(r"[0-9](?:\s*[A-Za-z]+){0,3}\s*$")
_COMPARATIVES = frozenset("more fewer less older younger longer shorter taller heavier lighter".split())
QUALIFIERS = frozenset("more fewer less extra additional other".split())  # words before a noun that are no part of it
_COMPARING = frozenset(
    "the as bigger larger longer older taller faster slower heavier his her their that what more fewer less".split()
)
_COUNTED_TIMES = re.compile(rf"[0-9]\s+times\b(?!\s+(?:{'|'.join(sorted(_COMPARING))})\b)", re.IGNORECASE)
RESULT_BEFORE = re.compile(r"=\s*[$€£]?\s*$")  # a number written right after an `=`: a result
_EACH = re.compile(rf"\b(?:each|per|apiece|every)\b(?!\s+(?:[0-9]+\s+|other\s+)?(?:{_PERIODS}))", re.IGNORECASE)
_TOTAL = re.compile(r"\b(?:total|combined|altogether|in all|all together|together)\b", re.IGNORECASE)
_NAME = re.compile(r"\b[A-Z][a-z]+\b")
_SENTENCE_END = re.compile(r"[.!?;:]\s|,\s*(?:and|so|but)\s")
NOT_NOUNS = frozenset(
    "a an the of per and or to for in on at by with from into each every more less fewer than times as is are was "
    "were "
    "be been will would can could has have had so then that this these those which who total altogether left "
    "remaining "
    "dollars dollar cents cent percent old many much twice half".split()
)
_PLURALS = frozenset("people children men women feet teeth mice geese".split())
_CALENDAR = frozenset(
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May June July August "
    "September October November December".split()
)
_NOT_A_PERSON = re.compile(r"(?:\b(?:the|a|an)|[0-9])\s+([A-Z][a-z]+)")  # `the Chinese team`, `240 Asians`: groups
_SUBJECT = re.compile(
    r"\s*(?:(?i:if|so|then|thus|and|meaning|hence|therefore|since|now|but|that|(?:that|this|which|it|so) means)\s+)*"
    r"([A-Z][a-z]+)(?:['’]s?)?\s+(?!and\b|or\b|&)"
)
_LIST_BEFORE = re.compile(r"[A-Z][a-z]+,\s*[A-Z][a-z]+,?\s*(?:and\s*)?$")
NOT_NAMES = frozenset(
    "A An The If In On At After Before When While How What Which Who Each Every Then So She He They It We You I "
    "His Her Their Its There This That These Those One Two Three Four Five Six Seven Eight Nine Ten But And Or "
    "For From To With Of By As Mr Mrs Ms Dr Calculate Find Given Since Because Last Next First Second Third "
    "Today Tomorrow Yesterday Together Meanwhile Also Finally Thus Therefore Hence Total".split()
)


FIELDS = (("period", "per"), ("person", "of"))
"""The bindings compared besides nouns. A person is only its clause's one subject (see `_subject`): read from
any name of the sentence, it raised 53 false alarms on the 2,001 correct shipped solutions, as a subject 2 (both
real slips of those solutions). Scope (`each` / `total`) is read but not compared: the gold solutions use
`total` loosely (`a total of 9+5 = 14` for one basket), so even read from the words next to the value it raised 11
more false alarms for 1 more development label."""


UNCLEAR = "?"
"""A person binding of a clause that names people, none of them as its one subject."""


@dataclass(frozen=True)
class Binding:
    nouns: frozenset[str] | None  # the question's nouns among the (up to 3) words after the number
    period: str | None
    person: str | None  # None: its clause names no one; UNCLEAR: several, or none as its subject
    scope: str | None


@lru_cache(maxsize=8192)  # a few thousand words, read for every number of every line
def lemma(word: str) -> str:
    """The singular of a plural, roughly: `horses` -> `horse`, `boxes` -> `box`, `berries` -> `berry`, `potatoes` ->
    `potato`."""
    word = word.lower()
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("oes") and not word.endswith(("hoes", "noes")):
        return word[:-2]  # `potatoes`, `tomatoes`, `heroes` (not `shoes`, `canoes`)
    if len(word) > 4 and word.endswith(("ches", "shes", "xes", "sses", "zes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def is_plural(word: str) -> bool:
    """Whether `word` is a plural noun (`apples`, `people`): where a noun phrase after a number ends."""
    return lemma(word) != word.lower() or word.lower() in _PLURALS


@lru_cache(maxsize=4096)
def question_words(question: str) -> tuple[frozenset[str], frozenset[str]]:
    """(the nouns a binding may name: those the question counts, `12 onions`; the names of people and days) of a
    question."""
    nouns = frozenset(lemma(w) for w in _COUNTED.findall(question) if w.lower() not in NOT_NOUNS and len(w) > 2)
    lower = {w.lower() for w in re.findall(r"\b[a-z]+\b", question)}
    groups = set(_NOT_A_PERSON.findall(question))
    names = frozenset(
        n
        for n in _NAME.findall(question)
        if n not in NOT_NAMES and n not in _CALENDAR and n not in groups and n.lower() not in lower
    )
    return nouns, names


def bindings(
    text: str, question: str, gold: bool = False, only: Fraction | None = None
) -> list[tuple[Fraction, Binding, bool]]:
    """Every number of `text` (annotations left out, the results written after them kept; with `only`,
    those of that value) with its binding, and whether it is a result (written after an `=` or an annotation)."""
    return list(_read(text, question, gold, only) if only is not None else _every_binding(text, question, gold))


@lru_cache(maxsize=4096)
def _every_binding(text: str, question: str, gold: bool) -> tuple[tuple[Fraction, Binding, bool], ...]:
    """The bindings of every number of a gold line or a question, read once: several checks read them all."""
    return _read(text, question, gold, None)


def _read(text: str, question: str, gold: bool, only: Fraction | None) -> tuple[tuple[Fraction, Binding, bool], ...]:
    counted, names = question_words(question)
    plain_text = without_annotations(text, "=")  # `6*3=<<6*3=18>>18` -> `6*3==18`: the result follows an `=`
    found = []
    for start, end, value in _numbers(plain_text):
        if only is not None and not same_value(abs(value), only):
            continue
        words = _WORDS_AFTER.match(plain_text, end)
        after = _LETTERS.findall(words.group(0)) if words else []
        head = _head(after, counted)
        named = frozenset({lemma(head)}) if head is not None and lemma(head) in counted else frozenset()
        if (
            after[:1] == ["times"]
            and after[1:2]
            and after[1].lower() in _COMPARING
            and not _COUNTED_TIMES.search(question)  # `rang 20 times`: `5 times more` may be an amount
        ):
            named = frozenset({"times"})  # a multiplier (`25 times the size`, `2 times more`), not an amount
        clause_before = _CLAUSE_END.split(plain_text[:start])[-1]
        clause_after = _CLAUSE_END.split(plain_text[end:])[0]
        lead = plain_text[: start - len(clause_before)]  # what comes before its clause
        binding = Binding(
            nouns=named or None,
            period=_period(plain_text, start, end, before=gold),
            person=UNCLEAR
            if after[:1] and after[0].lower() in _COMPARATIVES
            else _subject(
                lead, clause_before, clause_after, names
            ),  # `Bethany can run 10-5 = 5 more laps` than Quinn: a difference of two people's values
            scope=_scope(clause_before + " " + clause_after),
        )
        found.append((abs(value), binding, RESULT_BEFORE.search(plain_text[:start]) is not None))
    return tuple(found)


def _head(after: list[str], counted: frozenset[str]) -> str | None:
    """The noun a number counts: the last of the question's counted nouns in the noun phrase after it (`7 meatball
    sub sandwiches`: `sub`, where the question counts `meatball` and `sub`; `640 spider legs`: `legs`), else its first
    word (`more`, `extra` skipped). A compound's first words qualify the last; they are not what is counted. A plural
    ends the phrase: its first words are singular (`3 people oversee` is no compound)."""
    words = list(dropwhile(lambda word: word.lower() in QUALIFIERS, after))
    phrase = list(takewhile(lambda word: word.lower() not in NOT_NOUNS, words))
    plural = next((i for i, word in enumerate(phrase) if is_plural(word)), None)
    phrase = phrase if plural is None else phrase[: plural + 1]  # `150 people came`: a plural ends the noun phrase
    return next((word for word in reversed(phrase) if lemma(word) in counted), words[0] if words else None)


def _period(text: str, start: int, end: int, before: bool) -> str | None:
    """The period nearest after the number in its clause (`700 every 2 months`), else (`before`:
    in the gold solution, which names it first: `every month they need 700`) the last before it in its sentence."""
    clause = _CLAUSE_END.split(text[end:])[0]
    after = _PERIOD.search(clause)
    if after is not None and _rate_unit(clause[: after.start()], after):
        return None  # `12 miles per hour for 3 hours a day`: a speed, of no period
    if after is None and before:
        sentence = _SENTENCE_END.split(text[:start])[-1]
        unattached = [
            m
            for m in _PERIOD.finditer(sentence)
            if not _NUMBER_JUST_BEFORE.search(sentence[: m.start()]) and not _rate_unit(sentence[: m.start()], m)
        ]
        after = unattached[-1] if unattached else None  # `4 pieces of gum a day`: the day is 4's, not what follows
    if after is None:
        return None
    count = after.group("count")
    return f"{count.lower() + ' ' if count and count != '1' else ''}{after.group('unit').lower()}"


def rate_period(text: str, start: int, end: int) -> str | None:
    """The period the number at text[start:end] is a rate per, read before the next number (`50 patients each day`;
    not the `per day` of `2 weeks if she charges $12 per day`, which is 12's)."""
    following = next((found for found, _, _ in _numbers(text) if found >= end), len(text))
    return _period(text[:following], start, end, before=False)


def names_an_amount(step: str, value: Fraction) -> bool:
    """Whether `step` writes `value` as a sum of money (`$30000`) or as someone's (`Lylah's 30000`): a claim about a
    quantity of the problem even when no later step uses it, unlike a bare number in passing (`in 3 days`)."""
    plain_text = without_annotations(step)
    return any(
        same_value(abs(found), value) and _AMOUNT_BEFORE.search(plain_text[:start])
        for start, _, found in _numbers(plain_text)
    )


def _rate_unit(before: str, period: re.Match[str]) -> bool:
    """Whether a period is part of a unit of rate, not the period of a value: `12 kilowatts per hour` (power is
    already a rate; the gold solutions use kilowatts per hour and per day loosely), `60 miles per hour` (a speed;
    `5 miles a day` is a distance per day)."""
    if _POWER_BEFORE.search(before):
        return True
    return _DISTANCE_BEFORE.search(before) is not None and period.group("unit").lower() in _SPEED_PERIODS


def _subject(lead: str, clause_before: str, clause_after: str, names: frozenset[str]) -> str | None:
    """The person a value is of: the subject its clause opens with (`meaning David does 400/4 = 100`, `Zack's
    locker is 20`), when the clause names no one else; None when it names no one; UNCLEAR when it names people
    but none as the one subject. A name elsewhere in the clause is often an object (`she gives 3 to Ella, so she
    has 14`) or a comparison (`9 times less than Mitchel`), which says nothing of whose value it is, and so is the
    last of a list (`Tony, Bobby, and Ricky can pick 29`). Names are compared without a final `s` (`Mr. Rogers`,
    `Mr. Roger's friend`)."""
    named = {n for n in _NAME.findall(clause_before + " " + clause_after) if n in names}
    if not named:
        return None
    opening = _SUBJECT.match(clause_before)
    if opening is None or named != {opening.group(1)} or _LIST_BEFORE.search(lead):
        return UNCLEAR
    return opening.group(1).removesuffix("s")


def _scope(clause: str) -> str | None:
    """`each` (one item, one person) or `total` (all of them) when the clause says one and not the other."""
    each, total = _EACH.search(clause) is not None, _TOTAL.search(clause) is not None
    return "each" if each and not total else "total" if total and not each else None


@lru_cache(maxsize=4096)
def _numbers(text: str) -> tuple[tuple[int, int, Fraction], ...]:
    return tuple(numbers_in(text))  # a step is read once per value it computes


@lru_cache(maxsize=4096)
def gold_bindings(question: str, gold: str) -> tuple[tuple[Fraction, Binding, bool], ...]:
    return tuple(pair for step in split_steps(gold) for pair in bindings(step, question, gold=True))


@lru_cache(maxsize=4096)  # asked again for each solution of the problem
def _period_of_sum(question: str, gold: str, value: Fraction) -> frozenset[str | None] | None:
    """The period of `value` where the gold solution names none: the one period of the values it adds `value` to or
    takes it from, since the terms of a sum are of one period (the gold's `bonus 21000*.5 = 10500`, then `252,000 +
    10,500` where 252,000 is `a year`: 10,500 is a year's, and `10500 per month` misreads it)."""
    partners = [
        other
        for symbol, operands in GoldChain.of(gold).operations
        if symbol in "+-" and len(operands) == 2 and any(same_value(value, o) for o in operands)
        for other in operands
        if not same_value(value, other)
    ]
    periods = set()
    for partner in partners:
        found = {b.period for v, b, result in gold_bindings(question, gold) if result and same_value(v, partner)}
        periods |= found
    return frozenset(periods) if len(periods) == 1 and None not in periods else None


@lru_cache(maxsize=4096)  # asked again for each solution of the problem
def _gold_written(question: str, gold: str, value: Fraction) -> tuple[Binding, ...]:
    """The bindings of `value` where the gold solution concludes it, else everywhere it writes it."""
    written = [
        (binding, result) for found, binding, result in gold_bindings(question, gold) if same_value(found, value)
    ]
    return tuple([binding for binding, result in written if result] or [binding for binding, _ in written])


def misbinding(question: str, gold: str, step: str, value: Fraction) -> str | None:
    """Why `value`, as `step` writes it last, is bound to another quantity than where the gold
    solution concludes it (every place, else every place it writes it); None when it is not."""
    size = abs(value)
    theirs = _gold_written(question, gold, size)
    if not theirs:
        return None  # the gold solution never writes it: nothing to compare, the line need not be read
    mine = [binding for _, binding, _ in sorted(bindings(step, question, only=size), key=lambda found: found[2])]
    if not mine:
        return None
    every_gold = gold_bindings(question, gold)
    last = mine[-1]
    gold_nouns = {b.nouns for b in theirs}
    if last.nouns == {"times"} and all(b.nouns != {"times"} for b in theirs):
        return (
            f"{plain(value)} is a multiplier (`{plain(value)} times`), where the gold solution has "
            f"{plain(value)} as an amount"
        )
    if last.nouns is not None and None not in gold_nouns and all(not (nouns & last.nouns) for nouns in gold_nouns):
        other_quantities = frozenset().union(*(b.nouns for _, b, _ in every_gold if b.nouns is not None))
        if (
            last.nouns <= other_quantities
        ):  # a noun the gold binds to other values: another quantity, not another wording
            return (
                f"{plain(value)} {' '.join(sorted(last.nouns))}, where the gold solution has {plain(value)} "
                f"{' / '.join(sorted(' '.join(sorted(n)) for n in gold_nouns))}"
            )
    for field, what in FIELDS:
        have = getattr(last, field)
        gold_have = {getattr(b, field) for b in theirs} - {UNCLEAR}  # a clause of several people does not vote
        if field == "period" and gold_have == {None}:
            gold_have = _period_of_sum(question, gold, abs(value)) or gold_have
        if have in (None, UNCLEAR) or None in gold_have or not gold_have or have in gold_have:
            continue
        return (
            f"{plain(value)} {what} {have}, where the gold solution has {plain(value)} {what} "
            f"{' or '.join(sorted(gold_have))}"
        )
    return None
