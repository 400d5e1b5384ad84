"""Writing a dataset folder: parquet shards (and JSONL), published atomically.

Everything is written into a hidden staging folder next to the output and renamed into place
only when complete, so an interrupted or failed build never leaves a folder that looks finished.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tracegen.dataset.layout import DATA_DIR, JSONL_DIR, shard_stem
from tracegen.dataset.schema import SCHEMA
from tracegen.errors import InputError


def check_output_folder(out: Path, *, overwrite: bool) -> None:
    """Refuse, before any work, an output folder that cannot or may not be written."""
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


def _remove_leftovers(out: Path) -> None:
    """Staging folders of writers that were killed (SIGKILL, power loss) before they could clean up."""
    for leftover in [*out.parent.glob(f".{out.name}.partial-*"), *out.parent.glob(f".{out.name}.old-*")]:
        pid = leftover.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        if ".old-" in leftover.name and not out.exists():
            leftover.rename(out)  # killed between moving the previous output aside and putting the new one in place
        else:
            shutil.rmtree(leftover, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def staged_output(out: Path, *, overwrite: bool) -> Iterator[Path]:
    """Yield a staging folder; on success it replaces `out`, on any failure it is removed."""
    check_output_folder(out, overwrite=overwrite)
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(out)
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


ROW_GROUP_ROWS = 10_000
"""Rows per parquet row group: a file is written a row group at a time, so a build's memory stays one
row group's worth however many rows a file gets (a file of at most this many rows is one row group)."""


class SplitWriter:
    """Rows of one split, as arrow tables -> `data/<split>-NNNNN-of-MMMMM.parquet` (and `jsonl/` when asked).

    Rows are cut into files of `rows_per_file` and row groups of ROW_GROUP_ROWS wherever they came
    from, so the bytes do not depend on how the rows arrived (chunks, resumes, shards).
    """

    def __init__(self, root: Path, split: str, *, rows_per_file: int, jsonl: bool, schema: pa.Schema = SCHEMA):
        self.root, self.split, self.rows_per_file, self.jsonl, self.schema = root, split, rows_per_file, jsonl, schema
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._parts: list[Path] = []
        self._file: pq.ParquetWriter | None = None
        self._file_rows = 0
        self.rows = 0
        (root / DATA_DIR).mkdir(exist_ok=True)
        if jsonl:
            (root / JSONL_DIR).mkdir(exist_ok=True)

    def add(self, table: pa.Table) -> None:
        self._pending.append(table)
        self._pending_rows += table.num_rows
        self.rows += table.num_rows
        while self._pending_rows >= self._group_size():
            self._write_group(self._group_size())

    def _group_size(self) -> int:
        return min(ROW_GROUP_ROWS, self.rows_per_file - self._file_rows)

    def _write_group(self, rows: int) -> None:
        pending = pa.concat_tables(self._pending)
        # one contiguous table per row group: the bytes must not depend on how the rows arrived
        group = pending.slice(0, rows).combine_chunks()
        self._pending = [pending.slice(rows)]
        self._pending_rows -= rows
        if self._file is None:
            self._parts.append(self.root / DATA_DIR / f".{self.split}-{len(self._parts):05d}.parquet")
            self._file = pq.ParquetWriter(self._parts[-1], group.schema, compression="zstd")
        self._file.write_table(group)
        if self.jsonl:
            with (self.root / JSONL_DIR / f".{self.split}-{len(self._parts) - 1:05d}.jsonl").open(
                "a", encoding="utf-8"
            ) as f:
                for row in group.to_pylist():
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._file_rows += rows
        if self._file_rows == self.rows_per_file:
            self._close_file()

    def _close_file(self) -> None:
        self._file.close()
        self._file, self._file_rows = None, 0

    def close(self) -> list[str]:
        """Name the shards `-NNNNN-of-MMMMM` now that their number is known; return their relative paths."""
        if self._pending_rows or not self._parts:
            if not self._pending:
                self._pending = [self.schema.empty_table()]
            self._write_group(self._pending_rows)
        if self._file is not None:
            self._close_file()
        total = len(self._parts)
        names = []
        for index, part in enumerate(self._parts):
            final = shard_stem(self.split, index, total)
            part.rename(part.with_name(f"{final}.parquet"))
            names.append(f"{DATA_DIR}/{final}.parquet")
            if self.jsonl:
                (self.root / JSONL_DIR / f".{self.split}-{index:05d}.jsonl").rename(
                    self.root / JSONL_DIR / f"{final}.jsonl"
                )
        return names


def write_skipped(path: Path, skipped: Iterable[dict]) -> None:
    """The rows a build wanted but did not write, one JSON object per line with the reason: nothing is dropped
    silently."""
    with path.open("w", encoding="utf-8") as f:
        for entry in skipped:
            f.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
