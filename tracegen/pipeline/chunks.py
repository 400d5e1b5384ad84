"""Finished work of a build, kept so that a killed build resumes and a split build can be merged.

A build cuts its problems into chunks of `CHUNK_PROBLEMS` (chunk k = problems k*C .. (k+1)*C-1)
and writes each finished chunk as one parquet file: its rows, plus a summary in the file's
metadata (counts by kind and drop reason, rows not written). A chunk file is written under a
temporary name and renamed, so it is either complete or absent, whatever kills the process.

The chunks live in a work folder next to the output, `.<name>.tracegen-work/`, with the
fingerprint of everything that decides their content (tracegen version, recipe, inputs,
tokenizer). Rerun with the same fingerprint, a build does only the chunks that are missing;
with another fingerprint it starts over. The finished dataset is assembled from the chunk
files alone, so an interrupted-and-resumed build, a one-go build and a merge of shard builds
all write the same bytes.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tracegen.dataset.layout import CHUNKS_DIR
from tracegen.dataset.schema import SCHEMA
from tracegen.errors import InputError

CHUNK_PROBLEMS = 64
FINGERPRINT = "fingerprint.json"
_SUMMARY_KEY = b"tracegen.chunk"


def chunk_count(problems: int) -> int:
    return (problems + CHUNK_PROBLEMS - 1) // CHUNK_PROBLEMS


def chunk_name(index: int) -> str:
    return f"chunk-{index:06d}.parquet"


def write_chunk(path: Path, rows: list[dict], summary: dict) -> None:
    """Rows + summary as one parquet file, renamed into place only when complete."""
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), _SUMMARY_KEY: json.dumps(summary, sort_keys=True).encode()}
    )
    temporary = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, temporary, compression="zstd")
    os.replace(temporary, path)


def read_summary(path: Path) -> dict:
    """A chunk's summary alone, from the file's footer: no rows are read."""
    return json.loads(pq.read_schema(path).metadata[_SUMMARY_KEY])


def read_chunk(path: Path) -> tuple[pa.Table, dict]:
    table = pq.read_table(path)
    summary = json.loads(table.schema.metadata[_SUMMARY_KEY])
    return table.replace_schema_metadata(None), summary


class WorkFolder:
    """The chunks finished so far for one output folder (see the module docstring)."""

    def __init__(self, path: Path):
        self.path = path

    @property
    def chunks(self) -> Path:
        return self.path / CHUNKS_DIR

    def done(self) -> set[int]:
        return {int(p.name[6:12]) for p in self.chunks.glob("chunk-*.parquet")}

    def chunk_path(self, index: int) -> Path:
        return self.chunks / chunk_name(index)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _stored_fingerprint(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def work_folder_for(out: Path) -> Path:
    out = Path(out).resolve()
    return out.parent / f".{out.name}.tracegen-work"


@contextmanager
def open_work_folder(out: Path, fingerprint: dict) -> Iterator[tuple[WorkFolder, int]]:
    """The work folder of `out`, locked against a second build of the same output; and how many chunks it already has.

    Finished chunks are kept when the build stops for any reason (Ctrl-C, a crash, SIGKILL), so
    that rerunning the same command resumes.
    """
    path = work_folder_for(out)
    path.mkdir(parents=True, exist_ok=True)
    with (path / ".lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError("another tracegen build is writing this output folder now", file=str(out)) from None
        if _stored_fingerprint(path / FINGERPRINT) != fingerprint:
            shutil.rmtree(path / CHUNKS_DIR, ignore_errors=True)
            temporary = path / f".{FINGERPRINT}.tmp"
            temporary.write_text(json.dumps(fingerprint, sort_keys=True), encoding="utf-8")
            os.replace(temporary, path / FINGERPRINT)
        work = WorkFolder(path)
        work.chunks.mkdir(exist_ok=True)
        for leftover in work.chunks.glob(".*.tmp"):
            leftover.unlink()
        yield work, len(work.done())
