"""Statistics of a written dataset, computed from its parquet shards (for the card and its plots).

Everything is read back from the files the build wrote, not from the build's counters, so the
card describes the data as it is. Deviation kinds are whatever strings the generators wrote
(`arith_slip`, `weak:<model>`...). Distributions are kept as value counts, which stay small
however many rows there are.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tracegen.dataset.manifest import Manifest

# Drop reasons (`<generator>:<reason>`) that mean a verifier judged a candidate mistake not wrong:
# a rule's rewrite that is accidentally correct, a weak model's solution that is right or is the gold one.
VERIFICATION_REJECTS = ("accidentally_correct", "correct_solution", "same_as_gold")


@dataclass(frozen=True)
class Distribution:
    """How often each integer value occurs: `counts[i]` items have value `values[i]` (values ascending)."""

    values: tuple[int, ...]
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.counts)

    @property
    def mean(self) -> float:
        return sum(v * c for v, c in zip(self.values, self.counts)) / self.total if self.total else math.nan

    def quantile(self, q: float) -> int | None:
        """The nearest-rank quantile: the smallest value with at least q of the items at or below it."""
        if not self.total:
            return None
        rank, seen = max(1, math.ceil(q * self.total)), 0
        for value, count in zip(self.values, self.counts):
            seen += count
            if seen >= rank:
                return value
        return self.values[-1]


@dataclass(frozen=True)
class SplitStats:
    rows: int
    problems: int
    problems_with_rows: int
    rows_with_deviations: int
    deviations_by_kind: dict[str, int]
    row_tokens: Distribution  # len(input_ids): prompt + trace
    deviation_tokens: Distribution  # token_end - token_start of each deviation
    undos_per_row: Distribution  # <UNDO> tokens in a row's input_ids

    @property
    def deviations(self) -> int:
        return sum(self.deviations_by_kind.values())

    @property
    def undos(self) -> int:
        return sum(v * c for v, c in zip(self.undos_per_row.values, self.undos_per_row.counts))


@dataclass(frozen=True)
class DatasetStats:
    splits: dict[str, SplitStats]
    rejected_by_verification: (
        int  # candidate mistakes a verifier found not wrong (counted by the build, in the manifest)
    )

    @property
    def kinds(self) -> list[str]:
        return sorted({kind for split in self.splits.values() for kind in split.deviations_by_kind})

    @property
    def problems(self) -> int:
        return sum(s.problems for s in self.splits.values())

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.splits.values())

    @property
    def problems_without_rows(self) -> int:
        return sum(s.problems - s.problems_with_rows for s in self.splits.values())

    @property
    def deviations(self) -> int:
        return sum(s.deviations for s in self.splits.values())


def dataset_stats(folder: Path, manifest: Manifest) -> DatasetStats:
    """Statistics of every split the manifest lists, read from its parquet files in `folder`."""
    undo_id = manifest.tokenizer.undo_id
    splits = {
        split: _split_stats([Path(folder) / rel for rel in info.files], undo_id, problems=info.problems)
        for split, info in manifest.splits.items()
    }
    rejected = sum(
        count for reason, count in manifest.dropped.items() if reason.rpartition(":")[2] in VERIFICATION_REJECTS
    )
    return DatasetStats(splits=splits, rejected_by_verification=rejected)


STATS_BATCH_ROWS = 4096  # rows read at a time: the statistics' memory does not grow with a file's rows


def _split_stats(files: list[Path], undo_id: int, *, problems: int) -> SplitStats:
    """One batch of rows at a time, keeping only counts: memory stays flat however many rows a file holds
    (collecting per-row columns with polars held every row's token list at once: ~1.5 KB a row)."""
    row_tokens, undos, deviation_tokens, kinds = Counter(), Counter(), Counter(), Counter()
    sources: set[str] = set()
    rows = rows_with_deviations = 0
    for batch in _trace_batches(files):
        ids, deviations = batch.column("input_ids"), batch.column("deviations")
        _count(row_tokens, pc.list_value_length(ids))
        undo_rows = pc.list_parent_indices(ids).filter(pc.equal(pc.list_flatten(ids), undo_id))
        _count(undos, np.bincount(undo_rows.to_numpy(), minlength=batch.num_rows))
        rows_with_deviations += pc.sum(pc.greater(pc.list_value_length(deviations), 0)).as_py() or 0
        each = pc.list_flatten(deviations)
        _count(kinds, each.field("kind"))
        _count(deviation_tokens, pc.subtract(each.field("token_end"), each.field("token_start")))
        sources.update(batch.column("source_id").to_pylist())
        rows += batch.num_rows
    return SplitStats(
        rows=rows,
        problems=problems,
        problems_with_rows=len(sources),
        rows_with_deviations=rows_with_deviations,
        deviations_by_kind=dict(sorted(kinds.items())),
        row_tokens=_distribution(row_tokens),
        deviation_tokens=_distribution(deviation_tokens),
        undos_per_row=_distribution(undos),
    )


def _trace_batches(files: list[Path]) -> Iterator[pa.RecordBatch]:
    """The rows of `files` that are whole traces (the branches layout: branch-0 rows, their packed tokens as
    `input_ids`), with the columns the statistics read."""
    for path in files:
        parquet = pq.ParquetFile(path, pre_buffer=False)
        branches = "branch" in parquet.schema_arrow.names
        columns = ["source_id", "deviations", *(["branch", "packed_input_ids"] if branches else ["input_ids"])]
        for batch in parquet.iter_batches(batch_size=STATS_BATCH_ROWS, columns=columns, use_threads=False):
            if branches:
                batch = batch.filter(pc.equal(batch.column("branch"), 0))
                batch = pa.RecordBatch.from_arrays(
                    [batch.column("source_id"), batch.column("deviations"), batch.column("packed_input_ids")],
                    names=["source_id", "deviations", "input_ids"],
                )
            yield batch


def _count(counter: Counter, values: pa.Array | np.ndarray) -> None:
    """Add each value's occurrences in `values` to `counter` (one entry per distinct value, not per item)."""
    tallied = pc.value_counts(values)
    counter.update(dict(zip(tallied.field("values").to_pylist(), tallied.field("counts").to_pylist())))


def _distribution(counts: Counter) -> Distribution:
    values = sorted(counts)
    return Distribution(values=tuple(values), counts=tuple(counts[value] for value in values))
