"""A consumer's view of hard mode: the exported columns reproduce the clean sequence's states.

DESIGN.md section 4 promises that with the hard mask (pruned tokens and their <UNDO>s invisible
to later tokens) and the exported position_ids, every surviving position computes exactly the
state it has in the clean sequence. This builds the mask from `prune_spans` the way an outside
trainer would (tracegen.train.masks will own this for tracegen's own trainer) and compares a tiny
Llama's logits against a plain forward of the clean sequence.
"""

import json

import pyarrow.parquet as pq
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM
from typer.testing import CliRunner

from tracegen.cli import app


def group_end(ids: list[int], undo_at: int, undo_id: int) -> int:
    end = undo_at
    while end < len(ids) and ids[end] == undo_id:
        end += 1
    return end


def hard_mask(ids: list[int], spans: list[list[int]], undo_id: int) -> torch.Tensor:
    """Additive float mask (0 / dtype min): causal, minus each pruned group for every token after it."""
    n = len(ids)
    allowed = torch.tril(torch.ones(n, n, dtype=torch.bool))
    for start, _, undo_at in spans:
        end = group_end(ids, undo_at, undo_id)
        allowed[end:, start:end] = False
    mask = torch.zeros(n, n)
    mask[~allowed] = torch.finfo(torch.float32).min
    return mask[None, None]


@pytest.fixture(scope="module", params=["token", "step"])
def hard_rows(request, tmp_path_factory, gsm8k_small):
    out = tmp_path_factory.mktemp("hard") / "out"
    args = ["build", "--recipe", "gsm8k", "--source", str(gsm8k_small), "--out", str(out), "--limit", "12"]
    args += ["--undo-unit", request.param, "--context-mode", "hard", "--set", "deviations.clean_fraction=0", "--set", "deviations.per_trace=2"]
    assert CliRunner().invoke(app, args).exit_code == 0
    manifest = json.loads((out / "tracegen.json").read_text())
    return pq.read_table(next((out / "data").glob("*.parquet"))).to_pylist(), manifest["tokenizer"]


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
def test_surviving_states_equal_the_clean_sequence(hard_rows, attention):
    rows, tokenizer = hard_rows
    undo_id = tokenizer["undo_id"]
    config = LlamaConfig(vocab_size=tokenizer["vocab_size"], hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).eval()
    model.config._attn_implementation = attention
    for row in rows:
        ids, spans = row["input_ids"], row["prune_spans"]
        assert spans, "every row has deviations here"
        pruned = {i for start, _, undo_at in spans for i in range(start, group_end(ids, undo_at, undo_id))}
        survivors = [i for i in range(len(ids)) if i not in pruned]
        with torch.no_grad():
            packed = model(input_ids=torch.tensor([ids]), attention_mask=hard_mask(ids, spans, undo_id), position_ids=torch.tensor([row["position_ids"]])).logits[0]
            clean = model(input_ids=torch.tensor([[ids[i] for i in survivors]])).logits[0]
        assert (packed[survivors] - clean).abs().max().item() <= 1e-4
        # and each surviving completion state (from the prompt's last token on) is taught the clean continuation
        first_target = next(i for i, label in enumerate(row["labels"]) if label != -100)
        for here, after in zip(survivors, survivors[1:]):
            if here >= first_target - 1:
                assert row["labels"][here + 1] == ids[after]
