"""Token columns of one exported row: labels and position ids per loss and context mode.

DESIGN.md sections 4 and 5. `labels` follow the transformers convention (labels[i] is the
target of the state at i-1; -100 means no loss).

soft: plain causal positions; each completion token is its own label, deviation tokens off
    unless loss is `naive`.
hard: pruned tokens and their `<UNDO>`s are invisible to later tokens and positions continue
    from the surviving prefix, so a state revisited after an undo is the same state (a state is
    its visible tokens, not a trace index); it is labelled once, with the last token the trace
    emits from it, at the position it emits that from.
    `<UNDO>` inputs carry no label. A label is off when that last emission is a deviation token
    (possible for states inside a step-undone deviation).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from tracegen.trace import PROMPT_END, Replay, UndoUnit, replay

IGNORE = -100

ContextMode = Literal["soft", "hard"]
Loss = Literal["msft", "naive", "clean"]


def soft_labels(prompt_len: int, completion: Sequence[int], is_deviation: Sequence[bool], loss: Loss) -> list[int]:
    if loss == "naive":
        return [IGNORE] * prompt_len + list(completion)
    return [IGNORE] * prompt_len + [IGNORE if dev else tok for tok, dev in zip(completion, is_deviation)]


def label_before_deviations(
    labels: list[int],
    prompt_len: int,
    completion: Sequence[int],
    deviation_spans: Sequence[tuple[int, int]],
    run: Replay,
) -> None:
    """Soft mode, in place: label the state just before each deviation with the correct token.

    Without it that state has no label, and the right token is taught only with the mistake and
    its `<UNDO>`s in view. The label differs from the input there (the deviation's first token);
    it is the clean token at the stack depth where the deviation starts.
    """
    clean = [completion[i] for i in run.survivors]
    for start, _ in deviation_spans:
        if run.depth[start] < len(clean):  # else the deviation follows the whole completion: nothing to emit there
            labels[prompt_len + start] = clean[run.depth[start]]


def visible_states(completion: Sequence[int], undo_id: int, run: Replay) -> list[int]:
    """A hard-mode state id for each completion token: equal ids <=> equal visible context.

    A state is what the model sees (DESIGN.md section 4): the surviving tokens and their position
    ids, which follow from the tokens. A state reached again after an undo (an erased token
    re-emitted, the correct start of a step re-emitted after a step undo) is the same state,
    whatever its index in the trace. 0 is the prompt end; `<UNDO>` inputs get -1 (never a state).
    """
    interned: dict[tuple[int, int], int] = {}
    states = [-1] * len(completion)
    for i, tok in enumerate(completion):
        if tok != undo_id:
            parent = 0 if run.parent[i] == PROMPT_END else states[run.parent[i]]
            states[i] = interned.setdefault((parent, tok), len(interned) + 1)
    return states


def hard_labels(
    prompt_len: int, completion: Sequence[int], is_deviation: Sequence[bool], undo_id: int, run: Replay
) -> list[int]:
    """Each visible state labelled once with the last token the trace emits from it, at the position it emits that
    from.

    That position is a survivor whenever the state is on the clean path, so the surviving
    positions are labelled exactly like the clean sequence; the other positions of the same state
    (erased and re-emitted tokens) stay off.
    """
    states = visible_states(completion, undo_id, run)
    last_emission: dict[int, int] = {}
    for i in range(len(completion)):
        last_emission[0 if run.parent[i] == PROMPT_END else states[run.parent[i]]] = i
    labels = [IGNORE] * (prompt_len + len(completion))
    for i in last_emission.values():
        if not is_deviation[i]:
            labels[prompt_len + run.parent[i] + 1] = completion[
                i
            ]  # parent PROMPT_END (-1) is the prompt's last position
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
    label_before_deviation: bool = False,
) -> dict[str, list]:
    """input_ids, labels, position_ids and prune_spans (absolute indices) for one row.

    `label_before_deviation` (soft mode): see `label_before_deviations`; hard mode does it anyway.
    """
    p = len(prompt_ids)
    is_deviation = [False] * len(completion)
    for start, end in deviation_spans:
        is_deviation[start:end] = [True] * (end - start)
    if mode == "soft":  # the stack machine's run only where a label needs it
        labels = soft_labels(p, completion, is_deviation, loss)
        if label_before_deviation:
            run = replay(completion, undo_id, unit, delimiters)
            label_before_deviations(labels, p, completion, deviation_spans, run)
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
