"""The masked-SFT loss: exactly the `labels` column, in the transformers convention (the target of position i is
labels[i + 1])."""

from __future__ import annotations

from collections.abc import Mapping

import torch.nn.functional as F
from torch import Tensor

from tracegen.columns import IGNORE


def model_inputs(batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """What the model's forward takes from a collated batch (everything but the labels)."""
    return {key: value for key, value in batch.items() if key != "labels"}


def label_loss(logits: Tensor, labels: Tensor) -> tuple[Tensor, int]:
    """(sum of cross-entropies over labelled positions, how many there are).

    A sum, not a mean, so that a trainer can weight every labelled token of an optimizer step
    equally however they fall into micro-batches and processes.
    """
    targets = labels[:, 1:]
    total = F.cross_entropy(
        logits[:, :-1].flatten(0, 1).float(), targets.flatten(), ignore_index=IGNORE, reduction="sum"
    )
    return total, labelled_tokens(labels)


def labelled_tokens(labels: Tensor) -> int:
    """How many positions of a batch carry a target."""
    return int((labels[:, 1:] != IGNORE).sum())
