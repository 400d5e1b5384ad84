"""Weak-model deviations: placing a real model's first wrong step in the gold solution, and builds from a replay
file."""

import json
import random

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tracegen.cli import app
from tracegen.dataset.check import check_dataset
from tracegen.generators.base import Skipped
from tracegen.generators.plan import plan_weak
from tracegen.generators.weak import WEAK, aligned_gold_step, weak_deviation
from tracegen.generators.weak_solution import WeakSolution
from tracegen.problem import Problem
from tracegen.recipe import load_recipe
from tracegen.steps import split_steps
from tracegen.verifiers.answers import answer_text
from tracegen.verifiers.base import Divergence

JANET = Problem(
    source_id="test:1",
    question="Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for "
    "her friends "
    "every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. "
    "How much in dollars does she make every day at the farmers' market?",
    solution="Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\nShe makes 9 * 2 = $<<9*2=18>>18 every day at "
    "the farmer's market.\n#### 18",
    answer="18",
)
# Real: 6b_finetuning's solution to this problem (example_model_solutions.jsonl, line 0).
JANET_WEAK = (
    "Janet eats 3 ducks eggs for breakfast every morning and she sells the rest so she has 16 - 3 = <<16-3=13>>13 "
    "ducks eggs left\n"
    "She has 13 ducks eggs and she sells 2 each day so she makes 13 * 2 = $<<13*2=26>>26\n"
    "A: 26"
)
runner = CliRunner()


def solution(text: str, step: int, model: str = "m", kind: str = "misread") -> WeakSolution:
    return WeakSolution(model, text, f"{model}:0", error=Divergence(step, kind, "a reason"))


@pytest.mark.parametrize(
    ("line", "answer"),
    [
        ("#### 18", "18"),
        ("A: 26", "26"),
        ("The answer is 1,200.", "1,200"),
        ("So the final answer is: $5", "$5"),
        ("She makes 18", None),
        ("A:", None),
    ],
)
def test_answer_text(line, answer):
    assert answer_text(line) == answer


def test_aligned_gold_step_follows_the_values_the_weak_prefix_already_has():
    gold = split_steps("A = <<2*3=6>>6\nB = <<6+4=10>>10\nC = <<10*2=20>>20\n#### 20")
    assert aligned_gold_step(gold, []) == 0
    assert aligned_gold_step(gold, ["first 2*3 = <<2*3=6>>6 apples"]) == 1
    assert aligned_gold_step(gold, ["they have 10 in all"]) == 2  # a value shown without an annotation counts too
    assert aligned_gold_step(gold, ["x = 20", "y = 10"]) == 3  # never past the final step


def test_weak_deviation_places_the_real_wrong_step_where_the_gold_prefix_ends():
    deviation = weak_deviation(JANET, solution(JANET_WEAK, 0, model="6b_finetuning"), detected_after=0)
    assert deviation.kind == "weak:6b_finetuning"
    assert deviation.step_index == 0
    assert deviation.start_in_step == len("Janet ")  # the words both steps start with stay clean
    assert deviation.text == JANET_WEAK.split("\n")[0][len("Janet ") :] + "\n"
    assert deviation.detected_after == 0
    assert deviation.reason == "misread: a reason"
    assert deviation.weak_solution == JANET_WEAK


def test_weak_deviation_carries_the_models_next_steps_and_writes_its_final_line_in_gold_form():
    deviation = weak_deviation(JANET, solution(JANET_WEAK, 1), detected_after=5)
    assert deviation.step_index == 0  # 13 is no gold value, so the weak prefix shows none of the gold chain
    assert deviation.text.endswith(
        "$<<13*2=26>>26\n#### 26\n"
    )  # placed before the gold's last step: a newline follows
    assert deviation.detected_after == 1


def test_lines_that_leave_the_gold_path_before_the_error_stay_with_it():
    deviation = weak_deviation(JANET, solution(JANET_WEAK, 1), detected_after=0)
    first, wrong = JANET_WEAK.split("\n")[:2]
    assert (
        deviation.text == f"{first}\n{wrong}\n"[deviation.start_in_step :]
    )  # 13 is no gold value: its line comes along
    assert deviation.detected_after == 0
    on_path = "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 eggs.\nShe makes 9 * 3 = <<9*3=27>>27\nA: 27"
    deviation = weak_deviation(JANET, solution(on_path, 1), detected_after=0)
    assert deviation.step_index == 1 and deviation.text.endswith(
        "<<9*3=27>>27\n"
    )  # 9 is gold: the deviation starts after it


def test_weak_final_line_replacing_the_gold_final_line_ends_without_newline():
    text = "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\nShe makes 9 * 2 = $<<9*2=18>>18 every day.\nA: 20"
    deviation = weak_deviation(JANET, solution(text, 2, kind="wrong_final"), detected_after=0)
    assert deviation.step_index == 2
    assert deviation.text == "20" and deviation.start_in_step == len("#### ")


@pytest.mark.parametrize(
    ("weak", "reason"),
    [
        (WeakSolution("m", JANET.solution, "m:0"), "weak:correct_solution"),
        (WeakSolution("", "", "", skip="weak:backend_error", note="HTTP 500"), "weak:backend_error"),
        (solution(JANET_WEAK, 7), "weak:error_step_out_of_range"),
        (solution("Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\nA: 9", 0), "weak:same_as_gold"),
        (solution("She writes <UNDO> here\nA: 3", 0), "weak:undo_text_in_sample"),
    ],
)
def test_unusable_weak_solutions_say_why(weak, reason):
    assert weak_deviation(JANET, weak, detected_after=0) == Skipped(reason)


def test_plan_weak_takes_a_usable_solution_and_counts_the_others():
    solutions = [WeakSolution("good", JANET.solution, "good:0"), solution(JANET_WEAK, 0, model="bad")]
    plan = plan_weak(JANET, solutions, load_recipe("gsm8k").deviations, random.Random(0), WEAK)
    assert [d.kind for d in plan.deviations] == ["weak:bad"]
    assert sum(plan.dropped.values()) <= 1


@pytest.fixture(scope="module")
def replay_pair(tmp_path_factory):
    """The first 40 GSM8K test problems and their four weak solutions each, as local files."""
    from conftest import GSM8K_DIR

    if not (GSM8K_DIR / "example_model_solutions.jsonl").exists():
        pytest.skip("../shared/data/gsm8k is not present")
    root = tmp_path_factory.mktemp("replay")
    for name in ("test.jsonl", "example_model_solutions.jsonl"):
        with (GSM8K_DIR / name).open() as src:
            (root / name).write_text("".join(line for _, line in zip(range(40), src)))
    return root / "test.jsonl", root / "example_model_solutions.jsonl"


def read_rows(out):
    return [row for path in sorted((out / "data").glob("*.parquet")) for row in pq.read_table(path).to_pylist()]


def test_gsm8k_weak_build_turns_every_wrong_solution_into_a_trace_or_a_listed_skip(tmp_path, replay_pair):
    gold, replay = replay_pair
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["build", "--recipe", "gsm8k-weak", "--source", str(gold), "--replay", str(replay), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert check_dataset(out).failure is None
    rows = read_rows(out)
    skipped = [json.loads(line) for line in (out / "skipped.jsonl").read_text().splitlines()]
    assert len(rows) + len(skipped) == 40 * 4  # every solution: a row, or a listed reason
    assert len({row["id"] for row in rows} | {s["id"] for s in skipped}) == 40 * 4
    assert len(rows) > 40
    for row in rows:
        (deviation,) = row["deviations"]
        model = deviation["kind"].removeprefix("weak:")
        assert row["id"].startswith(f"gsm8k-weak:{row['source_id']}:{model}:")
        assert deviation["weak_solution"] and deviation["reason"]
        assert row["trace"][deviation["char_start"] : deviation["char_end"]] in deviation["weak_solution"].replace(
            "A: ", "#### "
        )
    reasons = {s["reason"] for s in skipped}
    assert "weak:correct_solution" in reasons
    manifest = json.loads((out / "tracegen.json").read_text())
    assert manifest["skipped_rows"] == len(skipped)


def test_mixed_recipe_draws_rule_and_weak_deviations(tmp_path, replay_pair):
    gold, replay = replay_pair
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["build", "--recipe", "gsm8k-mixed", "--source", str(gold), "--replay", str(replay), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert check_dataset(out).failure is None
    kinds = {d["kind"] for row in read_rows(out) for d in row["deviations"]}
    assert any(k.startswith("weak:") for k in kinds) and any(not k.startswith("weak:") for k in kinds)


def test_replay_with_a_recipe_without_weak_deviations_is_refused(tmp_path, replay_pair):
    gold, replay = replay_pair
    result = runner.invoke(
        app,
        ["build", "--recipe", "gsm8k", "--source", str(gold), "--replay", str(replay), "--out", str(tmp_path / "o")],
    )
    assert result.exit_code == 2
    assert "draws no weak-model deviations" in result.output
    assert not (tmp_path / "o").exists()


def test_broken_replay_file_names_file_line_and_field(tmp_path, replay_pair):
    gold, replay = replay_pair
    lines = replay.read_text().splitlines()
    record = json.loads(lines[2])
    record["6b_finetuning"]["solution"] = 7
    lines[2] = json.dumps(record)
    broken = tmp_path / "solutions.jsonl"
    broken.write_text("\n".join(lines) + "\n")
    result = runner.invoke(
        app,
        [
            "build",
            "--recipe",
            "gsm8k-weak",
            "--source",
            str(gold),
            "--replay",
            str(broken),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2
    assert f"{broken}:3" in result.output and "6b_finetuning.solution" in result.output
    assert not (tmp_path / "o").exists()
