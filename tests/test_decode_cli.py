"""`tracegen decode`: prompts in, traces printed with undone spans struck through, JSONL out."""

import json

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM
from typer.testing import CliRunner

from tracegen.cli import app
from tracegen.decoding import decode
from tracegen.tokens import TraceTokenizer

PROMPTS = ["Question: 3 apples and 4 more?\nAnswer:\n", "Hi"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A tiny Llama saved with its tokenizer, as a user would point the command at."""
    folder = tmp_path_factory.mktemp("model")
    tok = TraceTokenizer.load(None)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tok.hf),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    tok.save(folder)
    return folder


def test_decode_prints_each_trace_and_writes_what_the_api_returns(model_dir, tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in PROMPTS))
    out = tmp_path / "out" / "decoded.jsonl"
    args = [
        "decode",
        "--model",
        str(model_dir),
        "--prompts",
        str(prompts),
        "--max-new-tokens",
        "12",
        "--undo-unit",
        "step",
        "--batch-size",
        "1",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    tok = TraceTokenizer.load(str(model_dir))
    expected = decode(
        LlamaForCausalLM.from_pretrained(model_dir).eval(), tok, PROMPTS, undo_unit="step", max_new_tokens=12
    )
    assert [r["prompt"] for r in records] == PROMPTS
    assert [{k: v for k, v in r.items() if k != "prompt"} for r in records] == [e.record() for e in expected]
    assert "[1] length: 0 undos" in result.output and expected[1].trace_text in result.output


@pytest.mark.parametrize(
    "args,message",
    [
        ([], "exactly one of --prompt"),
        (["--prompt", "Hi", "--prompts", "x.jsonl"], "exactly one of --prompt"),
        (["--prompts", "{missing}"], "no such file"),
        (["--prompts", "{bad}"], "bad.jsonl:2: field 'prompt': missing"),
        (["--prompt", "Hi", "--mode", "medium"], "unknown context mode"),
        (["--prompt", "Hi", "--top-k", "3"], "need sampling"),
        (["--prompt", "Hi", "--undo-threshold", "1.5"], "--undo-threshold"),
        (["--prompt", "Hi", "--ban-after", "-1"], "--ban-after"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(model_dir, tmp_path, args, message):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "fine"}\n{"question": "no prompt"}\n')
    args = [a.format(missing=tmp_path / "none.jsonl", bad=bad) for a in args]
    result = CliRunner().invoke(app, ["decode", "--model", str(model_dir), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_a_folder_without_a_model_is_bad_input(tmp_path):
    TraceTokenizer.load(None).save(tmp_path)
    result = CliRunner().invoke(app, ["decode", "--model", str(tmp_path), "--prompt", "Hi"])
    assert result.exit_code == 2 and "cannot load a causal LM" in result.output
