"""Acceptance: a MATH-style dataset with its own column names builds and checks in every undo unit and mode."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import ROOT
from typer.testing import CliRunner

from tracegen.cli import app

SAMPLE = ROOT / "data" / "math-sample"
runner = CliRunner()
RECIPE = """\
name: mymath
source:
  name: generic
  fields: {question: prompt_text, solution: worked, id: uid}
steps: {split: paragraph}
answer: {format: boxed}
"""


@pytest.fixture(scope="module")
def renamed(tmp_path_factory) -> tuple[Path, Path]:
    """The shipped sample with other column names, and a recipe that maps them."""
    root = tmp_path_factory.mktemp("renamed")
    with (root / "train.jsonl").open("w") as out:
        for k, line in enumerate((SAMPLE / "train.jsonl").read_text().splitlines()):
            row = json.loads(line)
            out.write(json.dumps({"uid": f"p{k}", "prompt_text": row["problem"], "worked": row["solution"]}) + "\n")
    (root / "recipe.yaml").write_text(RECIPE)
    return root / "train.jsonl", root / "recipe.yaml"


def build(out: Path, *args) -> dict:
    result = runner.invoke(app, ["build", "--out", str(out), *map(str, args)])
    assert result.exit_code == 0, result.output
    checked = runner.invoke(app, ["check", str(out)])
    assert checked.exit_code == 0, checked.output
    return json.loads((out / "tracegen.json").read_text())


def rows(out: Path) -> list[dict]:
    return [r for f in sorted((out / "data").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


@pytest.mark.parametrize(("unit", "mode"), [("token", "soft"), ("token", "hard"), ("step", "soft"), ("step", "hard")])
def test_renamed_math_columns_build_and_check(renamed, tmp_path, unit, mode):
    source, recipe = renamed
    manifest = build(
        tmp_path / "out", "--recipe", recipe, "--source", source, "--undo-unit", unit, "--context-mode", mode
    )
    built = rows(tmp_path / "out")
    assert len(built) == 52 and built[0]["id"] == "mymath:train:p0"
    assert sum(bool(r["deviations"]) for r in built) >= 0.75 * len(built)
    kinds = manifest["deviations_by_kind"]
    assert set(kinds) == {"prose_wrong_result", "prose_digit_swap", "prose_wrong_operand", "prose_copy_error"}
    card = (tmp_path / "out" / "README.md").read_text()
    assert all(f"`{kind}`" in card for kind in kinds)
    if unit == "step":  # one <UNDO> per wrong paragraph: the blank line is found although the tokenizer cuts it in two
        assert all(d["undo_count"] == 1 + d["detected_after"] for r in built for d in r["deviations"])


def test_the_math_recipe_builds_the_shipped_sample_the_same_twice(tmp_path):
    first = build(tmp_path / "a", "--recipe", "math", "--source", SAMPLE / "train.jsonl", "--set", "limit=20")
    build(tmp_path / "b", "--recipe", "math", "--source", SAMPLE / "train.jsonl", "--set", "limit=20")
    assert first["recipe"]["steps"] == {"split": "paragraph"} and first["recipe"]["answer"] == {"format": "boxed"}
    for name in ("data/train-00000-of-00001.parquet", "tracegen.json", "README.md"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_weak_solutions_replayed_in_the_generic_format(tmp_path):
    recipe = tmp_path / "weak.yaml"
    recipe.write_text(
        "name: mathweak\nsource: {name: generic, fields: {question: problem, solution: solution}}\n"
        "steps: {split: paragraph}\nanswer: {format: boxed}\n"
        "deviations: {generators: {weak: 1.0}, weak: {backend: {kind: replay}, one_row_per_solution: true}}\n"
    )
    replay = SAMPLE / "model_solutions.jsonl"
    manifest = build(
        tmp_path / "out",
        "--recipe",
        recipe,
        "--source",
        SAMPLE / "train.jsonl",
        "--replay",
        replay,
        "--undo-unit",
        "step",
    )
    built = rows(tmp_path / "out")
    marked_correct = sum(json.loads(line).get("is_correct") is True for line in replay.read_text().splitlines())
    assert manifest["dropped"]["weak:correct_solution"] >= marked_correct
    assert len(built) >= 8 and all(r["deviations"][0]["kind"].startswith("weak:") for r in built)
    reasons = {d["reason"].split(":")[0] for r in built for d in r["deviations"]}
    assert {"false_annotation", "wrong_final"} <= reasons
