"""The default tokenizer embedded in the package, so tracegen works offline.

It is a small byte-level BPE (4096 tokens) trained on GSM8K train by `scripts/train_tokenizer.py`
(see that script for the design): exact round trips, every "\\n" and every digit its own token,
`<|endoftext|>`=0 (bos/eos/unk), `<|pad|>`=1, `<UNDO>`=2, and a plain-text chat template.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

EMBEDDED_TOKENIZER_DIR: Path = Path(__file__).resolve().parent / "assets" / "tokenizer"


def load_embedded_tokenizer() -> PreTrainedTokenizerFast:
    """The embedded tokenizer as a transformers fast tokenizer (no network access)."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast.from_pretrained(str(EMBEDDED_TOKENIZER_DIR), local_files_only=True)
