"""Tokenizers that could make rows silently wrong are handled: fixed, dropped with a reason, or refused."""

import json

from foreign_tokenizers import with_changes
from tokenizers import processors
from typer.testing import CliRunner

from tracegen.cli import app
from tracegen.tokens import TraceTokenizer

runner = CliRunner()


def build(tmp_path, source, tokenizer, *extra):
    return runner.invoke(
        app,
        [
            "build",
            "--recipe",
            "gsm8k",
            "--source",
            str(source),
            "--out",
            str(tmp_path / "out"),
            "--tokenizer",
            str(tokenizer),
            *extra,
        ],
    )


def test_truncation_and_padding_in_tokenizer_json_are_switched_off(tmp_path, gsm8k_small, foreign_tokenizers):
    def truncate_and_pad(tok, kwargs):
        tok.enable_truncation(16)
        tok.enable_padding(length=256)

    tokenizer = with_changes(foreign_tokenizers["gpt2"], tmp_path / "tok", truncate_and_pad)
    result = build(tmp_path, gsm8k_small, tokenizer, "--limit", "30")
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["check", str(tmp_path / "out")]).exit_code == 0
    manifest = json.loads((tmp_path / "out" / "tracegen.json").read_text())
    assert manifest["splits"]["train"]["rows"] == 30


def test_bos_is_kept_when_the_post_processor_also_adds_eos(tmp_path, foreign_tokenizers):
    def bos_and_eos(tok, kwargs):
        tok.add_special_tokens(["<bos>"])
        bos, eos = tok.token_to_id("<bos>"), tok.token_to_id("<|endoftext|>")
        tok.post_processor = processors.TemplateProcessing(
            single="<bos> $A <|endoftext|>", special_tokens=[("<bos>", bos), ("<|endoftext|>", eos)]
        )
        kwargs["bos_token"] = "<bos>"

    tok = TraceTokenizer.load(str(with_changes(foreign_tokenizers["gpt2"], tmp_path / "tok", bos_and_eos)))
    assert tok.prompt_ids("Question", chat=False)[0] == tok.hf.bos_token_id
    assert tok.hf.eos_token_id not in tok.prompt_ids("Question", chat=False)


def test_undo_that_is_already_the_eos_token_is_refused(tmp_path, gsm8k_small, foreign_tokenizers):
    def undo_is_eos(tok, kwargs):
        tok.add_special_tokens(["<UNDO>"])
        kwargs["eos_token"] = "<UNDO>"

    result = build(tmp_path, gsm8k_small, with_changes(foreign_tokenizers["gpt2"], tmp_path / "tok", undo_is_eos))
    assert result.exit_code == 2 and "also the tokenizer's eos token" in result.output
    assert not (tmp_path / "out").exists()


def test_an_ordinary_undo_token_in_the_vocabulary_is_made_special(tmp_path, foreign_tokenizers):
    def ordinary_undo(tok, kwargs):
        tok.add_tokens(["<UNDO>"])

    tok = TraceTokenizer.load(str(with_changes(foreign_tokenizers["gpt2"], tmp_path / "tok", ordinary_undo)))
    assert "<UNDO>" in tok.hf.all_special_tokens
    assert tok.encode("<UNDO>") != [tok.undo_id]  # text in data stays text


def test_a_build_that_would_write_no_rows_is_refused(tmp_path):
    source = tmp_path / "train.jsonl"
    source.write_text(json.dumps({"question": "q", "answer": "It is <UNDO> 4\n#### 4"}) + "\n")
    result = runner.invoke(
        app, ["build", "--recipe", "gsm8k", "--source", str(source), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2 and "no rows to write" in result.output and "undo_text_in_solution" in result.output
    assert not (tmp_path / "out").exists()


def test_prompts_that_do_not_round_trip_are_dropped(tmp_path, foreign_tokenizers):
    source = tmp_path / "train.jsonl"
    good = {"question": "What is 2+2?", "answer": "2+2=<<2+2=4>>4\n#### 4"}
    unknown = {"question": "What is 2+2? \u2460", "answer": "2+2=<<2+2=4>>4\n#### 4"}  # no byte fallback for this char
    other = {
        "question": "What is 3+3?",
        "answer": "3+3=<<3+3=6>>6\n#### 6",
    }  # not `good` again: identical rows are dropped
    source.write_text("\n".join(json.dumps(r) for r in [good, unknown, other]) + "\n")
    tokenizer = with_changes(
        foreign_tokenizers["llama"], tmp_path / "tok", lambda tok, kw: setattr(tok.model, "byte_fallback", False)
    )
    result = build(tmp_path, source, tokenizer, "--set", "deviations.clean_fraction=1")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "tracegen.json").read_text())
    assert manifest["splits"]["train"]["rows"] == 2 and manifest["dropped"] == {"tokenizer_roundtrip": 1}
