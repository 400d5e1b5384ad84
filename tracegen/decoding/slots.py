"""A batch's KV cache seen as slots: which token of which row each column holds, and who still sees it.

Every forward appends one column (one slot per row). An `<UNDO>` in hard mode kills slots of one
row: the 2D attention mask over cache columns hides them from that row, which transformers turns
into the 4D mask of every attention implementation. Columns dead in every row at the end of the
cache are dropped with `DynamicCache.crop(-n)` (with one row, every undo ends that way: a physical
trim). When holes waste enough columns, each row's live slots are gathered to the right
(compaction); keys already carry their rotary positions, so moving them changes nothing.
"""

from __future__ import annotations

import inspect

import torch
from torch import Tensor
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

PAD_SLOT = torch.iinfo(torch.long).min
"""The id of a padding slot; a real slot's id is its trace index, or k - len(prompt) for prompt token k."""
MIN_HOLES = 32
"""Compact only when at least this many columns (and a quarter of the cache) would go."""


class SlotCache:
    def __init__(self, model, prompts: list[list[int]], *, pad_id: int, capacity: int):
        self.model = model
        self.device = next(model.parameters()).device
        self.cache = DynamicCache(config=model.config)
        parameters = inspect.signature(model.forward).parameters
        self.keep_last = {"logits_to_keep": 1} if "logits_to_keep" in parameters else {}
        # transformers >= 5.2x names the cache argument `cache` and warns on every call that passes `past_key_values`
        self.cache_argument = "cache" if "cache" in parameters else "past_key_values"
        width = max(len(p) for p in prompts)
        self.alive = torch.zeros(len(prompts), width + capacity, dtype=torch.bool)
        self.slot_ids = torch.full(self.alive.shape, PAD_SLOT, dtype=torch.long)
        self.prompt = torch.full((len(prompts), width), pad_id, dtype=torch.long)
        for row, ids in enumerate(prompts):  # left padding: every row's prompt ends at column width - 1
            self.prompt[row, width - len(ids) :] = torch.as_tensor(ids)
            self.alive[row, width - len(ids) : width] = True
            self.slot_ids[row, width - len(ids) : width] = torch.arange(-len(ids), 0)
        self.alive, self.slot_ids, self.prompt = (
            self.alive.to(self.device),
            self.slot_ids.to(self.device),
            self.prompt.to(self.device),
        )
        self.length = width

    def prefill(self) -> Tensor:
        """Logits [B, V] at each prompt's last token; positions start at 0 at each row's first real token."""
        mask = self.alive[:, : self.length]
        positions = (mask.long().cumsum(1) - 1).clamp(min=0)
        out = self.model(
            input_ids=self.prompt,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            **{self.cache_argument: self.cache},
            **self.keep_last,
        )
        return out.logits[:, -1].float()

    def step(self, tokens: Tensor, positions: Tensor, slot_ids: Tensor) -> Tensor:
        """Feed one token per row into a new column; logits [B, V] of the new states."""
        column = self.length
        self.alive[:, column] = True
        self.slot_ids[:, column] = slot_ids
        self.length = column + 1
        out = self.model(
            input_ids=tokens[:, None],
            attention_mask=self.alive[:, : self.length],
            position_ids=positions[:, None],
            use_cache=True,
            **{self.cache_argument: self.cache},
        )
        return out.logits[:, -1].float()

    def trimmable(self) -> bool:
        """Holes need every layer to keep every slot (no sliding window, no recurrent state)."""
        return all(type(layer) is DynamicLayer for layer in self.cache.layers)

    def kill(self, row: int, slot_ids: list[int]) -> None:
        """Hide the slots holding these ids from `row` (ids are unique among a row's live slots)."""
        width = self.length
        hit = torch.isin(self.slot_ids[row, :width], torch.tensor(slot_ids, device=self.device))
        self.alive[row, :width] &= ~hit

    def select(self, keep: Tensor) -> None:
        """Keep only these batch rows (finished rows leave the batch)."""
        self.cache.batch_select_indices(keep)
        self.alive, self.slot_ids = self.alive[keep], self.slot_ids[keep]

    def tidy(self) -> None:
        """Crop columns that no row sees any more at the end; compact when holes waste enough columns."""
        seen = self.alive[:, : self.length].any(0).nonzero()
        end = int(seen.max()) + 1 if seen.numel() else 0
        if end < self.length:
            self.cache.crop(end - self.length)
            self.length = end
        widest = int(self.alive[:, : self.length].sum(1).max())
        if self.length - widest >= max(MIN_HOLES, self.length // 4):
            self._compact(widest)

    def _compact(self, widest: int) -> None:
        """Gather each row's live slots, in order, into the last `widest` columns."""
        width = self.length
        order = torch.sort(self.alive[:, :width].to(torch.uint8), dim=1, stable=True).indices[:, width - widest :]
        for layer in self.cache.layers:
            if layer.is_initialized:
                layer.keys = layer.keys.gather(
                    2, order[:, None, :, None].expand(-1, layer.keys.shape[1], -1, layer.keys.shape[3])
                )
                layer.values = layer.values.gather(
                    2, order[:, None, :, None].expand(-1, layer.values.shape[1], -1, layer.values.shape[3])
                )
        for buffer in (self.alive, self.slot_ids):
            buffer[:, :widest] = buffer[:, :width].gather(1, order)
        self.alive[:, widest:width] = False
        self.slot_ids[:, widest:width] = PAD_SLOT
        self.length = widest
