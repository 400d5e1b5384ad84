"""Synthetic multi-step arithmetic word problems in GSM8K's format, offline and seeded.

A problem is a little story about one running quantity: a person's items, boxes of items, or money.
Each step applies one operation with one new number stated in the question ("She gives 4 apples
to Tom.") and writes the matching solution line with a calculator annotation ("After giving
some to Tom, she has 12-4 = <<12-4=8>>8 apples left."). A template names which kind of quantity it
applies to and which kind it yields, so steps chain into a story that makes sense, and every number
a step needs is either stated in the question or the previous step's result.

Problem i depends only on (seed, split, i): generating 10 or 10,000 problems gives the same first 10.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from tracegen.problem import Problem
from tracegen.recipe import SourceConfig
from tracegen.recipe_data import AnswerConfig, StepsConfig

# Kinds of running quantity. "boxes" are containers whose size is not stated yet; "packed" ones were
# filled by the story itself, so their size is known and "each box holds N" would contradict it.
# Packed containers get a word of their own ("crates" when the story's boxes are "bags"), so packing
# never reads as putting items back into the boxes they came from.
ITEMS, BOXES, PACKED, MONEY = "items", "boxes", "packed", "money"


@dataclass(frozen=True)
class _Template:
    """One step: `fact` goes into the question, `step` into the solution.

    Placeholders: {q} the running quantity (for a first step, a number stated in the question),
    {a} the new number, {calc} the annotated calculation `q<op>a = <<q<op>a=r>>r` (with `$` for
    money), plus the story's words ({name}, {he}, {items}, {box}, ...).
    `number` says which new numbers fit: "any" (2..max_number), "factor" (2..sqrt(max_number),
    keeping products GSM8K-sized), "less" (leaves at least 2), "divisor" (exact, at least 2 each).
    """

    needs: tuple[str, ...]  # kinds it applies to; empty for a first step
    gives: str | None  # kind of the result; None keeps the kind it applied to
    op: str
    number: str
    fact: str
    step: str
    ask: str | None = None  # the question's last sentence when this is the last step (default: by kind)
    last_only: bool = False  # nothing sensible follows it (a per-person share, a spent-out purse)


_FIRST_STEPS = [
    _Template(
        (),
        ITEMS,
        "*",
        "factor",
        "{name} buys {q} {boxes} of {items}, and each {box} holds {a} {items}.",
        "{name} buys {calc} {items}.",
    ),
    _Template(
        (),
        ITEMS,
        "*",
        "factor",
        "{name} has {q} friends, and each of them gives {him} {a} {items}.",
        "{His} friends give {him} {calc} {items}.",
    ),
    _Template(
        (),
        ITEMS,
        "+",
        "any",
        "{name} gets {q} {items} on Saturday and {a} more on Sunday.",
        "{He} gets {calc} {items} over the weekend.",
    ),
    _Template(
        (),
        BOXES,
        "+",
        "any",
        "{name} has {q} {boxes} of {items} in the kitchen and {a} {boxes} in the garage.",
        "{name} has {calc} {boxes} of {items}.",
    ),
    _Template((), MONEY, "*", "factor", "{name} earns ${q} an hour and works {a} hours.", "{He} earns {calc}."),
    _Template(
        (),
        MONEY,
        "+",
        "any",
        "{name} has ${q} in {his} wallet and ${a} in {his} piggy bank.",
        "{He} has {calc} in total.",
    ),
]

_NEXT_STEPS = [
    _Template(
        (ITEMS,), None, "+", "any", "{He} buys {a} more {items}.", "After buying more, {he} has {calc} {items}."
    ),
    _Template(
        (ITEMS,),
        None,
        "+",
        "any",
        "{friend} gives {him} {a} {items}.",
        "{friend} gives {him} {a}, so {he} has {calc} {items}.",
    ),
    _Template(
        (ITEMS,),
        None,
        "-",
        "less",
        "{He} gives {a} {items} to {friend}.",
        "After giving some to {friend}, {he} has {calc} {items} left.",
    ),
    _Template(
        (ITEMS,),
        None,
        "-",
        "less",
        "{He} sells {a} {items} at the market.",
        "{He} has {calc} {items} left after the market.",
    ),
    _Template(
        (ITEMS,), None, "-", "less", "On the way home, {he} loses {a} {items}.", "{He} still has {calc} {items}."
    ),
    _Template(
        (ITEMS,),
        PACKED,
        "/",
        "divisor",
        "{He} packs all the {items} into {boxes} of {a}.",
        "{He} fills {calc} {boxes}.",
        ask="How many {boxes} does {name} fill?",
    ),
    _Template(
        (ITEMS,),
        MONEY,
        "*",
        "factor",
        "{He} sells all of the {items} for ${a} each.",
        "{He} earns {calc} from selling them.",
        ask="How much money does {name} earn?",
    ),
    _Template(
        (ITEMS,),
        None,
        "/",
        "divisor",
        "{He} shares them equally among {a} friends.",
        "Each friend gets {calc} {items}.",
        ask="How many {items} does each friend get?",
        last_only=True,
    ),
    _Template((BOXES,), ITEMS, "*", "factor", "Each {box} holds {a} {items}.", "{He} has {calc} {items} in all."),
    _Template(
        (BOXES, PACKED),
        None,
        "+",
        "any",
        "{friend} brings {a} more {boxes} of {items}.",
        "{He} now has {calc} {boxes}.",
    ),
    _Template(
        (BOXES, PACKED), None, "-", "less", "{He} gives {a} of the {boxes} to {friend}.", "{He} keeps {calc} {boxes}."
    ),
    _Template(
        (BOXES, PACKED),
        MONEY,
        "*",
        "factor",
        "{He} sells each {box} for ${a}.",
        "{He} earns {calc}.",
        ask="How much money does {name} earn?",
    ),
    _Template((MONEY,), None, "+", "any", "{His} grandmother gives {him} ${a}.", "{He} now has {calc}."),
    _Template(
        (MONEY,),
        None,
        "+",
        "any",
        "{friend} pays {him} ${a} for help in the garden.",
        "With {friend}'s payment, {he} has {calc}.",
    ),
    _Template(
        (MONEY,), None, "-", "less", "{He} spends ${a} on {thing}.", "After buying {thing}, {he} has {calc} left."
    ),
    _Template(
        (MONEY,), None, "-", "less", "{He} puts ${a} into {his} savings account.", "{He} has {calc} left to spend."
    ),
    _Template(
        (MONEY,),
        None,
        "/",
        "divisor",
        "{He} spends all of it on {goods} that cost ${a} each.",
        "{He} buys {calc} {goods}.",
        ask="How many {goods} does {name} buy?",
        last_only=True,
    ),
    _Template(
        (MONEY,),
        None,
        "/",
        "divisor",
        "{He} splits the money equally among {his} {a} cousins.",
        "Each cousin gets {calc}.",
        ask="How much money does each cousin get?",
        last_only=True,
    ),
]

_ASK = {
    ITEMS: "How many {items} does {name} have now?",
    BOXES: "How many {boxes} does {name} have now?",
    PACKED: "How many {boxes} does {name} have now?",
    MONEY: "How much money does {name} have now?",
}

_PEOPLE = [
    ("Mia", "she"),
    ("Tom", "he"),
    ("Aisha", "she"),
    ("Carlos", "he"),
    ("Priya", "she"),
    ("Ben", "he"),
    ("Sofia", "she"),
    ("Kenji", "he"),
    ("Lena", "she"),
    ("Omar", "he"),
    ("Grace", "she"),
    ("Diego", "he"),
]
_PRONOUNS = {"she": {"he": "she", "him": "her", "his": "her"}, "he": {"he": "he", "him": "him", "his": "his"}}

# item -> containers it comes in, as (singular, plural)
_ITEMS = {
    "apples": [("bag", "bags"), ("crate", "crates"), ("basket", "baskets")],
    "oranges": [("bag", "bags"), ("crate", "crates")],
    "marbles": [("bag", "bags"), ("jar", "jars")],
    "cookies": [("box", "boxes"), ("jar", "jars"), ("tin", "tins")],
    "pencils": [("box", "boxes"), ("pack", "packs")],
    "eggs": [("carton", "cartons"), ("basket", "baskets")],
    "stickers": [("pack", "packs"), ("envelope", "envelopes")],
    "trading cards": [("pack", "packs"), ("box", "boxes")],
    "beads": [("jar", "jars"), ("bag", "bags")],
    "muffins": [("box", "boxes"), ("tray", "trays")],
}
_THINGS = ["a book", "a scarf", "a board game", "a movie ticket", "a lunch box", "a kite"]
_GOODS = ["notebooks", "comic books", "toy cars", "flower pots", "puzzles"]


def generate_arith(
    num_problems: int,
    *,
    seed: int,
    min_steps: int = 2,
    max_steps: int = 4,
    max_number: int = 100,
    split: str = "train",
) -> Iterator[Problem]:
    """Yield `num_problems` problems with `min_steps`..`max_steps` steps each (not counting `####`).

    Numbers stated in the question lie in [2, max_number] (never 1, so no "1 apples"); results may be
    larger. Answers are integers: division is used only when it is exact, and no result drops below 2.
    """
    if num_problems < 0:
        raise ValueError(f"num_problems must be >= 0, got {num_problems}")
    if not 1 <= min_steps <= max_steps:
        raise ValueError(f"need 1 <= min_steps <= max_steps, got min_steps={min_steps}, max_steps={max_steps}")
    if max_number < 2:
        raise ValueError(f"max_number must be >= 2, got {max_number}")
    return (
        _problem(f"{seed}:{split}:{i}", f"arith-{split}:{i}", min_steps, max_steps, max_number)
        for i in range(num_problems)
    )


def _problem(rng_seed: str, source_id: str, min_steps: int, max_steps: int, max_number: int) -> Problem:
    rng = random.Random(rng_seed)
    name, pronoun = rng.choice(_PEOPLE)
    pronouns = _PRONOUNS[pronoun]
    words = pronouns | {f.capitalize(): w.capitalize() for f, w in pronouns.items()}
    items = rng.choice(list(_ITEMS))
    story_boxes, packed_boxes = rng.sample(_ITEMS[items], 2)
    words |= {"name": name, "items": items}
    others = [n for n, _ in _PEOPLE if n != name]

    num_steps = rng.randint(min_steps, max_steps)
    facts, lines = [], []
    kind, q, used = None, None, []
    for s in range(num_steps):
        last = s == num_steps - 1
        if kind is None:
            template = rng.choice(_FIRST_STEPS)
            q = rng.choice(_numbers(template.number, None, max_number))
        else:
            options = [
                t
                for t in _NEXT_STEPS
                if kind in t.needs and (last or not t.last_only) and _numbers(t.number, q, max_number)
            ]
            # Prefer a template the story has not told yet; an "add more" template always fits, so
            # `options` is never empty.
            template = rng.choice([t for t in options if t not in used] or options)
        used.append(template)
        a = rng.choice(_numbers(template.number, q, max_number))
        r = _apply(template.op, q, a)
        new_kind = template.gives or kind
        box, boxes = packed_boxes if PACKED in (kind, new_kind) else story_boxes
        kind = new_kind
        dollar = "$" if kind == MONEY else ""
        calc = f"{q}{template.op}{a} = {dollar}<<{q}{template.op}{a}={r}>>{r}"
        fields = words | {
            "q": q,
            "a": a,
            "calc": calc,
            "box": box,
            "boxes": boxes,
            "friend": rng.choice(others),
            "thing": rng.choice(_THINGS),
            "goods": rng.choice(_GOODS),
        }
        facts.append(template.fact.format(**fields))
        lines.append(template.step.format(**fields))
        q = r
    ask = template.ask or _ASK[kind]
    question = " ".join(facts + [ask.format(**fields)])
    solution = "\n".join(lines + [f"#### {q}"])
    return Problem(source_id=source_id, question=question, solution=solution, answer=str(q))


def _numbers(rule: str, q: int | None, max_number: int) -> Sequence[int]:
    """The new numbers that fit `rule` given the running quantity `q`; empty when none does."""
    if rule == "any":
        return range(2, max_number + 1)
    if rule == "factor":
        return range(2, max(2, math.isqrt(max_number)) + 1)
    if rule == "less":
        return range(2, min(max_number, q - 2) + 1)
    assert rule == "divisor", rule
    # pairs (d, q // d) with d <= sqrt(q): the loop is bounded by both sqrt(q) and max_number
    small = [d for d in range(2, min(math.isqrt(q), max_number) + 1) if q % d == 0]
    return sorted({d for pair in small for d in (pair, q // pair) if d <= min(max_number, q // 2)})


def _apply(op: str, q: int, a: int) -> int:
    if op == "+":
        return q + a
    if op == "-":
        return q - a
    if op == "*":
        return q * a
    return q // a  # "/" is only ever drawn with an exact divisor


def arith_source(
    cfg: SourceConfig, *, split: str, limit: int | None, steps: StepsConfig, answer: AnswerConfig
) -> Iterator[Problem]:
    """The `arith` source (tracegen.sources.base.ProblemSource): `num_problems` synthetic problems, or `limit`."""
    return generate_arith(
        cfg.num_problems if limit is None else min(limit, cfg.num_problems),
        seed=cfg.seed,
        min_steps=cfg.min_steps,
        max_steps=cfg.max_steps,
        max_number=cfg.max_number,
        split=split,
    )
