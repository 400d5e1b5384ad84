"""End to end: `tracegen build` then `tracegen check`, for every loss, mode, unit and tokenizer kind."""

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracegen.cli import app
from tracegen.public import public_name

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def build_and_check(out: Path, *args) -> dict:
    result = run("build", "--out", out, *args)
    assert result.exit_code == 0, result.output
    checked = run("check", out)
    assert checked.exit_code == 0, checked.output
    manifest = json.loads((out / "tracegen.json").read_text())
    assert not [reason for reason in manifest["dropped"] if reason.startswith("failed_check")], manifest[
        "dropped"
    ]  # the self-check dropped nothing
    return manifest


def rows(out: Path) -> list[dict]:
    import pyarrow.parquet as pq

    return [r for f in sorted((out / "data").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


@pytest.mark.parametrize(
    "flags",
    [
        [],
        ["--undo-unit", "step", "--context-mode", "hard"],
        ["--undo-unit", "step"],
        ["--context-mode", "hard"],
        ["--loss", "naive"],
        ["--loss", "clean"],
        ["--set", "deviations.per_trace=3", "--set", "deviations.detected_after=[0,1,2]"],
        ["--set", "export.label_before_deviation=true"],
    ],
    ids=lambda f: " ".join(f) or "default",
)
def test_gsm8k_variants_pass_check(tmp_path, gsm8k_small, flags):
    manifest = build_and_check(tmp_path / "out", "--recipe", "gsm8k", "--source", gsm8k_small, *flags)
    assert manifest["splits"]["train"]["rows"] >= 290
    data = rows(tmp_path / "out")
    undo_id = manifest["tokenizer"]["undo_id"]
    with_undo = sum(undo_id in r["input_ids"] for r in data)
    if "clean" in flags:
        assert with_undo == 0
    else:
        assert with_undo > 0.8 * len(data)
    starts = [(r["input_ids"][d["token_start"]], r["labels"][d["token_start"]]) for r in data for d in r["deviations"]]
    taught_there = sum(label not in (-100, token) for token, label in starts)
    if "hard" not in flags:  # soft mode teaches the correct token at the state before a deviation only when asked to
        assert taught_there == (len(starts) if "export.label_before_deviation=true" in flags else 0)
    elif "step" not in flags:  # hard mode always does (with step undo, where the state emits it: the re-emitted copy)
        assert taught_there == len(starts)


@pytest.mark.parametrize("name", ["gpt2", "qwen", "llama"])
@pytest.mark.parametrize("unit_mode", [("token", "soft"), ("step", "hard")])
def test_foreign_tokenizers_pass_check(tmp_path, gsm8k_small, foreign_tokenizers, name, unit_mode):
    unit, mode = unit_mode
    manifest = build_and_check(
        tmp_path / "out",
        "--recipe",
        "gsm8k",
        "--source",
        gsm8k_small,
        "--tokenizer",
        foreign_tokenizers[name],
        "--undo-unit",
        unit,
        "--context-mode",
        mode,
    )
    assert manifest["splits"]["train"]["rows"] >= 290
    assert manifest["tokenizer"]["name"] == public_name(str(foreign_tokenizers[name]))
    assert manifest["tokenizer"]["name"].startswith(f"{name}@")  # a folder by name and hash, never its path


def test_foreign_chat_template_with_special_tokens(tmp_path, gsm8k_small, foreign_tokenizers):
    manifest = build_and_check(
        tmp_path / "out",
        "--recipe",
        "gsm8k",
        "--source",
        gsm8k_small,
        "--limit",
        "30",
        "--tokenizer",
        foreign_tokenizers["qwen"],
        "--chat-template",
        "--undo-unit",
        "step",
    )
    row = rows(tmp_path / "out")[0]
    assert row["prompt"].startswith("<|im_start|>user\n")
    im_start = 1  # special tokens in the rendered template are tokenized as special tokens
    assert row["input_ids"][0] == im_start and row["input_ids"][-1] == manifest["tokenizer"]["eos_id"]


def test_tokenizer_that_does_not_round_trip_is_refused(tmp_path, gsm8k_small, foreign_tokenizers):
    result = run(
        "build",
        "--recipe",
        "gsm8k",
        "--source",
        gsm8k_small,
        "--out",
        tmp_path / "out",
        "--tokenizer",
        foreign_tokenizers["bert"],
    )
    assert result.exit_code == 2
    assert "does not round-trip" in result.output
    assert not (tmp_path / "out").exists()


def test_arith_recipe_works_offline(tmp_path):
    manifest = build_and_check(tmp_path / "out", "--recipe", "arith", "--limit", "100")
    assert manifest["splits"]["train"]["rows"] == 100


def test_same_recipe_and_seed_give_identical_bytes(tmp_path, gsm8k_small):
    def digest(out: Path) -> dict[str, str]:
        return {
            str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*"))
            if p.is_file()
        }

    build_and_check(tmp_path / "a", "--recipe", "gsm8k", "--source", gsm8k_small, "--format", "jsonl")
    build_and_check(tmp_path / "b", "--recipe", "gsm8k", "--source", gsm8k_small, "--format", "jsonl")
    build_and_check(tmp_path / "c", "--recipe", "gsm8k", "--source", gsm8k_small, "--format", "jsonl", "--seed", "1")
    a, b, c = digest(tmp_path / "a"), digest(tmp_path / "b"), digest(tmp_path / "c")
    assert a == b
    assert any(name.endswith(".parquet") for name in a) and any(name.endswith(".jsonl") for name in a)
    assert a["data/train-00000-of-00001.parquet"] != c["data/train-00000-of-00001.parquet"]


def test_num_proc_gives_the_same_bytes(tmp_path, gsm8k_small):
    build_and_check(tmp_path / "one", "--recipe", "gsm8k", "--source", gsm8k_small, "--limit", "150")
    build_and_check(
        tmp_path / "two", "--recipe", "gsm8k", "--source", gsm8k_small, "--limit", "150", "--num-proc", "2"
    )
    name = "data/train-00000-of-00001.parquet"
    assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_output_loads_with_datasets(tmp_path, gsm8k_small):
    from datasets import load_dataset

    build_and_check(tmp_path / "out", "--recipe", "gsm8k", "--source", gsm8k_small, "--limit", "50")
    ds = load_dataset(str(tmp_path / "out"), split="train")
    assert len(ds) == 50
    assert set(ds.column_names) >= {
        "id",
        "source_id",
        "prompt",
        "clean_completion",
        "trace",
        "answer",
        "deviations",
        "input_ids",
        "labels",
        "position_ids",
        "prune_spans",
        "undo_unit",
        "context_mode",
    }
    card = (tmp_path / "out" / "README.md").read_text()
    assert card.startswith("---\n") and "configs:" in card and "<UNDO>" in card


def test_existing_output_is_kept_without_overwrite(tmp_path, gsm8k_small):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = run("build", "--recipe", "gsm8k", "--source", gsm8k_small, "--out", out, "--limit", "5")
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert (out / "keep.txt").read_text() == "mine"
    build_and_check(out, "--recipe", "gsm8k", "--source", gsm8k_small, "--limit", "5", "--overwrite")
    assert not (out / "keep.txt").exists()


def test_inspect_shows_undo(tmp_path, gsm8k_small):
    build_and_check(
        tmp_path / "out",
        "--recipe",
        "gsm8k",
        "--source",
        gsm8k_small,
        "--limit",
        "20",
        "--set",
        "deviations.clean_fraction=0",
    )
    result = run("inspect", tmp_path / "out", "--row", "3", "--tokens")
    assert result.exit_code == 0, result.output
    assert "<UNDO>" in result.output and "deviations" in result.output
    assert run("inspect", tmp_path / "out", "--row", "999").exit_code == 2


def test_full_gsm8k_train_build(tmp_path, gsm8k_train):
    """The acceptance build: all of GSM8K train with the embedded tokenizer."""
    manifest = build_and_check(tmp_path / "out", "--recipe", "gsm8k", "--source", gsm8k_train)
    assert manifest["splits"]["train"]["rows"] >= 7000


def test_chat_template_prompt(tmp_path, gsm8k_small):
    build_and_check(tmp_path / "out", "--recipe", "gsm8k", "--source", gsm8k_small, "--limit", "20", "--chat-template")
    first = rows(tmp_path / "out")[0]
    assert first["prompt"].startswith("<|user|>\n") and first["prompt"].endswith("<|assistant|>\n")


def test_literal_special_token_text_in_a_problem_stays_text(tmp_path):
    source = tmp_path / "train.jsonl"
    source.write_text(
        json.dumps(
            {"question": "Say <|endoftext|> and <UNDO> twice. What is 2+2?", "answer": "2+2=<<2+2=4>>4\n#### 4"}
        )
        + "\n"
    )
    manifest = build_and_check(
        tmp_path / "out", "--recipe", "gsm8k", "--source", source, "--set", "deviations.clean_fraction=0"
    )
    row = rows(tmp_path / "out")[0]
    assert row["input_ids"].count(manifest["tokenizer"]["undo_id"]) == sum(d["undo_count"] for d in row["deviations"])


def test_byte_order_mark_is_accepted(tmp_path):
    source = tmp_path / "train.jsonl"
    source.write_bytes(
        b"\xef\xbb\xbf" + json.dumps({"question": "What is 2+3?", "answer": "2+3=<<2+3=5>>5\n#### 5"}).encode() + b"\n"
    )
    build_and_check(tmp_path / "out", "--recipe", "gsm8k", "--source", source)
