"""Reading a dataset folder that `tracegen build` wrote (or a Hub dataset repository holding one):
its manifest, the exact tokenizer its token columns were made with, and its rows.

One reader for every consumer: `tracegen check` (tracegen.dataset.check), the trainers (tracegen.train)
and the public `tracegen.open_dataset`. Nothing here imports torch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tracegen.dataset.layout import MANIFEST, TOKENIZER_DIR
from tracegen.dataset.manifest import ExportRecord, Manifest, read_manifest
from tracegen.errors import InputError, first_line
from tracegen.stepsplit import use_step_split
from tracegen.tokens import HUB_ID, TraceTokenizer, load_saved

if TYPE_CHECKING:
    from datasets import Dataset


class DatasetError(Exception):
    """The folder as a whole is broken (manifest, files, schema); one line says what."""


def load_dataset_tokenizer(out: Path, manifest: Manifest) -> TraceTokenizer:
    tokenizer_json = out / TOKENIZER_DIR / "tokenizer.json"
    if not tokenizer_json.is_file():
        raise DatasetError(f"{TOKENIZER_DIR}/tokenizer.json is missing")
    recorded = manifest.tokenizer
    if hashlib.sha256(tokenizer_json.read_bytes()).hexdigest() != recorded.sha256:
        raise DatasetError(f"{TOKENIZER_DIR}/tokenizer.json does not match the sha256 in {MANIFEST}")
    try:
        tok = load_saved(out / TOKENIZER_DIR, recorded.name)
    except InputError as e:
        raise DatasetError(f"{TOKENIZER_DIR}/: {e.reason}") from None
    if (tok.undo_id, tok.eos_id) != (recorded.undo_id, recorded.eos_id):
        raise DatasetError(
            f"{MANIFEST}: <UNDO>/EOS ids {recorded.undo_id}/{recorded.eos_id} "
            f"are not the tokenizer's {tok.undo_id}/{tok.eos_id}"
        )
    use_step_split(tok, manifest.recipe.step_split, manifest.recipe.export.undo_unit)
    return tok


@dataclass
class TraceDataset:
    """One split of a tracegen dataset and what it was made with."""

    rows: Dataset
    tok: TraceTokenizer
    manifest: Manifest
    root: Path

    @property
    def export(self) -> ExportRecord:
        return self.manifest.recipe.export

    @property
    def undo_unit(self) -> str:
        return self.export.undo_unit

    @property
    def context_mode(self) -> str:
        return self.export.context_mode

    @property
    def delimiters(self) -> frozenset[int]:
        """Step delimiters when the undo unit is `step` (the stack machine ignores them otherwise)."""
        return self.tok.delimiters if self.undo_unit == "step" else frozenset()

    def prompt_ids(self, row: Mapping) -> list[int]:
        """The prompt's tokens, as the build framed them (the leading part of `input_ids`)."""
        ids = self.tok.prompt_ids(row["prompt"], self.export.chat_template)
        if list(row["input_ids"][: len(ids)]) != ids:
            raise InputError(
                f"row {row['id']!r}: its prompt does not tokenize to the start of its input_ids",
                file=str(self.root),
                field="prompt",
            )
        return ids


def dataset_folder(source: str) -> Path:
    """A local dataset folder, or a Hub dataset repository downloaded into the Hub cache."""
    path = Path(source)
    if path.exists():
        if not (path / MANIFEST).is_file():
            raise InputError(f"not a tracegen dataset folder (no {MANIFEST})", file=source)
        return path
    if not HUB_ID.fullmatch(source):
        raise InputError("no such folder, and not a Hub dataset id", file=source, field="dataset")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id=source, repo_type="dataset"))
    except Exception as e:  # offline, not found, gated...: one line says which
        raise InputError(f"cannot download the dataset: {first_line(e)}", file=source, field="dataset") from None


def open_dataset(source: str, split: str | None = None) -> TraceDataset:
    """One split (default: the first the manifest lists) of a dataset folder or Hub id, with its tokenizer."""
    import datasets

    root = dataset_folder(source)
    manifest = read_manifest(root, shown=source)
    try:
        tok = load_dataset_tokenizer(root, manifest)
    except DatasetError as e:
        raise InputError(str(e), file=source) from None
    splits = manifest.splits
    split = split or next(iter(splits))
    if split not in splits:
        raise InputError(f"no split {split!r} (the dataset has {', '.join(splits)})", file=source, field="split")
    files = [str(root / rel) for rel in splits[split].files]
    rows = datasets.load_dataset("parquet", data_files={split: files}, split=split)
    return TraceDataset(rows=rows, tok=tok, manifest=manifest, root=root)
