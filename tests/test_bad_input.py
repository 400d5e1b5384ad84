"""Bad input: one line naming file:line and field, exit code 2, no traceback, no output folder."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tracegen.cli import app

ROOT = Path(__file__).resolve().parents[1]
GOOD = {"question": "Tom has 2 apples and buys 3. How many?", "answer": "He has 2+3=<<2+3=5>>5 apples.\n#### 5"}


def tracegen(*args, cwd: Path):
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def jsonl(*rows) -> bytes:
    return b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in rows)


CORPUS = ROOT / "tests" / "bad_inputs"
CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
DEFAULT_ARGS = {
    "sources": ["build", "--recipe", "gsm8k", "--source", "FILE", "--out", "out"],
    "recipes": ["build", "--recipe", "FILE", "--out", "out"],
}


def corpus_cases():
    for name, case in CASES.items():
        marks = [pytest.mark.xfail(strict=True, reason=case["xfail"])] if "xfail" in case else []
        yield pytest.param(name, case, id=name, marks=marks)


@pytest.mark.parametrize("name,case", list(corpus_cases()))
def test_bad_input_corpus(tmp_path, monkeypatch, name, case):
    """Each real malformed file of tests/bad_inputs/ meets the one-line error that cases.yaml expects.

    In-process (CliRunner) to keep the corpus fast; the subprocess tests above and below cover the real command.
    """
    corpus_path = CORPUS / case.get("file", name)
    copy = tmp_path / corpus_path.name
    if corpus_path.is_dir():
        shutil.copytree(corpus_path, copy)
    else:
        shutil.copyfile(corpus_path, copy)
    args = [copy.name if arg == "FILE" else arg for arg in case.get("args") or DEFAULT_ARGS[corpus_path.parent.name]]
    monkeypatch.chdir(tmp_path)
    invoked = CliRunner().invoke(app, args)
    if invoked.exception is not None and not isinstance(invoked.exception, SystemExit):
        raise AssertionError("a traceback instead of a one-line error") from invoked.exception
    result = subprocess.CompletedProcess(args, invoked.exit_code, invoked.stdout, invoked.stderr)
    assert_one_line_error(result, case["where"], case["what"], tmp_path, code=case.get("exit", 2))
    assert not (tmp_path / "pwned").exists()


def test_every_corpus_file_has_a_case():
    listed = {case.get("file", name) for name, case in CASES.items()}
    on_disk = {
        f"{folder.name}/{entry.name}" for folder in CORPUS.iterdir() if folder.is_dir() for entry in folder.iterdir()
    }
    assert on_disk == listed


@pytest.mark.parametrize(
    "args,what",
    [
        (["--source", "missing.jsonl"], "missing.jsonl: no such file"),
        (["--source", "."], "is a directory"),
        (["--recipe", "nope"], "unknown recipe 'nope'"),
        (["--recipe", "missing.yaml"], "missing.yaml: no such file"),
        (["--undo-unit", "word"], "field 'export.undo_unit'"),
        (["--loss", "naive", "--context-mode", "hard"], "needs context_mode 'soft'"),
        (["--set", "deviations.generators={nope: 1}"], "unknown generator 'nope'"),
        (["--tokenizer", "./no/such-tokenizer-dir"], "no such folder"),
        (["--set", "deviations.per_trace=[1"], "not valid YAML"),
        (["--set", "seed=!!python/object/apply:os.system ['true']"], "not valid YAML"),
        (["--set", 'deviations.position="[/bold] x"'], "[/bold] x"),
        (["--recipe", "arith"], "takes no path"),
        (["--tokenizer", "no-such-org/no-such-tokenizer"], "cannot load tokenizer"),
    ],
)
def test_bad_flags(tmp_path, args, what):
    source = tmp_path / "train.jsonl"
    source.write_bytes(jsonl(GOOD))
    if "--source" not in args:
        args = ["--source", source, *args]
    result = tracegen("build", *args, "--out", tmp_path / "out", cwd=tmp_path)
    assert_one_line_error(result, "", what, tmp_path)


def test_hub_source_offline_says_what_to_do(tmp_path):
    result = tracegen(
        "build", "--recipe", "gsm8k", "--out", tmp_path / "out", cwd=tmp_path
    )  # HF_HUB_OFFLINE=1 (conftest)
    assert_one_line_error(result, "hf://openai/gsm8k", "pass --source PATH", tmp_path)


@pytest.mark.parametrize(
    "code",
    ["__import__('os').system('touch {marker}')", "(lambda: open('{marker}', 'w'))()", "9**9**9**9", "().__class__"],
)
def test_code_in_a_calculator_annotation_is_refused_and_never_runs(tmp_path, code):
    marker = tmp_path / "pwned"
    evil = f"x = <<{code.format(marker=marker)}=0>>0\n#### 0"
    source = tmp_path / "train.jsonl"
    source.write_bytes(jsonl(GOOD, {"question": "q", "answer": evil}, GOOD))
    result = tracegen("build", "--recipe", "gsm8k", "--source", source, "--out", tmp_path / "out", cwd=tmp_path)
    assert_one_line_error(result, "train.jsonl:2:", "field 'answer': calculator annotation", tmp_path)
    assert not marker.exists()


def assert_one_line_error(result, where: str, what: str, tmp_path: Path, code: int = 2):
    assert result.returncode == code, result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert where in lines[0] and what in lines[0], lines[0]
    assert not (tmp_path / "out").exists()
    assert not any(p.name.startswith(".out") for p in tmp_path.iterdir())
