"""`tracegen diverge --labels`: exact, within one, per kind, false alarms, ProcessBench F1; both label formats; bad
labels exit 2."""

import json

import pytest
from test_verifier_diverge import GOLD, QUESTION, write_jsonl
from typer.testing import CliRunner

from tracegen.cli import app
from tracegen.errors import InputError
from tracegen.verifiers.registry import get_verifier
from tracegen.verifiers.scoring import read_labelled, score

FORGETS = "She sells 16 - 3 = <<16-3=13>>13 eggs.\nShe makes 13 * 2 = $<<13*2=26>>26.\nA: 26"  # wrong at 0
FALSE = "She sells 16 - 3 - 4 = <<16-3-4=8>>8 eggs.\nShe makes 8 * 2 = $<<8*2=16>>16.\nA: 16"  # wrong at 0
DIVIDES = "She sells 16 - 3 - 4 = <<16-3-4=9>>9 eggs.\nShe makes 9 / 2 = $<<9/2=4.5>>4.5.\nA: 4.5"  # wrong at 1
RIGHT = "She sells 16 - 3 - 4 = <<16-3-4=9>>9 eggs.\nShe makes 9 * 2 = $<<9*2=18>>18.\nA: 18"
# 20: from nowhere
ALARM = (
    "She had 20 - 4 = <<20-4=16>>16 eggs.\nShe sells 16 - 3 - 4 = <<16-3-4=9>>9 eggs.\n"
    "She makes 9 * 2 = $<<9*2=18>>18.\nA: 18"
)


@pytest.fixture
def files(tmp_path):
    solutions = {"a": FORGETS, "b": FALSE, "c": DIVIDES, "d": RIGHT, "e": ALARM}
    replay = write_jsonl(
        tmp_path / "solutions.jsonl",
        [{"question": QUESTION} | {model: {"solution": text} for model, text in solutions.items()}],
    )
    source = write_jsonl(tmp_path / "gold.jsonl", [{"question": QUESTION, "answer": GOLD}])
    labels = write_jsonl(
        tmp_path / "labels.jsonl",
        [
            {"line": 0, "model": "a", "first_error_step": 0, "kind": "misread", "note": "forgets the muffins"},
            {"line": 0, "model": "b", "first_error_step": 0, "kind": "false_annotation", "note": "16-3-4 is 9"},
            {
                "line": 0,
                "model": "c",
                "first_error_step": 0,
                "kind": "wrong_operation",
                "note": "a deliberately wrong label: step 1 divides",
            },
        ],
    )
    processbench = write_jsonl(
        tmp_path / "processbench.jsonl",
        [
            {
                "id": "gsm8k-0",
                "problem": QUESTION,
                "steps": FORGETS.split("\n")[:2],
                "final_answer_correct": False,
                "label": 0,
            },
            {
                "id": "gsm8k-1",
                "problem": QUESTION,
                "steps": DIVIDES.split("\n")[:2],
                "final_answer_correct": False,
                "label": 1,
            },
            {
                "id": "gsm8k-2",
                "problem": QUESTION,
                "steps": ["She sells 16 - 3 - 4 = 9 eggs\nfor $2 each.", "She makes 9 * 2 = $18.", "#### 18"],
                "final_answer_correct": True,
                "label": -1,
            },
            {
                "id": "gsm8k-3",
                "problem": QUESTION,
                "steps": ALARM.split("\n")[:3] + ["#### 18"],
                "final_answer_correct": True,
                "label": -1,
            },
        ],
    )
    return source, replay, labels, processbench


def test_project_labels_score_exact_within_one_per_kind_false_alarms_and_f1(files):
    source, replay, labels, _ = files
    labelled = read_labelled(labels, source, replay)
    assert [item.step for item in labelled] == [0, 0, 0, None, None]  # d and e: the correct set
    result = score(get_verifier("divergence"), labelled).as_dict()
    assert (result["wrong"], result["exact"], result["within_one"]) == (3, round(2 / 3, 4), 1.0)
    assert result["by_kind"]["wrong_operation"] == {"labels": 1, "exact": 0.0, "within_one": 1.0}
    assert (result["correct"], result["false_alarms"], result["false_alarm_rate"]) == (2, 1, 0.5)  # e: the 20 eggs
    assert result["processbench_f1"] == round(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5), 4)


def test_processbench_labels_need_no_replay_and_number_steps_as_lines(files):
    source, _, _, processbench = files
    labelled = read_labelled(processbench, source, None)
    assert [item.step for item in labelled] == [0, 1, None, None]
    assert (
        labelled[2].solution.split("\n")[0] == "She sells 16 - 3 - 4 = 9 eggs for $2 each."
    )  # a step's own line break becomes a space
    result = score(get_verifier("divergence"), labelled).as_dict()
    assert (result["exact"], result["false_alarms"], result["by_kind"]["all"]["labels"]) == (1.0, 1, 2)
    assert result["processbench_f1"] == round(2 * 1.0 * 0.5 / 1.5, 4)


def test_cli_prints_the_table_and_writes_json(files, tmp_path):
    source, replay, labels, _ = files
    out = tmp_path / "score.json"
    invoked = CliRunner().invoke(
        app, ["diverge", "--source", str(source), "--replay", str(replay), "--labels", str(labels), "--out", str(out)]
    )
    assert invoked.exit_code == 0, invoked.output
    for row in (
        "exact first-error step",
        "within one step",
        "wrong_operation (1)",
        "false alarms on correct solutions",
        "ProcessBench F1",
    ):
        assert row in invoked.output
    assert "66.7%  (2 of 3)" in invoked.output and "50.0%  (1 of 2)" in invoked.output
    assert json.loads(out.read_text())["exact"] == round(2 / 3, 4)


@pytest.mark.parametrize(
    "row, message",
    [
        ({"line": 0, "model": "zz", "first_error_step": 0}, "field 'line/model': no solution by 'zz' on line 0"),
        (
            {"line": 0, "model": "a", "first_error_step": 7},
            "field 'first_error_step': expected a step index of the solution (0..2) or -1, got 7",
        ),
        (
            {"problem": QUESTION, "steps": "one step", "label": 0},
            "field 'steps': expected a non-empty array of strings",
        ),
        ({"problem": "Another question?", "steps": ["x"], "label": -1}, "its question is not in the --source file"),
        ({"first_error": 1}, "not a label"),
    ],
)
def test_bad_labels_exit_2_naming_file_line_and_field(files, tmp_path, row, message):
    source, replay, _, _ = files
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"line": 0, "model": "a", "first_error_step": 0}, row])
    with pytest.raises(InputError) as raised:
        read_labelled(bad, source, replay)
    assert (
        str(raised.value) == f"{bad}:2: {message}"
        or str(raised.value).startswith(f"{bad}:2: ")
        and message in str(raised.value)
    )
    invoked = CliRunner().invoke(
        app, ["diverge", "--source", str(source), "--replay", str(replay), "--labels", str(bad)]
    )
    assert invoked.exit_code == 2 and message in invoked.output


def test_critic_needs_its_backend_file_and_labelling_needs_replay_and_out(files, tmp_path):
    source, replay, labels, _ = files
    runner = CliRunner()
    missing = runner.invoke(app, ["diverge", "--source", str(source), "--labels", str(labels), "--verifier", "critic"])
    assert missing.exit_code == 2 and "field '--critic': the critic verifier needs a YAML file" in missing.output
    bad_yaml = tmp_path / "critic.yaml"
    bad_yaml.write_text("kind: openai\n")  # no model
    invalid = runner.invoke(
        app,
        [
            "diverge",
            "--source",
            str(source),
            "--labels",
            str(labels),
            "--verifier",
            "critic",
            "--critic",
            str(bad_yaml),
        ],
    )
    assert invalid.exit_code == 2 and str(bad_yaml) in invalid.output and "needs 'model'" in invalid.output
    no_out = runner.invoke(app, ["diverge", "--source", str(source), "--replay", str(replay)])
    assert no_out.exit_code == 2 and "--replay FILE and --out FILE" in no_out.output
