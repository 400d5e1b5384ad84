"""Picking the next token: greedy, or sampling with transformers' own temperature, top-k and top-p warpers."""

from __future__ import annotations

import torch
from torch import Tensor
from transformers import LogitsProcessorList, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper


class TokenChooser:
    def __init__(
        self, *, temperature: float, top_k: int | None, top_p: float | None, seed: int | None, device: torch.device
    ):
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0 (0 is greedy), got {temperature}")
        self.greedy = temperature == 0
        if self.greedy and (top_k is not None or top_p is not None):
            raise ValueError("top_k and top_p need sampling (a temperature above 0)")
        warpers = [TemperatureLogitsWarper(float(temperature))] if not self.greedy else []
        if top_k is not None:
            warpers.append(TopKLogitsWarper(top_k))
        if top_p is not None:
            warpers.append(TopPLogitsWarper(top_p))
        self.warpers = LogitsProcessorList(warpers)
        self.generator = torch.Generator(device=device).manual_seed(seed) if seed is not None else None

    def __call__(self, scores: Tensor) -> Tensor:
        """One token id per row of `scores` [B, V]."""
        if self.greedy:
            return scores.argmax(-1)
        probs = self.warpers(None, scores).softmax(-1)
        return torch.multinomial(probs, 1, generator=self.generator).squeeze(1)
