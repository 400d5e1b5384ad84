"""A gold value given the name of another quantity: `3*30 = 90 nongendered children` where the gold's 90 is girls.

A line whose value is on the gold chain passes the value checks, yet it can still call that value something it is
not, and the next line, which builds on the wrong meaning, was blamed instead. binding.misbinding compares nouns the
*question* counts (`3 onions`) and people's names; many names are written only in the gold solution (`27 people`
where the question says `25 classmates`), and read from the gold's own words a noun is often a synonym (`video
games` / `games`), which an earlier round measured at 25 more false alarms. So the name is compared strictly, as the
name of a *different* quantity of the problem, never as another wording:

- a value's *name* is the noun phrase right after it, up to its plural head (`27 people who`, `8 pieces of paper`,
  `90 nongendered children`), read the same way in the line, the gold solution and the question; a rate's noun
  (`2 pillow cases/sheet`, `4 pieces per minute`) is a unit, not a name; money is named by what it buys (`$3.75 on
  candy bars`); a measure word's `of` phrase names the value too (`4 sets of sheets`), and so does what the line's
  clause sets out to find (`the number of cupcakes`, `how many cupcakes`); the question's ask names the gold answer;
- the line's name is wrong when the problem writes exactly that name after other values and never after this one,
  the gold names this value itself (`90 girls`; a purchase is specific enough without: `George spent $4.95
  because`, then `3.75 on candy bars`), its name is no kind that other values have too (`90 flowers`,
  `50 flowers`: `50 petunias` may be one of them), `people` is never the other name (every group of people is
  people), and the line's name is not that of a sum this value is a term of (`25 bugs + 50 ants = 75 insects`:
  `25 insects` is true);
- or the line gives the value to a named person where the gold's line gives it to someone it calls by a role (`Her
  sister gathered 30*2 = 60 apples`, the line: `Joanne gathered 30*2 = 60 apples`);
- or the subject of the line's clause (`her total sales in the first month were $400*2 = $800`) is the name the
  question or a gold line gives exactly one other value (`$800+$400 = $1200`) and never this one
  (tracegen.verifiers.subjects);
- and in each, the solution acts on the wrong name: a later calculation uses the value and leaves the gold chain.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache
from itertools import dropwhile, takewhile

from tracegen.annotations import without_annotations
from tracegen.steps import numbers_in, split_steps
from tracegen.verifiers.answers import final_value, same_value
from tracegen.verifiers.binding import NOT_NOUNS, QUALIFIERS, RESULT_BEFORE, UNCLEAR, bindings, is_plural, lemma
from tracegen.verifiers.calculations import Calculation, calculations, plain
from tracegen.verifiers.subjects import given_subjects, result_subjects, subject_of
from tracegen.verifiers.values import GoldChain, contains

_WORDS_AFTER = re.compile(r"(?:\s*[-‐]?\s*[A-Za-z]+){1,4}")
_TEXT_AFTER = re.compile(r"(?:\s*[-‐]?\s*[A-Za-z0-9]+){1,4}")  # `200 segments of 2 miles`
_QUALIFIERS = QUALIFIERS | frozenset("new whole full total".split())
_NOT_NOUNS = NOT_NOUNS | frozenset(
    "onto over under after before during about around towards across through whom time x it its he she they we "
    "you i his her their our my your if but not do does did".split()
)
_ROLES = (
    "sister|brother|mother|father|mom|dad|friend|son|daughter|wife|husband|teacher|cousin|aunt|uncle|grandma|"
    "grandpa|grandmother|grandfather|neighbor|neighbour|boss|partner|classmate|coach|sibling|parent|child|boyfriend|"
    "girlfriend|roommate"
)
_ROLE = re.compile(rf"\b(?:{_ROLES})s?\b", re.IGNORECASE)
_ROLE_SUBJECT = re.compile(
    rf"\s*(?:(?:so|then|thus|and|also|now)\s*,?\s+)*(?:his|her|their|the|my)\s+(?:\w+\s+)?({_ROLES})s?\b",
    re.IGNORECASE,
)
_RATE_WORDS = frozenset("per each apiece every".split())
_SLASH = re.compile(r"\s*/")
_ASK = re.compile(r"\bhow\s+many\b", re.IGNORECASE)
_NUMBER_OF = re.compile(r"\b(?:(?:number|amount|count)\s+of\s+(?:the\s+)?|how\s+many\b)", re.IGNORECASE)
_CLAUSE_START = re.compile(r"[.!?;]\s")
_OF = re.compile(r"\s*[A-Za-z]+\s+of\b")
_ON = "on "
_SPENT_ON = re.compile(r"\s+on\s+(?=[A-Za-z])", re.IGNORECASE)
_SAME_THING = {"persons": "person", "people": "person", "kids": "child", "children": "child"}


def _name(text: str, end: int) -> str | None:
    """The noun phrase after the number ending at `end`, up to its plural head (`nongendered children` ->
    `nongendered child`, `pieces of paper` -> `piece`, `sports cards` -> `sport card`), qualifiers (`more`,
    `other`) skipped; None for a singular or no noun (`1 more`, `5 each`, `3 eat`)."""
    spent = _SPENT_ON.match(text, end)
    if spent is not None:
        name = _name(text, spent.end())
        return None if name is None else _ON + name  # `$3.75 on candy bars`: money named by what it buys
    words = _WORDS_AFTER.match(text, end)
    after = re.findall(r"[A-Za-z]+", words.group(0)) if words else []
    phrase = list(
        takewhile(lambda w: w.lower() not in _NOT_NOUNS, dropwhile(lambda w: w.lower() in _QUALIFIERS, after))
    )
    plural = next((i for i, w in enumerate(phrase) if is_plural(w)), None)
    if plural is None:
        return None
    while plural + 1 < len(phrase) and is_plural(phrase[plural + 1]):
        plural += 1  # `sports cards`: a compound of plurals ends at its last
    rest = after[after.index(phrase[plural]) + 1 :]
    if rest[:1] and rest[0].lower() in _RATE_WORDS or (words and _SLASH.match(text, words.end()) and not rest):
        return None  # `2 pillow cases/sheet`, `4 pieces per minute`: a rate, whose noun is a unit, not its name
    words_of = [_SAME_THING.get(w.lower(), lemma(w)) for w in phrase[: plural + 1]]
    return " ".join(words_of)


def _other_names(text: str, value: Fraction) -> list[str]:
    """More names `text` gives `value` where it writes it last as a result: the `of` phrase after a measure word
    (`4 sets of sheets`: `sheet`), and what its clause says it is the number of (`the total number of cupcakes
    Carly makes: 5 * 2 = 10 cups`: `cupcake`)."""
    plain_text = without_annotations(text, "=")
    places = [
        (start, end)
        for start, end, found in numbers_in(plain_text)
        if same_value(abs(found), value) and RESULT_BEFORE.search(plain_text[:start])
    ]
    if not places:
        return []
    start, end = places[-1]
    of = _OF.match(plain_text, end)
    clause = _CLAUSE_START.split(plain_text[:start])[-1]
    lead = _NUMBER_OF.search(clause)  # the first: what a line sets out to find comes before how it finds it
    names = [
        None if of is None else _name(plain_text, of.end()),
        None if lead is None else _name(plain_text, start - len(clause) + lead.end()),
    ]
    return [name for name in names if name is not None]


@lru_cache(maxsize=4096)
def _names(text: str) -> tuple[tuple[Fraction, str | None, bool], ...]:
    """Each number of `text` (annotations left out, results kept) with its name and whether it is a result."""
    plain_text = without_annotations(text, "=")
    return tuple(
        (abs(value), _name(plain_text, end), RESULT_BEFORE.search(plain_text[:start]) is not None)
        for start, end, value in numbers_in(plain_text)
    )


@lru_cache(maxsize=1024)
def _problem_names(question: str, gold: str) -> tuple[tuple[Fraction, str | None], ...]:
    """Every number the question and the gold solution write, with its name, and the gold answer with the name the
    question asks for (`how many cupcakes did Carly make`)."""
    written = [(value, name) for text in (question, *split_steps(gold)) for value, name, _ in _names(text)]
    answer, ask = final_value(gold), _ASK.search(question)
    if answer is not None and ask is not None:
        written.append((abs(answer), _name(question, ask.end())))
    return tuple(written)


@lru_cache(maxsize=1024)
def _gold_calculations(gold: str) -> tuple[tuple[str, tuple[Fraction, ...], Fraction, bool], ...]:
    """(its step, its operands sorted, its result, whether it is a sum) of each calculation of the gold solution."""
    return tuple(
        (
            step,
            tuple(sorted(abs(operand) for operand in calc.operands)),
            abs(calc.result),
            calc.expression is not None and all(op[0] == "+" for op in calc.expression.operations()),
        )
        for step in split_steps(gold)
        for calc in calculations(step)
        if calc.computes
    )


def misnamed(
    question: str, gold: str, step: str, calc: Calculation, later: Sequence[Sequence[Calculation]]
) -> str | None:
    """Why the value `calc` computes, as `step` concludes it, carries the name the problem gives another value and
    the solution acts on that name: a `later` calculation uses it and leaves the gold chain (`27 cupcakes`, then
    `27 / 2`); None when it does not. The gold lines that compute the value say what it is. A misnaming the
    solution goes on to use as the gold does is a slip of wording (`1.5*100 = 150 pages`, then `150*2 = 300`
    pages) that correct solutions make too (16 more false alarms on the shipped correct solutions without it)."""
    value = abs(calc.stated)
    gold_steps = [gold_step for gold_step, found, result, _ in _gold_calculations(gold) if same_value(result, value)]
    if not gold_steps or not _acted_on(gold, value, later):
        return None
    return (
        _named_as_other(question, gold, step, value, gold_steps)
        or _owned_by_other(question, step, value, gold_steps)
        or _subject_of_other(question, gold, step, value)
    )


def _named_as_other(question: str, gold: str, step: str, value: Fraction, gold_steps: list[str]) -> str | None:
    """The line's noun for `value` is the problem's noun for other values, never for this one (`27 cupcakes`)."""
    mine = [name for found, name, result in _names(step) if result and same_value(found, value)]
    if not mine:
        return None
    own = {n for gold_step in gold_steps for found, n, _ in _names(gold_step) if same_value(found, value)}
    own.discard(None)
    for name in (*mine[-1:], *_other_names(step, value)):
        if name is None:
            continue
        others = _other_values_named(question, gold, name, value, own)
        # a purchase names one thing (`on candy bars`), so a gold that leaves its sum unnamed (`George spent $4.95
        # because`) still says it is not this one; a noun may be a unit of several values, and needs the gold's name
        named = bool(own) or name.startswith(_ON)
        if named and others and not any(_head(name) in _words_after(gold_step, value) for gold_step in gold_steps):
            break
    else:
        return None  # the gold leaves it unnamed, or writes the line's noun with it (`200 bags of apples`)
    gold_name = f"{plain(value)} {' / '.join(sorted(own))}" if own else f"{plain(value)} unnamed"
    return (
        f"{plain(value)} {name}, where the gold solution has {gold_name} and "
        f"{' / '.join(plain(other) for other in others)} {name}"
    )


def _owned_by_other(question: str, step: str, value: Fraction, gold_steps: list[str]) -> str | None:
    """The line gives `value` to a person (its clause's one subject) where the gold's line gives it to someone the
    gold calls by a role (`Her sister gathered 30*2 = 60 apples`; binding.misbinding compares two names). Not read
    when the line says the role too (`Joanne's sister gathered 60`)."""
    mine = [binding.person for _, binding, result in bindings(step, question, only=value) if result]
    if not mine or mine[-1] in (None, UNCLEAR) or _ROLE.search(step) or any(mine[-1] in g for g in gold_steps):
        return None  # no one's, a role said too, or a gold line that computes the value names the person
    for gold_step in gold_steps:
        role = _ROLE_SUBJECT.match(without_annotations(gold_step))
        if role is not None:
            return f"{plain(value)} of {mine[-1]}, where the gold solution has {plain(value)} of the {role.group(1)}"
    return None


def _subject_of_other(question: str, gold: str, step: str, value: Fraction) -> str | None:
    """The subject of the line's clause (`her total sales in the first month were $400*2 = $800`) is the subject the
    question or a gold line gives other values (`Her total sales in the first month are $800+$400 = $1200`) and never
    this one (tracegen.verifiers.subjects)."""
    mine = subject_of(step, value)
    if mine is None:
        return None
    written = [
        *given_subjects(question),
        *(
            named
            for gold_step in split_steps(gold)
            for named in (*result_subjects(gold_step), *given_subjects(gold_step))
        ),
    ]
    if any(same_value(found, value) and subject.same_as(mine) for found, subject in written):
        return None
    others = {found for found, subject in written if subject.same_as(mine)}
    if len(others) != 1:
        return None  # unnamed, or a name of several values (`the total number of legs` of tables, then of chairs)
    return f"{plain(value)} as {mine}, where the problem's {mine} is {plain(others.pop())}"


def _other_values_named(question: str, gold: str, name: str, value: Fraction, own: set[str]) -> list[Fraction]:
    """The other values the question and gold solution call `name`, when `name` is clearly another quantity than
    `value`'s (the gold's name for it: `own`); else none. Not clearly another: `people` (a name of every group of
    people: `voters`, `guests`); a name the problem also writes after `value`; a gold name for `value` that other
    values have too (a kind, `90 flowers` and `50 flowers`, of which the line's `petunias` may be one); a name of a
    sum `value` is a term of (`25 bugs + 50 ants = 75 insects`: `25 insects` is true)."""
    written = _problem_names(question, gold)
    own_heads = {_head(n) for n in own}
    if _head(name) == "person" or any(
        _head(other) == _head(name) if same_value(found, value) else _head(other) in own_heads
        for found, other in written
        if other is not None
    ):
        return []
    others = sorted({found for found, other in written if other == name})
    return [] if any(_sums_to(gold, other, value) for other in others) else others


def _acted_on(gold: str, value: Fraction, later: Sequence[Sequence[Calculation]]) -> bool:
    """Whether a later calculation uses `value` and computes something the gold solution never has."""
    quantities = GoldChain.of(gold).quantities
    return any(
        any(same_value(abs(operand), value) for operand in later_calc.operands)
        and not contains(quantities, later_calc.stated)
        for calcs in later
        for later_calc in calcs
    )


def _head(name: str) -> str:
    return name.rsplit(" ", 1)[-1]


def _words_after(text: str, value: Fraction) -> set[str]:
    """The words (singular) of the phrase after each place `text` writes `value` (`200 bags of apples`)."""
    plain_text = without_annotations(text, "=")
    found = set()
    for _, end, number in numbers_in(plain_text):
        if same_value(abs(number), value) and (words := _TEXT_AFTER.match(plain_text, end)):
            found.update(_SAME_THING.get(w.lower(), lemma(w)) for w in re.findall(r"[A-Za-z]+", words.group(0)))
    return found


def _sums_to(gold: str, whole: Fraction, part: Fraction) -> bool:
    """Whether the gold solution adds `part` into `whole`: then a name of `whole` is a kind `part` is one of."""
    return any(
        is_sum and same_value(result, whole) and any(same_value(operand, part) for operand in operands)
        for _, operands, result, is_sum in _gold_calculations(gold)
    )
