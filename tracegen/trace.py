"""The UNDO stack machine and splicing in token space: the contract every part of tracegen shares.

A trace's completion is applied as a stack machine (DESIGN.md section 3): each token is pushed;
`<UNDO>` pops. With undo unit `token` one `<UNDO>` pops one token; with `step` it pops at least
one token and then keeps popping until the top of the stack ends a step (`ends_step`: for line
steps a token whose text contains a newline; for paragraph steps see tracegen.stepsplit) or the
stack is empty. `<UNDO>` with nothing to pop is a no-op.

Traces are built in token space (section 3, "Invariant"): the clean completion is tokenized
once, each deviation is inserted at a token boundary followed by the `<UNDO>`s that erase it,
and the clean continuation resumes at the point the undos pop back to. Applying the trace then
gives the clean ids exactly, for any tokenizer, by construction; `replay` is the one
implementation of the machine that the exporter, the checker and the tests all use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

UndoUnit = Literal["token", "step"]

PROMPT_END = -1
"""The state before any completion token: the prompt's last position."""


@dataclass(frozen=True)
class Replay:
    """What the stack machine did at each completion position.

    parent[i]: the stack top (a completion position, or PROMPT_END) when token i was emitted,
        i.e. the state that emitted token i.
    depth[i]: completion tokens on the stack when token i was emitted.
    popped_by[i]: the position of the `<UNDO>` that popped token i, or -1 if it survives
        (always -1 for `<UNDO>` tokens, which are never pushed).
    survivors: positions left on the stack at the end, in order.
    """

    parent: list[int]
    depth: list[int]
    popped_by: list[int]
    survivors: list[int]


def ends_step(delimiters: frozenset[int], top: int, below: int | None) -> bool:
    """Whether a stack whose top token is `top` (with `below` under it, None at the bottom) ends a step.

    `delimiters` holds the ids that end a step on their own. A paragraph split also ends a step
    where a blank line is cut between two tokens (tracegen.stepsplit.BlankLineDelimiters: its
    `pair` is (ids starting with a newline, ids ending with one)).
    """
    if top in delimiters:
        return True
    pair = getattr(delimiters, "pair", None)
    return pair is not None and below is not None and top in pair[0] and below in pair[1]


def replay(tokens: Sequence[int], undo_id: int, unit: UndoUnit, delimiters: frozenset[int] = frozenset()) -> Replay:
    """Run the UNDO stack machine over completion tokens."""
    if unit not in ("token", "step"):
        raise ValueError(f"unknown undo unit {unit!r}")
    stack: list[int] = []
    parent, depth, popped_by = [], [], [-1] * len(tokens)
    for i, tok in enumerate(tokens):
        parent.append(stack[-1] if stack else PROMPT_END)
        depth.append(len(stack))
        if tok != undo_id:
            stack.append(i)
            continue
        if not stack:
            continue
        popped_by[stack.pop()] = i
        if unit == "step":
            while stack and not ends_step(
                delimiters, tokens[stack[-1]], tokens[stack[-2]] if len(stack) > 1 else None
            ):
                popped_by[stack.pop()] = i
    return Replay(parent, depth, popped_by, stack)


def apply(tokens: Sequence[int], undo_id: int, unit: UndoUnit, delimiters: frozenset[int] = frozenset()) -> list[int]:
    """The tokens a trace leaves after every `<UNDO>` has done its work."""
    return [tokens[i] for i in replay(tokens, undo_id, unit, delimiters).survivors]


def step_start(clean: Sequence[int], at: int, delimiters: frozenset[int]) -> int:
    """Index just after the last step delimiter before `at` (0 if none): where a step undo pops back to."""
    for i in range(at - 1, -1, -1):
        if ends_step(delimiters, clean[i], clean[i - 1] if i else None):
            return i + 1
    return 0


@dataclass(frozen=True)
class Splice:
    """A deviation's tokens, inserted into the clean completion before clean token `at`."""

    at: int
    tokens: tuple[int, ...]


@dataclass(frozen=True)
class SplicedTrace:
    """A trace's completion tokens and where each splice landed in them.

    deviation_spans[k]: [start, end) of splice k's deviation tokens.
    prune_spans[k]: (start, end, undo_at): the tokens [start, end) that splice k's group of
        `<UNDO>`s erases (for a step undo this includes the correct start of the step), and the
        position of the group's first `<UNDO>`.
    undo_counts[k]: how many `<UNDO>`s follow splice k.
    resume_at[k]: the clean index the trace continues from after splice k's undos.
    """

    tokens: list[int]
    deviation_spans: list[tuple[int, int]]
    prune_spans: list[tuple[int, int, int]]
    undo_counts: list[int]
    resume_at: list[int]


def differing_splice(clean: Sequence[int], sp: Splice) -> Splice | None:
    """`sp` moved past the tokens it shares with the clean continuation (DESIGN.md section 3).

    A deviation starts where it differs: a deviation token equal to the clean token at the same
    state would teach the model to erase a correct token, and in hard mode the same state would
    get two labels. None when every deviation token is the clean token at its place (the
    deviation is a prefix of the clean continuation: the mistake is where it stops, which no
    token shows).
    """
    shared, limit = 0, min(len(sp.tokens), len(clean) - sp.at)
    while shared < limit and sp.tokens[shared] == clean[sp.at + shared]:
        shared += 1
    if shared == len(sp.tokens):
        return None
    return Splice(sp.at + shared, tuple(sp.tokens[shared:]))


def undos_to_erase(erased: Sequence[int], unit: UndoUnit, delimiters: frozenset[int], below: int | None = None) -> int:
    """How many `<UNDO>`s pop exactly the tokens `erased`, pushed on top of a step start (`below`: the token under
    it)."""
    if unit == "token":
        return len(erased)
    count, top = 0, len(erased)
    while top > 0:
        top -= 1
        while top > 0 and not ends_step(delimiters, erased[top - 1], erased[top - 2] if top > 1 else below):
            top -= 1
        count += 1
    return count


def splice(
    clean: Sequence[int],
    splices: Sequence[Splice],
    undo_id: int,
    unit: UndoUnit,
    delimiters: frozenset[int] = frozenset(),
) -> SplicedTrace:
    """Insert each deviation, followed by the `<UNDO>`s that erase it, into the clean completion.

    With unit `token` the clean sequence resumes at the splice point; with `step` the undos pop
    the whole current step, so the clean sequence resumes at that step's start (re-emitting the
    correct part of the step the deviation began in). Splices must be in increasing `at` order.
    """
    if unit == "step" and not delimiters:
        raise ValueError("undo unit 'step' needs the tokenizer's step delimiter ids")
    out: list[int] = []
    dev_spans, prune_spans, counts, resumes = [], [], [], []
    next_clean = 0
    for sp in splices:
        if not sp.tokens:
            raise ValueError("a splice needs at least one deviation token")
        if undo_id in sp.tokens:
            raise ValueError("a deviation may not contain <UNDO>")
        if not next_clean <= sp.at <= len(clean):
            raise ValueError(
                f"splice at {sp.at} is out of order or out of bounds (next clean index {next_clean}, {len(clean)} "
                "clean tokens)"
            )
        out.extend(clean[next_clean : sp.at])
        resume = sp.at if unit == "token" else step_start(clean, sp.at, delimiters)
        prune_start = len(out) - (sp.at - resume)
        dev_start = len(out)
        out.extend(sp.tokens)
        n_undo = undos_to_erase(out[prune_start:], unit, delimiters, clean[resume - 1] if resume else None)
        dev_spans.append((dev_start, len(out)))
        prune_spans.append((prune_start, len(out), len(out)))
        out.extend([undo_id] * n_undo)
        counts.append(n_undo)
        resumes.append(resume)
        next_clean = resume
    out.extend(clean[next_clean:])
    return SplicedTrace(out, dev_spans, prune_spans, counts, resumes)
