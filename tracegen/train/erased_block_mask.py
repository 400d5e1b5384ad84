"""The BlockMask tracegen.train.flex builds: one that moves to a GPU whole.

Its mask function reads each row's `erased_at` vector. A plain `BlockMask.to(device)` moves the
block tables only, not the tensors its mask function holds, so a batch collated on the CPU and
moved to a GPU (accelerate and the HF Trainer move every batch value that has `.to`, a plain
training loop calls it too) failed at the first compiled flex kernel: the kernel cannot read a CPU
tensor. `ErasedAtBlockMask.to` moves `erased_at` and rebuilds the mask function around it.

Kept apart from flex.py because defining the class imports FlexAttention (torch >= 2.5), which
only the flex path needs.
"""

from __future__ import annotations

from torch import Tensor
from torch.nn.attention.flex_attention import BlockMask


def visible(erased: Tensor):
    """The mask function of a hard batch: key kv is visible to query q when kv <= q and it is not erased by q."""

    def mask_mod(b: Tensor, h: Tensor, q: Tensor, kv: Tensor) -> Tensor:
        return (kv <= q) & (erased[b, kv] > q)

    return mask_mod


class ErasedAtBlockMask(BlockMask):
    """A BlockMask whose mask function reads `erased` ([B, padded L] erased_at, padded to whole blocks)."""

    erased: Tensor

    @classmethod
    def build(
        cls, erased: Tensor, tables: tuple[Tensor, Tensor, Tensor, Tensor], *, block_size: int, length: int
    ) -> ErasedAtBlockMask:
        """From erased_at and the (partial counts, partial indices, full counts, full indices) block tables."""
        mask = cls.from_kv_blocks(
            *tables, BLOCK_SIZE=block_size, mask_mod=visible(erased), seq_lengths=(length, length)
        )
        mask.erased = erased
        return mask

    def to(self, device) -> ErasedAtBlockMask:
        tables = (self.kv_num_blocks, self.kv_indices, self.full_kv_num_blocks, self.full_kv_indices)
        return ErasedAtBlockMask.build(
            self.erased.to(device),
            tuple(table.to(device) for table in tables),
            block_size=self.BLOCK_SIZE[1],
            length=self.seq_lengths[1],
        )
