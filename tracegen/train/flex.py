"""The hard mask in O(L): `erased_at`, one number per token, and a FlexAttention `BlockMask` built from it.

A hard row's visibility (tracegen.train.masks) has a simple shape: key k is visible to query q
when k <= q and k has not been erased yet, and a key, once erased, stays erased. So the whole
[L, L] mask is the vector `erased_at[k]`, the first position that no longer sees key k (the end of
the `<UNDO>` run that hides it; the row's padded length when nothing does):

    visible(q, k) = k <= q and erased_at[k] > q

For models loaded with `attn_implementation="flex_attention"`, `block_mask` turns that vector into
a `BlockMask` directly: per (query block, key block) it decides from the block's smallest and
largest `erased_at` whether the block is fully visible, empty or partial (only partial blocks run
the mask function), in O((L / block)^2) small-integer work instead of the [L, L] evaluation
`create_block_mask` does. transformers passes a 4D `BlockMask` to the attention layers unchanged.
Right padding needs nothing more: a real query never sees a later (padding) key, and a padding
query sees earlier keys causally, so no row is empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from tracegen.train.masks import CONTEXT_MODES, padded_columns, prune_groups

BLOCK_SIZE = 128


def erased_at(
    input_ids: Sequence[int],
    prune_spans: Sequence[Sequence[int]],
    context_mode: str,
    *,
    undo_id: int,
    length: int | None = None,
) -> Tensor:
    """[length] long: for each key, the first query position that no longer sees it (`length` when none)."""
    if context_mode not in CONTEXT_MODES:
        raise ValueError(f"unknown context mode {context_mode!r} (expected soft or hard)")
    ids = input_ids.tolist() if isinstance(input_ids, Tensor) else list(input_ids)
    length = len(ids) if length is None else length
    erased = torch.full((length,), length, dtype=torch.long)
    if context_mode == "soft":
        return erased
    for start, end, undo_at, group_end in prune_groups(ids, prune_spans, undo_id):
        for lo, hi in ((start, end), (undo_at, group_end)):
            erased[lo:hi] = torch.minimum(erased[lo:hi], torch.tensor(group_end))
    return erased


def visible_from_erased_at(erased: Tensor) -> Tensor:
    """[..., L, L] bool from [..., L] erased_at: what the mask function computes, materialised (for tests and the dense
    path)."""
    length = erased.shape[-1]
    q = torch.arange(length)[:, None]
    k = torch.arange(length)[None, :]
    return (k <= q) & (erased[..., None, :] > q)


def block_mask(erased: Tensor, *, block_size: int = BLOCK_SIZE):
    """A FlexAttention BlockMask [B, 1, L, L] from erased_at [B, L] (see the module docstring); `.to(device)` moves
    all of it (tracegen.train.erased_block_mask)."""
    from tracegen.train.erased_block_mask import ErasedAtBlockMask  # torch >= 2.5; only the flex path needs it

    batch, length = erased.shape
    blocks = -(-length // block_size)
    padded = torch.full((batch, blocks * block_size), length, dtype=torch.long, device=erased.device)
    padded[:, :length] = erased
    per_block = padded.view(batch, blocks, block_size)
    lowest, highest = per_block.min(-1).values, per_block.max(-1).values  # [B, kv block]
    first_q = torch.arange(blocks, device=erased.device) * block_size  # [q block]
    last_q = first_q + block_size - 1
    q_block = torch.arange(blocks, device=erased.device)[:, None]
    kv_block = torch.arange(blocks, device=erased.device)[None, :]
    before = kv_block < q_block  # every key of the block precedes every query of the block
    full = before & (
        lowest[:, None, :] > last_q[:, None]
    )  # [B, q block, kv block]: no key erased before the block's last query
    empty = (kv_block > q_block) | (
        highest[:, None, :] <= first_q[:, None]
    )  # all keys later, or all erased before the block's first query
    partial = ~full & ~empty
    tables = (*_indices(partial), *_indices(full))
    return ErasedAtBlockMask.build(padded, tables, block_size=block_size, length=length)


def _indices(chosen: Tensor) -> tuple[Tensor, Tensor]:
    """[B, Q] counts and [B, Q, KV] block indices (chosen first, in order) with a head dimension of 1, as BlockMask
    wants them."""
    counts = chosen.sum(-1, dtype=torch.int32)
    order = torch.argsort((~chosen).to(torch.int8), dim=-1, stable=True).to(torch.int32)
    return counts[:, None], order[:, None]


def flex_batch(
    rows: Sequence[Mapping], *, undo_id: int, pad_to_multiple_of: int | None = None, block_size: int = BLOCK_SIZE
) -> dict:
    """A right-padded batch like masks.batch_attention_inputs, with a BlockMask as attention_mask.

    Rows need their `position_ids` (every exported row has them; tracegen.train.masks.trace_columns
    makes them for a decoded trace).
    """
    if any(row.get("position_ids") is None for row in rows):
        raise ValueError("the flex mask needs each row's position_ids")
    out = padded_columns(rows, pad_to_multiple_of=pad_to_multiple_of)
    length = out["input_ids"].shape[1]
    erased = torch.stack(
        [
            erased_at(row["input_ids"], row["prune_spans"], row["context_mode"], undo_id=undo_id, length=length)
            for row in rows
        ]
    )
    return {**out, "attention_mask": block_mask(erased, block_size=block_size)}
