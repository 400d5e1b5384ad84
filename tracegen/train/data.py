"""A tracegen dataset as a trainer batches it: held-out rows and padded batches.

The dataset itself (rows, manifest and the exact tokenizer its token columns were made with) is
read by tracegen.dataset.load.open_dataset.

Batches follow the row's context mode (DESIGN.md section 4). Soft rows get a 2D padding mask, so
the model builds its own causal mask and keeps its fast attention paths. Hard rows get the 4D
additive mask and position ids of tracegen.train.masks, the one mask builder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from tracegen.columns import IGNORE
from tracegen.errors import InputError
from tracegen.train.flex import flex_batch
from tracegen.train.masks import batch_attention_inputs

MASK_KINDS = ("dense", "flex")

TRAIN_COLUMNS = ["input_ids", "labels", "position_ids", "prune_spans", "context_mode"]
"""What a batch is made of; the text columns stay in the rows for evaluation."""


def held_out(rows, count: int, seed: int):
    """(train, eval): `count` rows drawn at random (seeded) for evaluation, the rest for training."""
    if not 0 < count < len(rows):
        raise InputError(f"cannot hold out {count} of {len(rows)} rows for evaluation", field="eval_rows")
    parts = rows.train_test_split(test_size=count, seed=seed, shuffle=True)
    return parts["train"], parts["test"]


class TraceCollator:
    """Rows (dicts of token columns) -> a right-padded batch of tensors for a causal LM.

    Soft batches: input_ids, attention_mask [B, L] (1 = token), labels. Hard batches (any hard
    row): input_ids, position_ids, labels and, with `mask="dense"` (eager and sdpa attention),
    attention_mask [B, 1, L, L] additive in `dtype`; with `mask="flex"` (models loaded with
    `attn_implementation="flex_attention"`), a FlexAttention BlockMask built from each row's
    `erased_at` vector (tracegen.train.flex): O(L) per row instead of O(L^2).
    Padding ids are 0 and padding labels -100, so padding never reaches the loss.
    """

    def __init__(
        self,
        undo_id: int,
        *,
        dtype: torch.dtype = torch.float32,
        pad_to_multiple_of: int | None = None,
        mask: str = "dense",
    ):
        if mask not in MASK_KINDS:
            raise ValueError(f"unknown mask kind {mask!r} (expected {' or '.join(MASK_KINDS)})")
        self.undo_id, self.dtype, self.pad_to_multiple_of, self.mask = undo_id, dtype, pad_to_multiple_of, mask

    def __call__(self, rows: Sequence[Mapping]) -> dict[str, Tensor]:
        if missing := [key for key in ("input_ids", "labels", "context_mode") if key not in rows[0]]:
            raise KeyError(
                f"a row has no {missing[0]!r} column: the trainer removed it before the collator ran "
                "(TRL: use tracegen.integrations.trl.TraceSFTTrainer, or SFTConfig(remove_unused_columns=False))"
            )
        if "branch" in rows[0]:  # rows of the branches layout: plain causal, whatever their packed trace's mode
            return self._soft(rows)
        rows = [{key: row[key] for key in TRAIN_COLUMNS if key in row} for row in rows]
        if any(row["context_mode"] == "hard" for row in rows):
            if self.mask == "flex":
                return flex_batch(rows, undo_id=self.undo_id, pad_to_multiple_of=self.pad_to_multiple_of)
            return batch_attention_inputs(
                rows, undo_id=self.undo_id, pad_to_multiple_of=self.pad_to_multiple_of, dtype=self.dtype
            )
        return self._soft(rows)

    def _soft(self, rows: Sequence[Mapping]) -> dict[str, Tensor]:
        length = max(len(row["input_ids"]) for row in rows)
        if self.pad_to_multiple_of:
            length = -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of
        input_ids = torch.zeros(len(rows), length, dtype=torch.long)
        attention_mask = torch.zeros(len(rows), length, dtype=torch.long)
        labels = torch.full((len(rows), length), IGNORE, dtype=torch.long)
        for b, row in enumerate(rows):
            n = len(row["input_ids"])
            input_ids[b, :n] = torch.as_tensor(row["input_ids"], dtype=torch.long)
            attention_mask[b, :n] = 1
            labels[b, :n] = torch.as_tensor(row["labels"], dtype=torch.long)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
