"""`tracegen check` finds corrupted rows and names the rule they break."""

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tracegen.cli import app

runner = CliRunner()


def build_gsm8k(out: Path, source: Path, *flags: str):
    """`tracegen build --recipe gsm8k` of `source` into `out`, with `flags`."""
    return runner.invoke(app, ["build", "--recipe", "gsm8k", "--source", str(source), "--out", str(out), *flags])


@pytest.fixture(scope="module")
def built(tmp_path_factory, gsm8k_small) -> Path:
    out = tmp_path_factory.mktemp("built") / "out"
    result = build_gsm8k(
        out, gsm8k_small, "--limit", "40", "--context-mode", "hard", "--set", "deviations.clean_fraction=0"
    )
    assert result.exit_code == 0, result.output
    return out


def corrupt(built: Path, tmp_path: Path, change) -> Path:
    out = tmp_path / "bad"
    shutil.copytree(built, out)
    path = next((out / "data").glob("*.parquet"))
    rows = pq.read_table(path).to_pylist()
    change(rows[7])
    pq.write_table(pa.Table.from_pylist(rows, schema=pq.read_schema(path)), path)
    return out


def _drop_one_undo(row):
    start, end, undo_at = row["prune_spans"][0]
    for key in ("input_ids", "labels", "position_ids"):
        del row[key][undo_at]


def _flip_label(row):
    i = next(i for i, x in enumerate(row["labels"]) if x != -100)
    row["labels"][i] += 1


def _shift_position(row):
    row["position_ids"][-1] += 1


def _widen_span(row):
    row["prune_spans"][0][0] -= 1


def _swap_token(row):
    row["input_ids"][-2] = (row["input_ids"][-2] + 1) % 4000 + 3


@pytest.mark.parametrize(
    "change,rule",
    [
        (_drop_one_undo, "applied_trace"),
        (_flip_label, "labels"),
        (_shift_position, "position_ids"),
        (_widen_span, "prune_spans"),
        (_swap_token, "applied_trace"),
    ],
)
def test_check_names_row_and_rule(built, tmp_path, change, rule):
    assert runner.invoke(app, ["check", str(built)]).exit_code == 0
    result = runner.invoke(app, ["check", str(corrupt(built, tmp_path, change))])
    assert result.exit_code == 1
    assert "row 7" in result.output and f"'{rule}'" in result.output


def test_check_names_both_positions_of_a_state_with_two_labels(tmp_path, gsm8k_small):
    """A step undo re-emits the correct start of a step: those positions are states seen before; labelling one
    differently is caught."""
    from tracegen.dataset.check_rows import seen_contexts

    out = tmp_path / "step"
    flags = ["--limit", "20", "--context-mode", "hard", "--undo-unit", "step", "--set", "deviations.clean_fraction=0"]
    assert build_gsm8k(out, gsm8k_small, *flags).exit_code == 0
    assert runner.invoke(app, ["check", str(out)]).exit_code == 0
    path = next((out / "data").glob("*.parquet"))
    rows = pq.read_table(path).to_pylist()
    twin = None  # (a labelled position, an unlabelled position that sees the same context)
    for index, row in enumerate(rows):  # noqa: B007 (the row found is used after the loop)
        if not row["prune_spans"]:
            continue
        undo_id = row["input_ids"][row["prune_spans"][0][2]]
        by_context = {}
        for q, context in enumerate(
            seen_contexts(row["input_ids"], row["position_ids"], row["prune_spans"], undo_id)[:-1]
        ):
            by_context.setdefault(context, []).append(q)
        labels = row["labels"]
        twin = next(
            (
                (a, b)
                for qs in by_context.values()
                for a in qs
                for b in qs
                if labels[a + 1] != -100 and labels[b + 1] == -100
            ),
            None,
        )
        if twin is not None:
            break
    assert twin is not None, "some step undo re-emits the correct start of a step"
    labelled, other = twin
    rows[index]["labels"][other + 1] = rows[index]["labels"][labelled + 1] + 1
    pq.write_table(pa.Table.from_pylist(rows, schema=pq.read_schema(path)), path)
    result = runner.invoke(app, ["check", str(out)])
    assert result.exit_code == 1
    assert (
        f"row {index}" in result.output
        and "'one_label_per_state'" in result.output
        and f"positions {min(twin)} and {max(twin)}" in result.output
    )


def test_check_on_a_folder_that_is_not_a_dataset(tmp_path):
    result = runner.invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == 2 and "not a tracegen dataset" in result.output


def test_check_catches_broken_files(built, tmp_path):
    def fresh(name):
        out = tmp_path / name
        shutil.copytree(built, out)
        return out, next((out / "data").glob("*.parquet"))

    out, shard = fresh("truncated")
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    result = runner.invoke(app, ["check", str(out)])
    assert result.exit_code == 1 and "unreadable" in result.output

    out, shard = fresh("int32")
    table = pq.read_table(shard)
    pq.write_table(
        table.set_column(table.schema.get_field_index("labels"), "labels", table["labels"].cast(pa.list_(pa.int32()))),
        shard,
    )
    result = runner.invoke(app, ["check", str(out)])
    assert result.exit_code == 1 and "schema differs" in result.output and "'labels'" in result.output

    out, shard = fresh("stray")
    shutil.copy(shard, out / "data" / "train-extra.parquet")
    result = runner.invoke(app, ["check", str(out)])
    assert result.exit_code == 1 and "not listed" in result.output

    out, _ = fresh("manifest")
    (out / "tracegen.json").write_text("[]")
    result = runner.invoke(app, ["check", str(out)])
    assert result.exit_code == 1 and "not a valid tracegen manifest" in result.output


def test_check_compares_jsonl_with_parquet(tmp_path, gsm8k_small):
    out = tmp_path / "out"
    result = build_gsm8k(out, gsm8k_small, "--limit", "10", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["check", str(out)]).exit_code == 0
    twin = next((out / "jsonl").glob("*.jsonl"))
    lines = twin.read_text().splitlines()
    twin.write_text("\n".join(lines[:5] + [lines[5].replace('"labels": [-100', '"labels": [7', 1)] + lines[6:]) + "\n")
    result = runner.invoke(app, ["check", str(out)])
    assert result.exit_code == 1 and "differs from" in result.output
