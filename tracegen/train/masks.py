"""Attention inputs of a context mode: the one place that turns a row's columns into a mask.

DESIGN.md section 4. `soft`: plain causal attention. `hard`: causal, except that every token after
a prune group sees neither the group's pruned tokens nor the run of `<UNDO>`s that pruned them,
and positions continue from the surviving prefix. A span is `[start, end, undo_at]`: the pruned
tokens are `[start, end)` and the group is the maximal run of `<UNDO>` starting at `undo_at`.

Masks are additive floats (0 where a query may attend, the dtype's min where not) of shape
[batch, 1, query, key]: transformers passes a 4D mask through unchanged, and under eager
attention it *adds* it to the scores, so a boolean 4D mask would silently mask nothing.

The trainer, the checker, the tests and the decoder's GRPO scoring all build masks here;
`trace_columns` gives a decoded trace the same columns an exported row has.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import torch
from torch import Tensor

from tracegen.columns import IGNORE, hard_position_ids
from tracegen.trace import UndoUnit, replay

CONTEXT_MODES = ("soft", "hard")


def undo_run_end(input_ids: Sequence[int], undo_at: int, undo_id: int) -> int:
    """One past the last `<UNDO>` of the run that starts at `undo_at`."""
    end = undo_at
    while end < len(input_ids) and input_ids[end] == undo_id:
        end += 1
    return end


def visibility(
    input_ids: Sequence[int], prune_spans: Sequence[Sequence[int]], context_mode: str, *, undo_id: int
) -> Tensor:
    """[L, L] bool: may query i attend to key j."""
    if context_mode not in CONTEXT_MODES:
        raise ValueError(f"unknown context mode {context_mode!r} (expected soft or hard)")
    ids = input_ids.tolist() if isinstance(input_ids, Tensor) else list(input_ids)
    n = len(ids)
    visible = torch.ones(n, n, dtype=torch.bool).tril_()
    if context_mode == "soft":
        return visible
    for start, end, undo_at, group_end in prune_groups(ids, prune_spans, undo_id):
        visible[group_end:, start:end] = False
        visible[group_end:, undo_at:group_end] = False
    return visible


def prune_groups(
    ids: Sequence[int], prune_spans: Sequence[Sequence[int]], undo_id: int
) -> Iterator[tuple[int, int, int, int]]:
    """(start, end, undo_at, group_end) of each span, checked: tokens after group_end see neither [start, end) nor
    [undo_at, group_end)."""
    n = len(ids)
    for span in prune_spans:
        start, end, undo_at = (int(v) for v in span)
        if not (0 <= start <= end <= undo_at < n and ids[undo_at] == undo_id):
            raise ValueError(
                f"prune span {list(span)} does not fit a sequence of {n} tokens with <UNDO> at its third index"
            )
        yield start, end, undo_at, undo_run_end(ids, undo_at, undo_id)


def additive(visible: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
    """0 where visible, the dtype's min elsewhere (min, not -inf: a fully masked row then gives no NaN)."""
    return torch.zeros(visible.shape, dtype=dtype).masked_fill_(~visible, torch.finfo(dtype).min)


def attention_inputs(
    input_ids: Sequence[int],
    position_ids: Sequence[int] | None,
    prune_spans: Sequence[Sequence[int]],
    context_mode: str,
    *,
    undo_id: int,
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Tensor]:
    """(mask [1, 1, L, L] additive float, position_ids [1, L] long) of one row.

    `position_ids` are used as given (an exported row's); when None they are derived: arange in soft
    mode, and in hard mode each token's count of visible keys minus one, which is what the exporter
    writes (survivors continue from the surviving prefix, an `<UNDO>` follows its predecessor).
    """
    visible = visibility(input_ids, prune_spans, context_mode, undo_id=undo_id)
    if position_ids is None:
        positions = visible.sum(-1) - 1
    else:
        positions = torch.as_tensor(position_ids, dtype=torch.long)
        if positions.shape != (visible.shape[0],):
            raise ValueError(f"{positions.numel()} position ids for {visible.shape[0]} tokens")
    return additive(visible, dtype)[None, None], positions[None]


def batch_attention_inputs(
    rows: Sequence[Mapping],
    *,
    undo_id: int,
    pad_to_multiple_of: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> dict[str, Tensor]:
    """A right-padded batch: input_ids [B, L], attention_mask [B, 1, L, L], position_ids [B, L], labels [B, L].

    Each row carries input_ids, position_ids (optional), prune_spans and context_mode, and labels
    (all rows or none; padded with -100). Padding keys are masked; a padding query attends to itself
    only, so no attention row is empty (an empty row gives NaN under sdpa). Padding ids are 0.
    """
    out = padded_columns(rows, pad_to_multiple_of=pad_to_multiple_of)
    batch, length = out["input_ids"].shape
    mask = additive(torch.eye(length, dtype=torch.bool).expand(batch, 1, length, length), dtype)
    for b, row in enumerate(rows):
        n = len(row["input_ids"])
        row_mask, row_positions = attention_inputs(
            row["input_ids"],
            row.get("position_ids"),
            row["prune_spans"],
            row["context_mode"],
            undo_id=undo_id,
            dtype=dtype,
        )
        out["position_ids"][b, :n] = row_positions[0]
        mask[b, 0, :n, :n] = row_mask[0, 0]
    return {
        "input_ids": out["input_ids"],
        "attention_mask": mask,
        "position_ids": out["position_ids"],
        **({"labels": out["labels"]} if "labels" in out else {}),
    }


def padded_columns(rows: Sequence[Mapping], *, pad_to_multiple_of: int | None = None) -> dict[str, Tensor]:
    """input_ids, position_ids (the rows' own, 0 where a row has none) and labels (when every row has them),
    right-padded with 0 and -100."""
    if not rows:
        raise ValueError("an empty batch")
    with_labels = ["labels" in row for row in rows]
    if any(with_labels) and not all(with_labels):
        raise ValueError("either every row carries labels or none does")
    length = max(len(row["input_ids"]) for row in rows)
    if pad_to_multiple_of:
        length = -(-length // pad_to_multiple_of) * pad_to_multiple_of
    batch = len(rows)
    out = {
        "input_ids": torch.zeros(batch, length, dtype=torch.long),
        "position_ids": torch.zeros(batch, length, dtype=torch.long),
    }
    if all(with_labels):
        out["labels"] = torch.full((batch, length), IGNORE, dtype=torch.long)
    for b, row in enumerate(rows):
        n = len(row["input_ids"])
        out["input_ids"][b, :n] = torch.as_tensor(row["input_ids"], dtype=torch.long)
        if row.get("position_ids") is not None:
            if len(row["position_ids"]) != n:
                raise ValueError(f"{len(row['position_ids'])} position ids for {n} tokens")
            out["position_ids"][b, :n] = torch.as_tensor(row["position_ids"], dtype=torch.long)
        if "labels" in out:
            out["labels"][b, :n] = torch.as_tensor(row["labels"], dtype=torch.long)
    return out


def undo_groups(completion_ids: Sequence[int], undo_id: int, popped_by: Sequence[int]) -> list[list[int]]:
    """Prune spans [start, end, undo_at] (completion indices) of a trace, one per run of `<UNDO>`.

    A run that pops nothing (a no-op undo at the completion start) still gets a span, [u, u, u],
    so that its `<UNDO>`s are hidden from later tokens as they were from the decoder.
    Everything in [start, undo_at) was popped, by this run or an earlier one: the stack is popped
    from the top, so a token above the run's deepest pop was popped before it.
    """
    spans, i = [], 0
    while i < len(completion_ids):
        if completion_ids[i] != undo_id:
            i += 1
            continue
        run_end = undo_run_end(completion_ids, i, undo_id)
        popped = [t for t, by in enumerate(popped_by) if i <= by < run_end]
        spans.append([min(popped, default=i), i, i])
        i = run_end
    return spans


def trace_columns(
    prompt_ids: Sequence[int],
    completion_ids: Sequence[int],
    *,
    undo_id: int,
    unit: UndoUnit,
    delimiters: frozenset[int],
    context_mode: str = "hard",
) -> dict:
    """The columns of a decoded trace, so a rollout can be scored exactly as the decoder saw it.

    input_ids, position_ids, prune_spans (absolute indices), context_mode, and emitted_from: for
    each completion token, the index in input_ids whose logits emitted it (in hard mode, the stack
    top when it was emitted, not the token before it, which may be an `<UNDO>`).
    """
    if context_mode not in CONTEXT_MODES:
        raise ValueError(f"unknown context mode {context_mode!r} (expected soft or hard)")
    p = len(prompt_ids)
    if p == 0:
        raise ValueError("a trace needs a non-empty prompt")
    completion = list(completion_ids)
    if context_mode == "soft":
        positions = list(range(p + len(completion)))
        spans: list[list[int]] = []
        emitted_from = [p - 1 + j for j in range(len(completion))]
    else:
        run = replay(completion, undo_id, unit, delimiters)
        positions = hard_position_ids(p, completion, undo_id, run)
        spans = [[p + s, p + e, p + u] for s, e, u in undo_groups(completion, undo_id, run.popped_by)]
        emitted_from = [p + parent for parent in run.parent]  # PROMPT_END (-1): the prompt's last token
    return {
        "input_ids": list(prompt_ids) + completion,
        "position_ids": positions,
        "prune_spans": spans,
        "context_mode": context_mode,
        "emitted_from": emitted_from,
    }
