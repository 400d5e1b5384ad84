"""The split writer streams: files of rows_per_file rows, written a row group at a time, the same bytes however the
rows arrive."""

import hashlib
import json

import pyarrow as pa
import pyarrow.parquet as pq

from tracegen.dataset.schema import SCHEMA
from tracegen.pipeline import writer
from tracegen.pipeline.writer import SplitWriter


def rows(n: int) -> list[dict]:
    return [
        {
            "id": f"r:{i}",
            "source_id": str(i),
            "prompt": "p",
            "clean_completion": "c",
            "trace": "t",
            "answer": "1",
            "deviations": [],
            "input_ids": list(range(i % 5 + 1)),
            "labels": [-100] * (i % 5 + 1),
            "position_ids": list(range(i % 5 + 1)),
            "prune_spans": [],
            "undo_unit": "token",
            "context_mode": "soft",
        }
        for i in range(n)
    ]


def write(root, tables: list[list[dict]]) -> dict[str, str]:
    root.mkdir()
    split = SplitWriter(root, "train", rows_per_file=20, jsonl=True)
    for part in tables:
        split.add(pa.Table.from_pylist(part, schema=SCHEMA))
    names = split.close()
    assert names == [f"data/train-0000{i}-of-00003.parquet" for i in range(3)]
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_row_groups_and_files_do_not_depend_on_how_rows_arrive(tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "ROW_GROUP_ROWS", 7)
    all_rows = rows(45)
    in_one = write(tmp_path / "one", [all_rows])
    uneven = write(tmp_path / "uneven", [all_rows[:3], all_rows[3:30], all_rows[30:31], all_rows[31:]])
    assert in_one == uneven
    first = pq.ParquetFile(tmp_path / "one" / "data" / "train-00000-of-00003.parquet")
    assert [first.metadata.row_group(i).num_rows for i in range(first.num_row_groups)] == [7, 7, 6]
    last = pq.read_table(tmp_path / "one" / "data" / "train-00002-of-00003.parquet")
    assert last.to_pylist() == all_rows[40:]
    jsonl = (tmp_path / "one" / "jsonl" / "train-00002-of-00003.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in jsonl] == all_rows[40:]
