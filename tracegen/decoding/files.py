"""What `tracegen decode` reads and writes: prompts from JSONL, a model from a folder or the Hub, results as JSONL."""

from __future__ import annotations

from pathlib import Path

from tracegen.dataset.layout import MANIFEST
from tracegen.errors import InputError, first_line
from tracegen.hub_names import require_hub_or_cache
from tracegen.sources.jsonl import read_jsonl_objects, require_str


def read_prompts(path: Path) -> list[str]:
    """One JSON object per line with a string field `prompt` (JSONL, so prompts can hold newlines)."""
    return [require_str(obj, "prompt", file=str(path), line=line) for line, obj in read_jsonl_objects(path)]


def load_model(name_or_path: str, device: str | None = None):
    """A transformers causal LM in eval mode, from a local folder or a Hub name, on `device` (default: cuda when there
    is one)."""
    import torch
    from transformers import AutoModelForCausalLM

    if (Path(name_or_path) / MANIFEST).is_file():
        raise InputError(
            "is a dataset folder written by tracegen build, not a model: train one on it (tracegen train msft "
            "DATASET --out RUN) and decode RUN/model",
            file=name_or_path,
            field="model",
        )
    require_hub_or_cache(name_or_path, field="model")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return AutoModelForCausalLM.from_pretrained(name_or_path).to(device).eval()
    except Exception as e:  # OSError, ValueError, Hub errors...: one line is enough
        raise InputError(f"cannot load a causal LM: {first_line(e)}", file=name_or_path, field="model") from None
