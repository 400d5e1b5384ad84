"""`tracegen check OUT`: re-derive every invariant of every row from first principles.

The rules are written independently of the exporter (their own stack walks, prefix decodes and
span arithmetic), so a bug in the exporter shows up as a named rule failing on a named row
rather than being reproduced by the same code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tracegen.dataset.check_rows import RowContext, RowError, check_row, expect
from tracegen.dataset.layout import CARD, DATA_DIR, JSONL_DIR, MANIFEST, jsonl_twin
from tracegen.dataset.load import DatasetError, load_dataset_tokenizer
from tracegen.dataset.manifest import Manifest, read_manifest
from tracegen.dataset.schema import SCHEMA
from tracegen.errors import InputError
from tracegen.rows.branches import BranchError, BranchVerifier, layout_schema


@dataclass
class CheckReport:
    rows: int
    failure: str | None = None


def check_dataset(out: Path, on_progress: Callable[[int], None] = lambda n: None) -> CheckReport:
    out = Path(out)
    if not (out / MANIFEST).is_file():
        raise InputError(f"not a tracegen dataset folder (no {MANIFEST})", file=str(out))
    checked = 0
    try:
        manifest = read_manifest(out)
    except InputError as e:  # a broken manifest is a failed check, like a broken row
        return CheckReport(checked, str(e))
    export = manifest.recipe.export
    try:
        tok = load_dataset_tokenizer(out, manifest)
        ctx = RowContext.for_export(tok, export, manifest.recipe.answer_format)
        _expect_files(out, manifest)
        branches = BranchVerifier(ctx, lambda packed: check_row(packed, ctx)) if export.layout == "branches" else None
        ids: set[str] = set()
        for split, info in manifest.splits.items():
            split_rows = 0
            for rel in info.files:
                for row in _rows(out, rel, jsonl=export.format == "jsonl", schema=layout_schema(export.layout)):
                    try:
                        if branches:
                            branches.add(row)
                        else:
                            check_row(row, ctx)
                        expect(
                            _id_matches(row, manifest.recipe.name),
                            "id",
                            f"id {row['id']!r} is not recipe:source_id[:variant]",
                        )
                        expect(row["id"] not in ids or row.get("branch"), "id", f"id {row['id']!r} appears twice")
                    except (RowError, BranchError) as e:
                        return CheckReport(
                            checked, f"{rel} row {split_rows} (id {row.get('id')}): rule '{e.rule}': {e.detail}"
                        )
                    except (KeyError, TypeError, ValueError, IndexError) as e:  # a null, a wrong type, a missing key
                        return CheckReport(checked, f"{rel} row {split_rows}: malformed row ({type(e).__name__}: {e})")
                    ids.add(row["id"])
                    split_rows += 1
                    checked += 1
                    if checked % 512 == 0:
                        on_progress(512)
            try:
                if branches:
                    branches.finish()  # the split's last trace
            except (RowError, BranchError) as e:
                return CheckReport(checked, f"split {split}, its last trace: rule '{e.rule}': {e.detail}")
            if split_rows != info.rows:
                return CheckReport(checked, f"split {split}: {split_rows} rows on disk, {MANIFEST} says {info.rows}")
    except DatasetError as e:
        return CheckReport(checked, str(e))
    on_progress(checked % 512)
    return CheckReport(checked)


def _id_matches(row: dict, recipe_name: str) -> bool:
    """`recipe:source_id`, or `recipe:source_id:model:k` for rows made one per weak solution."""
    base = f"{recipe_name}:{row['source_id']}"
    return row["id"] == base or (row["id"].startswith(base + ":") and len(row["id"]) > len(base) + 1)


def _expect_files(out: Path, manifest: Manifest) -> None:
    """The data folders hold exactly the files the manifest lists (a stray shard would be loaded too), and the card
    exists."""
    listed = set(manifest.files)
    if manifest.recipe.export.format == "jsonl":
        listed |= {jsonl_twin(rel) for rel in listed}
    present = {
        str(p.relative_to(out))
        for folder in (DATA_DIR, JSONL_DIR)
        if (out / folder).is_dir()
        for p in (out / folder).iterdir()
    }
    if missing := sorted(listed - present):
        raise DatasetError(f"{missing[0]}: listed in {MANIFEST} but missing")
    if extra := sorted(present - listed):
        raise DatasetError(f"{extra[0]}: not listed in {MANIFEST} (it would be loaded as data)")
    if not (out / CARD).is_file():
        raise DatasetError(f"{CARD} (the dataset card) is missing")


def _rows(out: Path, rel: str, *, jsonl: bool, schema: pa.Schema = SCHEMA) -> Iterator[dict]:
    """Rows of one parquet shard, checked against the schema and, when written, against its JSONL twin."""
    try:
        shard = pq.ParquetFile(out / rel)
        if not shard.schema_arrow.equals(schema):
            raise DatasetError(
                f"{rel}: schema differs from tracegen's ({_schema_difference(shard.schema_arrow, schema)})"
            )
        twin = (out / jsonl_twin(rel)).open(encoding="utf-8") if jsonl else None
        for batch in shard.iter_batches(batch_size=512):
            for row in batch.to_pylist():
                if twin is not None and json.loads(twin.readline() or "null") != row:
                    raise DatasetError(f"{jsonl_twin(rel)}: differs from {rel} at a row with id {row.get('id')}")
                yield row
        if twin is not None and twin.readline():
            raise DatasetError(f"{jsonl_twin(rel)}: has more rows than {rel}")
    except (OSError, pa.ArrowException, ValueError) as e:
        raise DatasetError(
            f"{rel}: unreadable ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
        ) from None


def _schema_difference(schema: pa.Schema, expected: pa.Schema) -> str:
    for field in expected:
        if field.name not in schema.names:
            return f"no column {field.name!r}"
        if not schema.field(field.name).type.equals(field.type):
            return f"column {field.name!r} is {schema.field(field.name).type}, expected {field.type}"
    return f"extra columns {sorted(set(schema.names) - set(expected.names))}"
