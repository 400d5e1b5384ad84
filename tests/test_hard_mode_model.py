"""A consumer's view of hard mode: the exported columns reproduce the clean sequence's states.

DESIGN.md section 4 promises that with the hard mask (pruned tokens and their <UNDO>s invisible
to later tokens) and the exported position_ids, every surviving position computes exactly the
state it has in the clean sequence. This builds the mask from `prune_spans` with
tracegen.train.masks (the one mask builder, which tracegen's trainer uses) and compares a tiny
Llama's logits against a plain forward of the clean sequence.
"""

import json

import pyarrow.parquet as pq
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM
from typer.testing import CliRunner

from tracegen.cli import app
from tracegen.train.masks import attention_inputs, undo_run_end


@pytest.fixture(scope="module", params=["token", "step"])
def hard_rows(request, tmp_path_factory, gsm8k_small):
    out = tmp_path_factory.mktemp("hard") / "out"
    args = ["build", "--recipe", "gsm8k", "--source", str(gsm8k_small), "--out", str(out), "--limit", "12"]
    args += [
        "--undo-unit",
        request.param,
        "--context-mode",
        "hard",
        "--set",
        "deviations.clean_fraction=0",
        "--set",
        "deviations.per_trace=2",
    ]
    assert CliRunner().invoke(app, args).exit_code == 0
    manifest = json.loads((out / "tracegen.json").read_text())
    return pq.read_table(next((out / "data").glob("*.parquet"))).to_pylist(), manifest["tokenizer"]


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
def test_surviving_states_equal_the_clean_sequence(hard_rows, attention):
    rows, tokenizer = hard_rows
    undo_id = tokenizer["undo_id"]
    config = LlamaConfig(
        vocab_size=tokenizer["vocab_size"],
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).eval()
    model.config._attn_implementation = attention
    for row in rows:
        ids, spans = row["input_ids"], row["prune_spans"]
        assert spans, "every row has deviations here"
        pruned = {i for start, _, undo_at in spans for i in range(start, undo_run_end(ids, undo_at, undo_id))}
        survivors = [i for i in range(len(ids)) if i not in pruned]
        mask, positions = attention_inputs(ids, row["position_ids"], spans, row["context_mode"], undo_id=undo_id)
        with torch.no_grad():
            packed = model(input_ids=torch.tensor([ids]), attention_mask=mask, position_ids=positions).logits[0]
            clean = model(input_ids=torch.tensor([[ids[i] for i in survivors]])).logits[0]
        assert (packed[survivors] - clean).abs().max().item() <= 1e-4
        # and each surviving completion state (from the prompt's last token on) is taught the clean continuation
        first_target = next(i for i, label in enumerate(row["labels"]) if label != -100)
        for here, after in zip(survivors, survivors[1:]):
            if here >= first_target - 1:
                assert row["labels"][here + 1] == ids[after]
