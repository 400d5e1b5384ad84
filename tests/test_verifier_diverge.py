"""`tracegen diverge`: one row per wrong solution, unmatched records counted, bad input exits 2, atomic output."""

import json
from itertools import islice

import pytest
from typer.testing import CliRunner

from tracegen.cli import app
from tracegen.verifiers.diverge import diverge

QUESTION = "Janet has 16 eggs, eats 3 and bakes with 4. She sells the rest at $2 each. How much does she make?"
GOLD = "She sells 16 - 3 - 4 = <<16-3-4=9>>9 eggs.\nShe makes 9 * 2 = $<<9*2=18>>18.\n#### 18"


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture
def files(tmp_path):
    source = write_jsonl(tmp_path / "gold.jsonl", [{"question": QUESTION, "answer": GOLD}])
    replay = write_jsonl(
        tmp_path / "solutions.jsonl",
        [
            {
                "question": "  " + QUESTION.replace(" ", "  ") + "\n",  # whitespace does not matter
                "ground_truth": "ignored",
                "good": {"is_correct": True, "solution": "She sells 9 eggs: 16 - 3 - 4 = <<16-3-4=9>>9.\nA: 18"},
                "bad": {
                    "is_correct": False,
                    "solution": "She has 16 eggs.\nShe sells 16 - 3 = <<16-3=13>>13.\nShe makes 13 * 2 = "
                    "<<13*2=26>>26.\nA: 26",
                },
            },
            {"question": "A question nobody asked?", "bad": {"solution": "A: 1"}},
        ],
    )
    return source, replay, tmp_path / "out" / "labels.jsonl"


def test_one_row_per_wrong_solution_and_unmatched_records_counted(files):
    source, replay, out = files
    report = diverge(source, replay, out)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows == [{"line": 0, "model": "bad", "first_error_step": 1, "kind": "misread", "reason": rows[0]["reason"]}]
    assert "16-3 = 13" in rows[0]["reason"]
    assert (report.solutions, report.wrong, dict(report.kinds), report.unmatched) == (2, 1, {"misread": 1}, [1])
    assert "2 solutions, 1 wrong (misread 1), 1 records with no gold problem (lines 1)" in report.summary()


def test_cli_prints_one_summary_line(files):
    source, replay, out = files
    invoked = CliRunner().invoke(app, ["diverge", "--source", str(source), "--replay", str(replay), "--out", str(out)])
    assert invoked.exit_code == 0, invoked.output
    assert invoked.output.count("\n") == 1 and invoked.output.startswith("diverge: 2 solutions, 1 wrong")
    assert len(out.read_text().splitlines()) == 1


def test_bad_input_exits_2_naming_file_and_line_and_leaves_the_output_alone(files):
    source, replay, out = files
    out.parent.mkdir()
    out.write_text("previous labels\n")
    replay.write_text(replay.read_text() + '{"question": "Q?", "bad": {"solution": 7}}\n')
    invoked = CliRunner().invoke(app, ["diverge", "--source", str(source), "--replay", str(replay), "--out", str(out)])
    assert invoked.exit_code == 2
    assert f"{replay}:3: field 'bad.solution': expected a string" in invoked.output
    assert out.read_text() == "previous labels\n"
    assert list(out.parent.iterdir()) == [out]  # no temporary file left behind


def test_real_solutions_wrong_exactly_when_the_data_says_so(tmp_path):
    """On the published model solutions, `wrong` agrees with their `is_correct` flags (final-answer parsing)."""
    from conftest import GSM8K_DIR

    if not (GSM8K_DIR / "example_model_solutions.jsonl").exists():
        pytest.skip("../shared/data/gsm8k is not present")
    with (GSM8K_DIR / "test.jsonl").open() as f:
        source = write_jsonl(tmp_path / "test.jsonl", [json.loads(line) for line in islice(f, 150)])
    with (GSM8K_DIR / "example_model_solutions.jsonl").open() as f:
        records = [json.loads(line) for line in islice(f, 150)]
    replay = write_jsonl(tmp_path / "solutions.jsonl", records)
    out = tmp_path / "labels.jsonl"
    report = diverge(source, replay, out)
    flagged_wrong = {
        (line, model)
        for line, record in enumerate(records)
        for model, value in record.items()
        if isinstance(value, dict) and not value["is_correct"]
    }
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {(row["line"], row["model"]) for row in rows} == flagged_wrong
    assert report.solutions == 600 and report.unmatched == []
    for row in rows:
        assert 0 <= row["first_error_step"] < len(records[row["line"]][row["model"]]["solution"].split("\n"))
        assert row["reason"]
