"""scripts/label_agreement.py: the agreement of two labellings, the ceiling a verifier is measured to."""

import json
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "label_agreement.py"


def _labels(steps: list[int], kinds: list[str] | None = None) -> list[dict]:
    kinds = kinds or ["misread"] * len(steps)
    return [
        {"line": line, "model": "m", "first_error_step": step, "kind": kind, "note": f"n{line}"}
        for line, (step, kind) in enumerate(zip(steps, kinds))
    ]


def test_agreement_counts_exact_near_kind_and_kappa():
    agreement = runpy.run_path(str(SCRIPT))["agreement"]
    first = _labels([0, 0, 1, 2], ["misread", "misread", "misread", "wrong_final"])
    second = _labels([0, 1, 1, 4], ["misread", "misread", "wrong_operation", "wrong_final"])
    result = agreement(first, second)
    # observed 2/4; chance: first has 0:2, 1:1, 2:1; second 0:1, 1:2, 4:1 -> (2*1 + 1*2) / 16 = 0.25
    expected = {"items": 4, "exact": 0.5, "within_one": 0.75, "kind": 0.75, "kappa": pytest.approx(1 / 3, abs=1e-4)}
    assert result == expected


def _write(path: Path, labels: list[dict]) -> Path:
    path.write_text("".join(json.dumps(label) + "\n" for label in labels))
    return path


def test_prints_each_disagreement_with_both_notes(tmp_path):
    first = _write(tmp_path / "a.jsonl", _labels([0, 2, 1]))
    second = _write(tmp_path / "b.jsonl", _labels([0, 3, 1]))
    done = subprocess.run([sys.executable, str(SCRIPT), str(first), str(second)], capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines[0] == "#1 line=1 model=m"
    assert "a.jsonl: step 2" in lines[1] and "b.jsonl: step 3" in lines[2]
    assert json.loads(lines[-1])["exact"] == round(2 / 3, 4)


def test_bad_or_mismatched_files_fail_with_one_line(tmp_path):
    first = _write(tmp_path / "a.jsonl", _labels([0, 1]))
    other_items = _write(tmp_path / "b.jsonl", _labels([0]))
    broken = tmp_path / "c.jsonl"
    broken.write_text(json.dumps({"line": 0, "model": "m", "kind": "misread"}) + "\n")
    cases = [(other_items, "do not label the same items"), (broken, "c.jsonl:1: field 'first_error_step'")]
    for second, message in cases:
        done = subprocess.run([sys.executable, str(SCRIPT), str(first), str(second)], capture_output=True, text=True)
        assert done.returncode != 0 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1
