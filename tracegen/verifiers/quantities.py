"""What a written number measures: its unit and what it is per (`10 pages a day`: page per day).

A word problem gives each number with the words that say what it is: the noun after it (`5
cities`, `80 kg`, `$25`, `64"`), and, for a rate, what one of it is for: `30 inches a day`,
`$2 per doughnut`, `1000 people living in each city`, `four windows each` (each of the cars
named before), `Each tire costs 25 cents`, `An adult weighs 80 kg`, `Daily, Jewel processes 50
customers`. `quantity_at` reads that, in the question or in a solution's step; a number that is no
amount (`9 out of 10`, `2 15-minute breaks`: the 2) has no unit. Units are singular and spelled
one way (`minutes`, `min` -> `minute`; `$` -> `dollar`), so two readings compare by equality.

tracegen.verifiers.side_facts composes these readings to tell a true side fact from a misreading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from tracegen.steps import numbers_in
from tracegen.verifiers.binding import lemma as singular
from tracegen.verifiers.values import WORD_VALUES

PERIODS = frozenset("second minute hour day night week month year decade century".split())
_SPELLINGS = {  # a unit's other spellings -> its one name
    "min": "minute",
    "mins": "minute",
    "sec": "second",
    "secs": "second",
    "hr": "hour",
    "hrs": "hour",
    "feet": "foot",
    "ft": "foot",
    "lb": "pound",
    "lbs": "pound",
    "oz": "ounce",
    "kg": "kilogram",
    "kilo": "kilogram",
    "g": "gram",
    "km": "kilometer",
    "kilometre": "kilometer",
    "m": "meter",
    "metre": "meter",
    "cm": "centimeter",
    "centimetre": "centimeter",
    "mi": "mile",
    "buck": "dollar",
    "daily": "day",
    "weekly": "week",
    "monthly": "month",
    "yearly": "year",
    "annually": "year",
    "hourly": "hour",
    "nightly": "night",
    **dict(  # `-ves` plurals the rough singular misses
        zip(
            "shelves wolves halves calves loaves leaves knives wives lives thieves scarves elves".split(),
            "shelf wolf half calf loaf leaf knife wife life thief scarf elf".split(),
            strict=True,
        )
    ),
}
MEASURES = frozenset(
    "second minute hour day night week month year decade century inch foot yard mile meter centimeter kilometer "
    "gram kilogram pound ounce ton gallon quart pint cup liter dollar cent".split()
)
"""Units of measure: `30 min lunch` measures minutes, where `3 egg omelet` counts omelets."""
_STOP = frozenset(
    "a an the of per and or to for in on at by with from into each every apiece more less fewer than times as is are "
    "was were be been will would can could has have had so then that this these those which who what total "
    "altogether left remaining old many much twice half it its he she they his her their them him we you i there "
    "here not no if when while after before during over under out up down off about all both only just also still "
    "every same other another extra additional some any than do does did get gets got make makes made cost costs "
    "take takes took need needs use uses used sell sells sold buy buys bought pay pays paid weigh weighs hold holds "
    "contain contains eat eats ate spend spends spent save saves saved earn earns earned work works worked tall long "
    "wide high deep away".split()
)
"""Words that end (or are not) the noun phrase after a number."""
_QUALIFIERS = frozenset("more other extra additional new".split())
_POSSESSIVE = re.compile(r"['’]s?$")
_WORD = re.compile(r"[A-Za-z]+(?:['’]s?)?")
_PHRASE = re.compile(r"\s*[-‐]?\s*([A-Za-z]+(?:['’]s?)?)")
_NUMBER_WORDS = re.compile(  # `(?=[a-z])`: what every match starts with, so the scan skips the rest fast
    rf"(?=[a-z])\b(?:{'|'.join(w for w, v in WORD_VALUES.items() if 0 < v < 100 and w not in {'once', 'single'})})\b",
    re.IGNORECASE,
)
CLAUSE_END = re.compile(r"[,;:]\s|[.!?](?:\s|$)")  # where a clause of a question or a step ends
_SENTENCE_END = re.compile(r"(?=[.!?])(?<!\bMr)(?<!\bMrs)(?<!\bMs)(?<!\bDr)[.!?](?:\s+|$)")
_PER_AFTER = re.compile(
    rf"(?:\b(?:per|each|every)\s+(?:single\s+)?(?P<item>(?=[A-Za-z]))|\b(?:a|an)\s+(?P<period>{'|'.join(PERIODS)})\b"
    r"|/\s*(?P<slash>[A-Za-z]+))",
    re.IGNORECASE,
)
_EACH_BEFORE = re.compile(r"\b(?:each|every|per)\b", re.IGNORECASE)
_RATE_REACH = 6  # words between a number's unit and the `per`/`each` of its rate, at most
_EACH_CLAUSE = re.compile(r"\s*(?:and\s+)?(?:in|for|on|at)?\s*(?:each|every)\s+[A-Za-z]+\s*", re.IGNORECASE)
_OPERATOR = re.compile(r"\s[-+*/×xX=]\s|[+*×=]|/(?![A-Za-z])")  # not a unit of rate: `pounds/week`
_HYPHENATED = re.compile(r"[-‐]([A-Za-z]+)\b(?!-)")
_BARE_EACH = re.compile(r"\s*(?:each|apiece)\b", re.IGNORECASE)
_OWNER_BEFORE = re.compile(r"([A-Za-z]+)\s+(?:for|at)\s+[$€£]?\s*$", re.IGNORECASE)
_SUBJECT_VERBS = "has|have|is|weighs|costs|holds|contains|makes|takes|uses|needs|eats|gets|sells|comes|can|will|lasts"
_VERB_AFTER = re.compile(rf"\s+(?:{_SUBJECT_VERBS}|are|cost|need|take|use|get|sell|hold|weigh)\b", re.IGNORECASE)
_INDEFINITE_SUBJECT = re.compile(
    rf"^\s*(?:An?|One)\s+(?P<phrase>(?:[A-Za-z-]+\s+){{0,3}}?[A-Za-z]+)(?:\s+of(?:\s+[A-Za-z]+){{1,3}}?)?"
    rf"\s+(?:{_SUBJECT_VERBS})\b"
)
_ADVERB_PERIOD = re.compile(r"(?=[dwmyahn])\b(daily|weekly|monthly|yearly|annually|hourly|nightly)\b", re.IGNORECASE)
_MONEY_BEFORE = re.compile(r"[$€£]\s*=?\s*$")
_CENTS = re.compile(r"\s*(?:cents?\b|¢)", re.IGNORECASE)


@dataclass(frozen=True)
class Noun:
    """What a number counts or is per: a singular name (`roll`) and the words that say which kind (`mini cinnamon`)."""

    name: str
    kind: frozenset[str] = frozenset()

    def matches(self, other: Noun | None) -> bool:
        """The same thing: one name, and no two kinds (`mini cinnamon rolls` are no `normal cinnamon roll`)."""
        if other is None or other.name != self.name:
            return False
        return not self.kind or not other.kind or self.kind == other.kind


@dataclass(frozen=True)
class Quantity:
    """A number as its text reads it: what it counts or measures, and what one of it is for."""

    value: Fraction
    unit: Noun | None  # `page`, `dollar`, `minute`; None: no amount of anything (`9 out of 10`)
    per: Noun | None  # `day`, `tire`; None: an amount, not a rate
    sentence: int  # which sentence of its text

    @property
    def is_count(self) -> bool:
        return self.unit is not None and self.per is None


def unit_name(word: str) -> str:
    """The one name of a unit or counted noun: singular, lower case, one spelling (`Minutes` -> `minute`)."""
    word = _POSSESSIVE.sub("", word.lower())  # `students'` -> `students`
    word = _SPELLINGS.get(word, word)
    return _SPELLINGS.get(singular(word), singular(word))


@lru_cache(maxsize=4096)
def quantities(text: str) -> tuple[Quantity, ...]:
    """Every number of `text` (digits, and number words up to ninety-nine) read as a quantity."""
    spans = [(start, end, abs(value)) for start, end, value in numbers_in(text)]
    spans += [(m.start(), m.end(), Fraction(WORD_VALUES[m.group(0).lower()])) for m in _NUMBER_WORDS.finditer(text)]
    return tuple(quantity_at(text, start, end, value) for start, end, value in sorted(spans))


def quantity_at(text: str, start: int, end: int, value: Fraction) -> Quantity:
    """The quantity the number at `text[start:end]` is."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text, 0, start)]  # of the sentences before it
    sentence_start = ends[-1] if ends else 0
    sentence_end = _SENTENCE_END.search(text, end)
    before, sentence = text[sentence_start:start], len(ends)
    unit, unit_end = _unit(text, start, end)
    hyphenated = _HYPHENATED.match(text, end)
    if hyphenated is not None:  # `a 12-hour stay`, `a 200-page book`: so many hours, pages (a kind of stay, no rate)
        return Quantity(value, Noun(unit_name(hyphenated.group(1))), None, sentence)
    clause_end = CLAUSE_END.search(text, unit_end)
    clause = text[unit_end : clause_end.start() if clause_end else len(text)]
    clause = _OPERATOR.split(clause, maxsplit=1)[0]  # `50*7 = 350 customers a week`: the week is the result's
    readers = (
        lambda: _per_after(clause),
        lambda: _owner(before) if _bare_each(text, unit_end) else None,
        lambda: _per_before(before),
        lambda: _indefinite_subject(before),
        lambda: _adverb(text[sentence_start : sentence_end.start() if sentence_end else len(text)]),
    )
    per = next((per for read in readers if (per := read()) is not None and not per.matches(unit)), None)
    return Quantity(value, unit, per, sentence)


def _unit(text: str, start: int, end: int) -> tuple[Noun | None, int]:
    """The unit right after a number (or `$` before it) and where its words end."""
    if _MONEY_BEFORE.search(text[:start]):
        return Noun("dollar"), end
    if text[end : end + 1] in ('"', "”", "″"):
        return Noun("inch"), end + 1
    if text[end : end + 1] == "%":
        return Noun("percent"), end + 1
    if (cents := _CENTS.match(text, end)) is not None:
        return Noun("cent"), cents.end()
    words, position = _phrase(text, end)
    if not words:
        return None, end
    if unit_name(words[0]) in MEASURES:
        return Noun(unit_name(words[0])), position  # `30 min lunch`: minutes
    return _noun(words), position


def _phrase(text: str, position: int) -> tuple[list[str], int]:
    """The noun phrase at `position` (`more`, `other` skipped; up to a word that is no noun, or a plural), and its
    end."""
    words: list[str] = []
    while len(words) < 4 and (match := _PHRASE.match(text, position)) is not None:
        word = match.group(1)
        if word.lower() in _QUALIFIERS and not words:
            position = match.end()
            continue
        if word.lower() in _STOP or (words and text[position : match.start(1)].strip()):
            break
        words.append(word)
        position = match.end()
        if unit_name(word) in MEASURES or _plural(word):
            break  # `30 min lunch`: minutes; `5 people on bikes`: a plural ends the phrase
    return words, position


def _noun(words: list[str]) -> Noun | None:
    """A noun phrase's last word, of the kind its other words say (`small stuffed animal`)."""
    name = unit_name(words[-1])
    if words[-1].lower() in _STOP or len(name) < 3:
        return None
    return Noun(name, frozenset(word.lower() for word in words[:-1]))


def _head(text: str, position: int) -> Noun | None:
    words, _ = _phrase(text, position)
    return _noun(words) if words else None


def _plural(word: str) -> bool:
    return word.lower() in ("people", "children", "men", "women", "feet", "teeth") or singular(word) != word.lower()


def _per_after(clause: str) -> Noun | None:
    """`a day`, `per hour`, `in each city`, `/week` after the number, within a few words of it in its clause (not
    `144 inches of ribbon and wants to make a bow for each gift`)."""
    for match in _PER_AFTER.finditer(clause):
        if len(_WORD.findall(clause[: match.start()])) > _RATE_REACH:
            break
        if match.group("slash") is not None:
            if not clause[: match.start()].strip():  # `$5/round`, `cups/day`; not a later word (`installed/hung`)
                return _noun([match.group("slash")])
        elif match.group("period") is not None:
            return Noun(unit_name(match.group("period")))
        elif (per := _head(clause, match.end())) is not None:
            if _VERB_AFTER.match(clause, _phrase(clause, match.end())[1]):
                continue  # `5 cents and each big coupon costs 15`: the subject of the next clause, not a rate
            return per
    return None


def _owner(before: str) -> Noun | None:
    """What a bare `each` after a number is of: the noun before `for`/`at` (`notebooks for $1.50 each`), else the
    nearest plural before it in its sentence (`64 cars with four windows each`)."""
    owner = _OWNER_BEFORE.search(before)
    if owner is not None and (noun := _noun([owner.group(1)])) is not None:
        return noun
    return next((_noun([word]) for word in reversed(_WORD.findall(before)) if _plural(word) and _noun([word])), None)


def _bare_each(text: str, end: int) -> bool:
    """`$1.50 each`, `four windows apiece`; not `3 and each box has 4` (the subject of the next clause)."""
    each = _BARE_EACH.match(text, end)
    return each is not None and not _VERB_AFTER.match(text, _phrase(text, each.end())[1])


def _per_before(before: str) -> Noun | None:
    """`Each tire costs 25 cents`, `in each country, there are 5 cities`: the nearest `each`/`every`/`per` before the
    number in its clause, or a clause of its own just before (not `every lunch and dinner, how many weeks will a 42 kg
    bag last`)."""
    clauses = CLAUSE_END.split(before)
    near = clauses[-1]
    if len(clauses) > 1 and _EACH_CLAUSE.fullmatch(clauses[-2]):
        near = clauses[-2] + ", " + near
    return next((per for m in reversed(list(_EACH_BEFORE.finditer(near))) if (per := _head(near, m.end()))), None)


def _indefinite_subject(before: str) -> Noun | None:
    """`An adult weighs 80 kg`, `A bag of chips holds 72 chips`: what a sentence about one of a kind gives per one."""
    subject = _INDEFINITE_SUBJECT.match(before)
    if subject is None or any(char.isdigit() for char in before):
        return None
    return _noun(subject.group("phrase").split())


def _adverb(sentence: str) -> Noun | None:
    """`Daily, Jewel processes 50 customers`: a period its sentence gives every number of it."""
    adverb = _ADVERB_PERIOD.search(sentence)
    return None if adverb is None else Noun(unit_name(adverb.group(1)))
