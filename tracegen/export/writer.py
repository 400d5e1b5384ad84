"""Writing a dataset folder: parquet shards (and JSONL), published atomically.

Everything is written into a hidden staging folder next to the output and renamed into place
only when complete, so an interrupted or failed build never leaves a folder that looks finished.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tracegen.errors import InputError

DEVIATION_TYPE = pa.struct(
    [
        ("kind", pa.string()),
        ("step_index", pa.int32()),
        ("char_start", pa.int32()),
        ("char_end", pa.int32()),
        ("token_start", pa.int32()),
        ("token_end", pa.int32()),
        ("undo_count", pa.int32()),
        ("detected_after", pa.int32()),
        ("reason", pa.string()),
    ]
)

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("source_id", pa.string()),
        ("prompt", pa.string()),
        ("clean_completion", pa.string()),
        ("trace", pa.string()),
        ("answer", pa.string()),
        ("deviations", pa.list_(DEVIATION_TYPE)),
        # int64: what torch wants for embedding indices and cross-entropy targets
        ("input_ids", pa.list_(pa.int64())),
        ("labels", pa.list_(pa.int64())),
        ("position_ids", pa.list_(pa.int64())),
        ("prune_spans", pa.list_(pa.list_(pa.int32()))),
        ("undo_unit", pa.string()),
        ("context_mode", pa.string()),
    ]
)

DATA_DIR = "data"
JSONL_DIR = "jsonl"
MANIFEST = "tracegen.json"
TOKENIZER_DIR = "tokenizer"


@contextmanager
def staged_output(out: Path, *, overwrite: bool) -> Iterator[Path]:
    """Yield a staging folder; on success it replaces `out`, on any failure it is removed."""
    shown = str(out)
    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", file=shown)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise InputError("exists and is not empty (pass --overwrite to replace it)", file=shown)
    if Path.cwd().resolve().is_relative_to(out):
        raise InputError("is the current folder or contains it; build into another folder", file=shown)
    blocker = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise InputError(f"cannot create it: {blocker} is a file", file=shown)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
        if out.exists():
            out.rename(old)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if old.exists() and not out.exists():
            old.rename(out)  # put the previous output back
        raise
    shutil.rmtree(old, ignore_errors=True)


class SplitWriter:
    """Rows of one split -> `data/<split>-NNNNN-of-MMMMM.parquet` (and `jsonl/` when asked)."""

    def __init__(self, root: Path, split: str, *, rows_per_file: int, jsonl: bool):
        self.root, self.split, self.rows_per_file, self.jsonl = root, split, rows_per_file, jsonl
        self._buffer: list[dict] = []
        self._parts: list[Path] = []
        self.rows = 0
        (root / DATA_DIR).mkdir(exist_ok=True)
        if jsonl:
            (root / JSONL_DIR).mkdir(exist_ok=True)

    def add(self, row: dict) -> None:
        self._buffer.append(row)
        self.rows += 1
        if len(self._buffer) >= self.rows_per_file:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer and self._parts:
            return
        part = self.root / DATA_DIR / f".{self.split}-{len(self._parts):05d}.parquet"
        pq.write_table(pa.Table.from_pylist(self._buffer, schema=SCHEMA), part, compression="zstd")
        if self.jsonl:
            with (self.root / JSONL_DIR / f".{self.split}-{len(self._parts):05d}.jsonl").open("w", encoding="utf-8") as f:
                for row in self._buffer:
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._parts.append(part)
        self._buffer = []

    def close(self) -> list[str]:
        """Name the shards `-NNNNN-of-MMMMM` now that their number is known; return their relative paths."""
        self._flush()
        total = len(self._parts)
        names = []
        for index, part in enumerate(self._parts):
            final = f"{self.split}-{index:05d}-of-{total:05d}"
            part.rename(part.with_name(f"{final}.parquet"))
            names.append(f"{DATA_DIR}/{final}.parquet")
            if self.jsonl:
                (self.root / JSONL_DIR / f".{self.split}-{index:05d}.jsonl").rename(self.root / JSONL_DIR / f"{final}.jsonl")
        return names
