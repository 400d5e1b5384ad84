"""What a value is *of*: the noun, the period and the person written around a number.

The same number can be right and still wrong: `12/4 = 3 potatoes` where the gold solution has
`12/4 = 3 onions`, `100` given to Raymond where the gold gives it to David, `$10,500 per month`
where the gold's 10,500 is paid once a year. A value's *binding* is read from the words around it:

- `nouns`: the nouns of the question among the three words after the number (`3 onions`,
  `20 pounds of oats`; `3 more`, `5 dollars`, `12 each` bind nothing);
- `period`: `per day`, `a week`, `every month`, `/hour` after it (within its clause);
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

from tracegen.steps import numbers_in, split_steps
from tracegen.verifiers.answers import same_value
from tracegen.verifiers.calculations import plain

_ANNOTATION = re.compile(r"<<[^<>]*>>")
_WORDS_AFTER = re.compile(r"(?:\s*[-‐]?\s*[A-Za-z]+){1,3}")
_PERIODS = "second|minute|hour|day|night|week|month|year|morning|afternoon|evening"
_PERIOD_AFTER = re.compile(rf"^[^.,;:!?=]{{0,40}}?(?:\b(?:per|a|an|each|every)\s+|/\s*)({_PERIODS})s?\b", re.IGNORECASE)
_NAME = re.compile(r"\b[A-Z][a-z]+\b")
_SENTENCE_END = re.compile(r"[.!?;:]\s|,\s*(?:and|so|but)\s")
_NOT_NOUNS = frozenset(
    "a an the of per and or to for in on at by with from into each every more less fewer than times as is are was were "
    "be been will would can could has have had so then that this these those which who total altogether left remaining "
    "dollars dollar cents cent percent old".split()
)
_NOT_NAMES = frozenset(
    "A An The If In On At After Before When While How What Which Who Each Every Then So She He They It We You I "
    "His Her Their Its There This That These Those One Two Three Four Five Six Seven Eight Nine Ten But And Or "
    "For From To With Of By As Mr Mrs Ms Dr Calculate Find Given Since Because Last Next First Second Third "
    "Today Tomorrow Yesterday Together Meanwhile Also Finally Thus Therefore Hence Total".split()
)


@dataclass(frozen=True)
class Binding:
    nouns: frozenset[str] | None  # the question's nouns among the (up to 3) words after the number
    period: str | None
    person: str | None


def _lemma(word: str) -> str:
    word = word.lower()
    for ending, replacement in (("ies", "y"), ("ves", "f"), ("ches", "ch"), ("shes", "sh"), ("xes", "x"), ("ses", "s"), ("s", "")):
        if word.endswith(ending) and len(word) > len(ending) + 2:
            return word[: -len(ending)] + replacement
    return word


@lru_cache(maxsize=4096)
def question_words(question: str) -> tuple[frozenset[str], frozenset[str]]:
    """(the nouns a binding may name, the names of people and days) of a question."""
    nouns = frozenset(_lemma(w) for w in re.findall(r"[A-Za-z]+", question) if w.lower() not in _NOT_NOUNS and len(w) > 2)
    lower = {w.lower() for w in re.findall(r"\b[a-z]+\b", question)}
    names = frozenset(n for n in _NAME.findall(question) if n not in _NOT_NAMES and n.lower() not in lower)
    return nouns, names


def bindings(text: str, question: str) -> list[tuple[Fraction, Binding]]:
    """Every number of `text` (annotations left out, the results written after them kept) with its binding."""
    nouns, names = question_words(question)
    plain_text = _ANNOTATION.sub("", text)
    found = []
    for start, end, value in numbers_in(plain_text):
        words = _WORDS_AFTER.match(plain_text, end)
        named = frozenset(_lemma(w) for w in re.findall(r"[A-Za-z]+", words.group(0)) if _lemma(w) in nouns) if words else frozenset()
        period = _PERIOD_AFTER.match(plain_text[end:])
        sentence = _SENTENCE_END.split(plain_text[:start])[-1]
        people = [n for n in _NAME.findall(sentence) if n in names]
        found.append(
            (
                abs(value),
                Binding(
                    nouns=named or None,
                    period=period.group(1).lower() if period else None,
                    person=people[0] if people else None,
                ),
            )
        )
    return found


@lru_cache(maxsize=4096)
def gold_bindings(question: str, gold: str) -> tuple[tuple[Fraction, Binding], ...]:
    return tuple(pair for step in split_steps(gold) for pair in bindings(step, question))


def misbinding(question: str, gold: str, step: str, value: Fraction) -> str | None:
    """Why `value`, as `step` writes it last, is bound to another quantity than in the gold solution; None when it is not."""
    mine = [binding for found, binding in bindings(step, question) if same_value(found, abs(value))]
    every_gold = gold_bindings(question, gold)
    theirs = [binding for found, binding in every_gold if same_value(found, abs(value))]
    if not mine or not theirs:
        return None
    last = mine[-1]
    if last.nouns is not None and all(b.nouns is not None and not (b.nouns & last.nouns) for b in theirs):
        other_quantities = frozenset().union(*(b.nouns for _, b in every_gold if b.nouns is not None))
        if last.nouns <= other_quantities:  # a noun the gold binds to other values: another quantity, not another wording
            return f"{plain(value)} {' '.join(sorted(last.nouns))}, where the gold solution has {plain(value)} {' / '.join(sorted({' '.join(sorted(b.nouns)) for b in theirs}))}"
    for field, what in (("person", "for"), ("period", "per")):
        have = getattr(last, field)
        gold_have = {getattr(b, field) for b in theirs}
        if have is None or None in gold_have or have in gold_have or have not in {getattr(b, field) for _, b in every_gold}:
            continue
        return f"{plain(value)} {what} {have}, where the gold solution has {plain(value)} {what} {' or '.join(sorted(gold_have))}"
    return None
