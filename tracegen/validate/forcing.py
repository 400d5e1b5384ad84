"""A deviation forced into a decode: each row first emits given tokens, then the model decodes freely.

tracegen.decoding.decode can force whole traces (`forced`, teacher forcing that ends with them) or
`<UNDO>`s (`force_undo`), not a prefix followed by free decoding, which is what a recovery test
needs: the forced tokens must be *emitted* (on the row's stack, so an `<UNDO>` can pop them and, in
hard mode, trim them from the KV cache), not part of the prompt, which `<UNDO>` never pops.

This thin adapter wraps the model instead: the decoder makes one forward per step for all active
rows (the prefill chooses step 0), so for the first len(prefix) steps of a row it replaces that
row's logits with a one-hot of the forced token, and greedy decoding emits it. Rows leave the
batch only through the cache's `batch_select_indices`, which the adapter follows to know which
row is which; a batch of unexpected size stops with an error rather than forcing the wrong row.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import torch


class PrefixForcing(torch.nn.Module):
    """`model`, except that row r of the next `decode` call first emits `prefixes[r]` (greedy decoding only)."""

    def __init__(self, model, prefixes: Sequence[Sequence[int]]):
        super().__init__()
        self.model = model
        # hand the KV cache on under the name the model's forward takes (`cache` from transformers 5.2x, else
        # past_key_values)
        self.cache_argument = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
        self.prefixes = [list(p) for p in prefixes]
        self.cache = None
        self.active: list[int] = []
        self.step = 0

    @property
    def config(self):
        return self.model.config

    def forward(self, input_ids=None, cache=None, logits_to_keep=0, **kwargs):
        out = self.model(input_ids=input_ids, logits_to_keep=logits_to_keep, **{self.cache_argument: cache}, **kwargs)
        if cache is not self.cache:  # the prefill of a new decode: logits for step 0
            self._follow(cache, input_ids.shape[0])
        else:
            self.step += 1
        if input_ids.shape[0] != len(self.active):
            raise RuntimeError(
                f"decoding {input_ids.shape[0]} rows where {len(self.active)} are active: the decoder dropped rows "
                "other than through its cache"
            )
        logits = out.logits
        for i, row in enumerate(self.active):
            prefix = self.prefixes[row]
            if self.step < len(prefix):
                logits[i, -1] = float("-inf")
                logits[i, -1, prefix[self.step]] = 0.0
        return out

    def _follow(self, cache, rows: int) -> None:
        if rows != len(self.prefixes):
            raise ValueError(f"{len(self.prefixes)} prefixes for a batch of {rows} rows")
        self.cache, self.active, self.step = cache, list(range(rows)), 0
        select = cache.batch_select_indices

        def select_and_follow(indices):
            self.active = [self.active[i] for i in indices.tolist()]
            return select(indices)

        cache.batch_select_indices = select_and_follow
