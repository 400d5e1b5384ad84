"""Bad input: one line naming file:line and field, exit code 2, no traceback, no output folder."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOOD = {"question": "Tom has 2 apples and buys 3. How many?", "answer": "He has 2+3=<<2+3=5>>5 apples.\n#### 5"}


def tracegen(*args, cwd: Path):
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120)


def jsonl(*rows) -> bytes:
    return b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in rows)


SOURCES = {
    "bad_json": (jsonl(GOOD, b'{"question": "x", "answer": '), ":2:", "not valid JSON"),
    "missing_field": (jsonl(GOOD, {"question": "x"}), ":2:", "field 'answer': missing"),
    "mistyped_field": (jsonl(GOOD, GOOD, {"question": 7, "answer": "#### 1"}), ":3:", "field 'question': expected a string"),
    "no_final_answer": (jsonl({"question": "x", "answer": "It is 5."}), ":1:", "field 'answer': no final answer"),
    "unparseable_answer": (jsonl({"question": "x", "answer": "So\n#### five"}), ":1:", "not a number"),
    "not_an_object": (jsonl(GOOD, [1, 2]), ":2:", "expected a JSON object"),
    "not_utf8": (jsonl(GOOD) + b'{"question": "\xff\xfe", "answer": "#### 1"}\n', ":2:", "not UTF-8"),
    "empty_file": (b"", "train.jsonl", "empty"),
    "deeply_nested": (jsonl(GOOD) + b"[" * 100_000 + b"\n", ":2:", "not valid JSON"),
    "huge_integer": (jsonl(GOOD) + b'{"question": "q", "answer": "#### 1", "n": ' + b"9" * 5000 + b"}\n", ":2:", "not valid JSON"),
    "unpaired_surrogate": (jsonl(GOOD) + b'{"question": "\\ud800", "answer": "#### 1"}\n', ":2:", "field 'question': not valid text"),
    "huge_final_answer": (jsonl({"question": "q", "answer": "#### " + "9" * 5000}), ":1:", "is not a number"),
}


@pytest.mark.parametrize("case", sorted(SOURCES))
def test_bad_source(tmp_path, case):
    content, where, what = SOURCES[case]
    source = tmp_path / "train.jsonl"
    source.write_bytes(content)
    result = tracegen("build", "--recipe", "gsm8k", "--source", source, "--out", tmp_path / "out", cwd=tmp_path)
    assert_one_line_error(result, where, what, tmp_path)


RECIPES = {
    "unknown_key": ("name: r\nseed: 1\ndeviations:\n  per_trace: 1\n  colour: red\n", ":5:", "field 'deviations.colour': unknown key"),
    "wrong_type": ("name: r\nexport:\n  undo_unit: word\n", ":3:", "field 'export.undo_unit'"),
    "broken_yaml": ("name: r\nexport: [unclosed\n", "recipe.yaml:", "broken YAML"),
    "not_a_mapping": ("- a\n- b\n", "recipe.yaml:1:", "mapping"),
    "duplicate_key": ("name: r\nseed: 1\nseed: 2\n", "recipe.yaml:3:", "field 'seed': duplicate key"),
    "nan_weight": ("name: r\ndeviations:\n  generators:\n    arith_slip: .nan\n", "recipe.yaml:3:", "finite"),
    "unknown_generator": ("name: r\ndeviations:\n  generators:\n    typo_maker: 1\n", "recipe.yaml:3:", "unknown generator 'typo_maker'"),
    "bool_for_int": ("name: r\ndeviations:\n  per_trace: true\n", "recipe.yaml:3:", "field 'deviations.per_trace'"),
    "bad_name": ("name: 'my: recipe #1'\n", "recipe.yaml:1:", "field 'name'"),
    "bad_split": ("name: r\nsource:\n  split: my split\n", "recipe.yaml:3:", "field 'source.split'"),
    "source_error_with_flag": ("name: r\nsource:\n  name: arith\n  min_steps: 5\n  max_steps: 2\n", "recipe.yaml:2:", "larger than max_steps"),
}


@pytest.mark.parametrize("case", sorted(RECIPES))
def test_bad_recipe(tmp_path, case):
    text, where, what = RECIPES[case]
    (tmp_path / "recipe.yaml").write_text(text)
    result = tracegen("build", "--recipe", tmp_path / "recipe.yaml", "--out", tmp_path / "out", cwd=tmp_path)
    assert_one_line_error(result, where, what, tmp_path)


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
    result = tracegen("build", "--recipe", "gsm8k", "--out", tmp_path / "out", cwd=tmp_path)  # HF_HUB_OFFLINE=1 (conftest)
    assert_one_line_error(result, "hf://openai/gsm8k", "pass --source PATH", tmp_path)


@pytest.mark.parametrize("code", ["__import__('os').system('touch {marker}')", "(lambda: open('{marker}', 'w'))()", "9**9**9**9", "().__class__"])
def test_code_in_a_calculator_annotation_is_refused_and_never_runs(tmp_path, code):
    marker = tmp_path / "pwned"
    evil = f"x = <<{code.format(marker=marker)}=0>>0\n#### 0"
    source = tmp_path / "train.jsonl"
    source.write_bytes(jsonl(GOOD, {"question": "q", "answer": evil}, GOOD))
    result = tracegen("build", "--recipe", "gsm8k", "--source", source, "--out", tmp_path / "out", cwd=tmp_path)
    assert_one_line_error(result, "train.jsonl:2:", "field 'answer': calculator annotation", tmp_path)
    assert not marker.exists()


def assert_one_line_error(result, where: str, what: str, tmp_path: Path):
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert where in lines[0] and what in lines[0], lines[0]
    assert not (tmp_path / "out").exists()
    assert not any(p.name.startswith(".out") for p in tmp_path.iterdir())
