"""Token columns of one exported row: labels and position ids per loss and context mode.

DESIGN.md sections 4 and 5. `labels` follow the transformers convention (labels[i] is the
target of the state at i-1; -100 means no loss).

soft: plain causal positions; each completion token is its own label, deviation tokens off
    unless loss is `naive`.
hard: pruned tokens and their `<UNDO>`s are invisible to later tokens and positions continue
    from the surviving prefix, so a state revisited after an undo is the same state; it is
    labelled once, at its first position, with the last token the trace emits from it.
    `<UNDO>` inputs carry no label. A label is off when that last emission is a deviation token
    (possible for states inside a step-undone deviation).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from tracegen.trace import Replay, UndoUnit, replay

IGNORE = -100

ContextMode = Literal["soft", "hard"]
Loss = Literal["msft", "naive", "clean"]


def soft_labels(prompt_len: int, completion: Sequence[int], is_deviation: Sequence[bool], loss: Loss) -> list[int]:
    labels = [IGNORE] * prompt_len
    for tok, dev in zip(completion, is_deviation):
        labels.append(tok if (loss == "naive" or not dev) else IGNORE)
    return labels


def hard_labels(prompt_len: int, completion: Sequence[int], is_deviation: Sequence[bool], undo_id: int, run: Replay) -> list[int]:
    labels = [IGNORE] * (prompt_len + len(completion))
    last_emission: dict[int, int] = {}
    for i, state in enumerate(run.parent):
        last_emission[state] = i
    for state, i in last_emission.items():
        slot = prompt_len + state + 1  # state PROMPT_END (-1) is the prompt's last position
        if not is_deviation[i]:
            labels[slot] = completion[i]
    return labels  # slots after `<UNDO>` inputs stay IGNORE: an `<UNDO>` is never a state


def hard_position_ids(prompt_len: int, completion: Sequence[int], undo_id: int, run: Replay) -> list[int]:
    positions = list(range(prompt_len))
    for i, tok in enumerate(completion):
        previous = positions[-1] if positions else -1
        positions.append(previous + 1 if tok == undo_id else prompt_len + run.depth[i])
    return positions


def token_columns(
    prompt_ids: Sequence[int],
    completion: Sequence[int],
    deviation_spans: Sequence[tuple[int, int]],
    prune_spans: Sequence[tuple[int, int, int]],
    *,
    undo_id: int,
    unit: UndoUnit,
    mode: ContextMode,
    loss: Loss,
    delimiters: frozenset[int],
) -> dict[str, list]:
    """input_ids, labels, position_ids and prune_spans (absolute indices) for one row."""
    p = len(prompt_ids)
    is_deviation = [False] * len(completion)
    for start, end in deviation_spans:
        is_deviation[start:end] = [True] * (end - start)
    if mode == "soft":
        labels = soft_labels(p, completion, is_deviation, loss)
        positions = list(range(p + len(completion)))
    else:
        run = replay(completion, undo_id, unit, delimiters)
        labels = hard_labels(p, completion, is_deviation, undo_id, run)
        positions = hard_position_ids(p, completion, undo_id, run)
    return {
        "input_ids": list(prompt_ids) + list(completion),
        "labels": labels,
        "position_ids": positions,
        "prune_spans": [[p + s, p + e, p + u] for s, e, u in prune_spans],
    }
