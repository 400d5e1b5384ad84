"""Statistics of a written dataset, computed with polars from its parquet shards (for the card and its plots).

Everything is read back from the files the build wrote, not from the build's counters, so the
card describes the data as it is. Deviation kinds are whatever strings the generators wrote
(`arith_slip`, `weak:<model>`...). Distributions are kept as value counts, which stay small
however many rows there are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import polars as pl

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


def _split_stats(files: list[Path], undo_id: int, *, problems: int) -> SplitStats:
    shards = pl.scan_parquet(files)
    if (
        "branch" in shards.collect_schema().names()
    ):  # the branches layout: a trace is its branch-0 row, with the packed tokens
        shards = shards.filter(pl.col("branch") == 0).with_columns(input_ids=pl.col("packed_input_ids"))
    rows = shards.select(
        "source_id",
        tokens=pl.col("input_ids").list.len(),
        undos=pl.col("input_ids").list.count_matches(undo_id),
        deviations=pl.col("deviations").list.len(),
    ).collect()
    deviations = (
        shards.select(pl.col("deviations").explode().struct.unnest())
        .drop_nulls("kind")  # a row without deviations explodes to one null
        .select("kind", tokens=pl.col("token_end") - pl.col("token_start"))
        .collect()
    )
    by_kind = deviations.group_by("kind").len().sort("kind")
    return SplitStats(
        rows=rows.height,
        problems=problems,
        problems_with_rows=rows["source_id"].n_unique(),
        rows_with_deviations=int((rows["deviations"] > 0).sum()),
        deviations_by_kind=dict(zip(by_kind["kind"].to_list(), by_kind["len"].to_list())),
        row_tokens=_distribution(rows["tokens"]),
        deviation_tokens=_distribution(deviations["tokens"]),
        undos_per_row=_distribution(rows["undos"]),
    )


def _distribution(values: pl.Series) -> Distribution:
    counts = values.value_counts(name="count").sort(values.name)
    return Distribution(values=tuple(counts[values.name].to_list()), counts=tuple(counts["count"].to_list()))
