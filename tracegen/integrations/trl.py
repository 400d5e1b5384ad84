"""TRL's `SFTTrainer` on tracegen datasets, hard mode included: `TraceSFTTrainer`.

```python
from tracegen.integrations.trl import TraceSFTTrainer
trainer = TraceSFTTrainer(model=model, processing_class=tokenizer, train_dataset=train,
args=SFTConfig(output_dir="undo-sft"))
```

Under `SFTTrainer`'s defaults a hard row cannot reach a custom collator intact, and its metrics
break: `remove_unused_columns=True` keeps only `input_ids`, `labels` and `seq_lengths` (TRL's own
signature columns), so `prune_spans`, `position_ids` and `context_mode` are gone before the
collator runs; its `max_length` truncation cuts `input_ids` and `labels` but not the columns that
index them; and it logs `num_tokens` as the sum of `attention_mask`, which in hard mode is a 4D
additive mask (a sum of float minima: `nan`) or a FlexAttention `BlockMask` (no sum at all).

`TraceSFTTrainer` is `SFTTrainer` with those three points fixed and `TraceCollator` as the default
collator (the `<UNDO>` id read from `processing_class`, the dataset's tokenizer; the mask in the
model's dtype, and a `BlockMask` for models loaded with `attn_implementation="flex_attention"`).
Everything else is TRL's. Hard rows cannot be packed (each row has its own mask): build the dataset
with `--layout branches` and use `SFTTrainer` itself for packing.
"""

from __future__ import annotations

import torch
from trl import SFTTrainer

from tracegen import UNDO_TOKEN
from tracegen.train.data import TRAIN_COLUMNS, TraceCollator


class TraceSFTTrainer(SFTTrainer):
    """`trl.SFTTrainer` that trains tracegen rows (soft or hard) through `TraceCollator`."""

    def __init__(self, *args, data_collator=None, processing_class=None, **kwargs):
        sft_args = kwargs.get("args") if "args" in kwargs else (args[1] if len(args) > 1 else None)
        if sft_args is not None and (sft_args.packing or sft_args.padding_free):
            raise ValueError(
                "hard rows cannot be packed (each has its own attention mask): build with --layout branches and "
                "train with SFTTrainer and its own collator"
            )
        if sft_args is not None and sft_args.max_length is not None and sft_args.truncation_mode != "keep_start":
            raise ValueError(
                f"truncation_mode {sft_args.truncation_mode!r} would cut a hard row's prompt and shift its prune "
                "spans; use 'keep_start' or max_length=None"
            )
        own_collator = data_collator is None
        if own_collator:
            undo_id = processing_class.convert_tokens_to_ids(UNDO_TOKEN) if processing_class is not None else None
            if undo_id is None or undo_id == getattr(processing_class, "unk_token_id", None):
                raise ValueError(
                    f"processing_class must be the dataset's tokenizer (its tokenizer/ folder), which has {UNDO_TOKEN}"
                )
            data_collator = TraceCollator(undo_id)
        super().__init__(*args, data_collator=data_collator, processing_class=processing_class, **kwargs)
        if own_collator:
            data_collator.dtype = self.model.dtype
            data_collator.mask = "flex" if self.model.config._attn_implementation == "flex_attention" else "dense"

    def _set_signature_columns_if_needed(self):
        super()._set_signature_columns_if_needed()
        self._signature_columns += [
            column for column in [*TRAIN_COLUMNS, "branch"] if column not in self._signature_columns
        ]

    def _prepare_dataset(self, dataset, processing_class, args, packing, formatting_func, dataset_name):
        dataset = super()._prepare_dataset(dataset, processing_class, args, packing, formatting_func, dataset_name)
        columns = dataset.column_names or []
        if "prune_spans" in columns and "branch" not in columns:
            dataset = dataset.map(cut_to_input_ids)
        return dataset

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        mask = inputs.get("attention_mask")
        if mask is not None and not (isinstance(mask, torch.Tensor) and mask.dim() == 2):
            # TRL logs num_tokens as attention_mask.sum(): for a 4D or block mask that must be the count of
            # real tokens. Padding is on the right with position 0, and every real token after a row's
            # first has a position above 0.
            positions = inputs["position_ids"]
            tokens = (positions > 0).sum() + positions.shape[0]
            mask.sum = lambda: tokens  # this batch's mask only (the model never sums it)
        return super().compute_loss(
            model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
        )


def cut_to_input_ids(row: dict) -> dict:
    """A row whose `input_ids` and `labels` were cut at the end (TRL's max_length, keep_start), with its other token
    columns cut alike.

    The kept tokens see exactly what they saw: attention is causal, and a prune span whose `<UNDO>`
    run was cut away hides nothing from a kept token.
    """
    n = len(row["input_ids"])
    return {
        "position_ids": row["position_ids"][:n],
        "prune_spans": [span for span in row["prune_spans"] if span[2] < n],
    }
