"""Exactness: the KV-trimming decoder computes the states that hard-mode training data claims.

On a tiny Llama (fp32, eager and sdpa; on CUDA too when a GPU is present) and rows exported by
`tracegen build --context-mode hard`:
(a) teacher-forcing a row through the decoder gives, at every step, the logits of a fresh forward
    over the sequence that survives at that step; (b) the packed forward with the masks.py mask and
    the exported position ids gives the decoder's logits at every state, labelled ones included;
(c) soft mode is a plain causal forward; (d) a batch whose rows undo differently decodes each row
    exactly as it decodes alone, with and without compaction of the cache. (a) and (b) decode
    all rows of a build in one batch, so they also cover left padding and rows ending apart.
"""

import json

import pyarrow.parquet as pq
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM
from typer.testing import CliRunner

from tracegen.cli import app
from tracegen.decoding import decode, slots
from tracegen.tokens import TraceTokenizer
from tracegen.trace import replay
from tracegen.train.masks import attention_inputs, trace_columns

TOLERANCE = 1e-4
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(scope="module")
def tok():
    return TraceTokenizer.load(None)


@pytest.fixture(
    scope="module",
    params=["cpu-eager", "cpu-sdpa", pytest.param("cuda-eager", marks=CUDA), pytest.param("cuda-sdpa", marks=CUDA)],
)
def model(request, tok):
    config = LlamaConfig(
        vocab_size=len(tok.hf),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
    )
    torch.manual_seed(0)
    device, attention = request.param.split("-")
    llama = LlamaForCausalLM(config).eval().to(device)
    llama.config._attn_implementation = attention
    return llama


def logits_of(model, ids: list[int], **inputs) -> torch.Tensor:
    """Logits [L, V] on the CPU of one forward over `ids`, the other inputs moved to the model's device."""
    with torch.no_grad():
        on_device = {name: None if value is None else value.to(model.device) for name, value in inputs.items()}
        return model(input_ids=torch.tensor([ids], device=model.device), **on_device).logits[0].cpu()


@pytest.fixture(scope="module", params=["token", "step"])
def exported(request, tmp_path_factory, tok):
    """(undo unit, rows with their prompt length) of a hard-mode arith build where every row has a deviation."""
    out = tmp_path_factory.mktemp("exact") / "out"
    args = [
        "build",
        "--recipe",
        "arith",
        "--out",
        str(out),
        "--limit",
        "4",
        "--undo-unit",
        request.param,
        "--context-mode",
        "hard",
    ]
    args += ["--set", "deviations.clean_fraction=0", "--set", "deviations.per_trace=2"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "tracegen.json").read_text())["tokenizer"]["undo_id"] == tok.undo_id
    rows = pq.read_table(next((out / "data").glob("*.parquet"))).to_pylist()
    for row in rows:
        row["prompt_len"] = len(tok.prompt_ids(row["prompt"], chat=False))
        assert row["input_ids"][: row["prompt_len"]] == tok.prompt_ids(row["prompt"], chat=False)
    assert sum(len(row["prune_spans"]) for row in rows) >= len(rows)
    return request.param, rows


def forced_decode(model, tok, rows, unit, mode="hard"):
    """Teacher-force all rows in one batch (prompts of different lengths: left padding, rows ending at different
    steps)."""
    prompts = [row["input_ids"][: row["prompt_len"]] for row in rows]
    traces = [row["input_ids"][row["prompt_len"] :] for row in rows]
    return decode(model, tok, prompts, mode=mode, undo_unit=unit, forced=traces, return_logits=True)


@pytest.fixture(scope="module")
def hard_forced(model, tok, exported):
    unit, rows = exported
    return forced_decode(model, tok, rows, unit)


def test_exact_teacher_forced_decoder_equals_fresh_forward_over_the_survivors(model, tok, exported, hard_forced):
    unit, rows = exported
    delimiters = tok.delimiters if unit == "step" else frozenset()
    for row, result in zip(rows, hard_forced):
        p, completion = row["prompt_len"], row["input_ids"][row["prompt_len"] :]
        assert result.trace_ids == completion and result.finished == "eos"
        assert result.ids == [completion[i] for i in replay(completion, tok.undo_id, unit, delimiters).survivors]
        assert result.forward_passes == len(completion)
        stacks = [
            tuple(completion[i] for i in replay(completion[:j], tok.undo_id, unit, delimiters).survivors)
            for j in range(len(completion) + 1)
        ]
        # every stack is a prefix of one held just before a run of <UNDO> (or at the end): one fresh forward each
        # serves all steps
        longest = [
            stacks[j]
            for j in range(len(completion) + 1)
            if j == len(completion) or completion[j] == tok.undo_id and (j == 0 or completion[j - 1] != tok.undo_id)
        ]
        fresh = {stack: logits_of(model, row["input_ids"][:p] + list(stack)) for stack in longest}
        for j, stack in enumerate(stacks[:-1]):
            holder = next(m for m in longest if m[: len(stack)] == stack)
            assert (result.logits[j].cpu() - fresh[holder][p - 1 + len(stack)]).abs().max().item() <= TOLERANCE, (
                f"step {j}"
            )
        # the log-probs the decoder reports are those of its logits
        assert result.logprobs == pytest.approx(
            result.logits.cpu().log_softmax(-1).gather(1, torch.tensor(completion)[:, None]).squeeze(1).tolist(),
            abs=1e-5,
        )


def test_exact_packed_forward_with_the_hard_mask_equals_the_decoder_at_every_state(model, tok, exported, hard_forced):
    unit, rows = exported
    delimiters = tok.delimiters if unit == "step" else frozenset()
    for row, result in zip(rows, hard_forced):
        p, ids = row["prompt_len"], row["input_ids"]
        mask, positions = attention_inputs(
            ids, row["position_ids"], row["prune_spans"], row["context_mode"], undo_id=tok.undo_id
        )
        packed = logits_of(model, ids, attention_mask=mask, position_ids=positions)
        states = [p + parent for parent in replay(ids[p:], tok.undo_id, unit, delimiters).parent]
        for j, state in enumerate(states):
            assert (packed[state] - result.logits[j].cpu()).abs().max().item() <= TOLERANCE, f"step {j}"
        labelled = {i - 1 for i, label in enumerate(row["labels"]) if label != -100}
        assert labelled and labelled <= set(states), "every labelled position is a state the decoder was in"


def test_trace_columns_of_an_exported_trace_are_its_exported_columns(tok, exported):
    """What GRPO scores a decoded trace with is what the exporter wrote for the same tokens."""
    unit, rows = exported
    for row in rows:
        p = row["prompt_len"]
        cols = trace_columns(
            row["input_ids"][:p],
            row["input_ids"][p:],
            undo_id=tok.undo_id,
            unit=unit,
            delimiters=tok.delimiters if unit == "step" else frozenset(),
        )
        assert cols["position_ids"] == row["position_ids"] and cols["prune_spans"] == row["prune_spans"]
        last_emission = {
            state: row["input_ids"][p + j] for j, state in enumerate(cols["emitted_from"])
        }  # later emissions overwrite
        for i, label in enumerate(row["labels"]):
            if label != -100:
                assert label == last_emission[i - 1], "a state is taught the last token the trace emits from it"


def test_exact_soft_mode_is_a_plain_causal_forward(model, tok, exported):
    unit, rows = exported
    for row, result in zip(rows, forced_decode(model, tok, rows, unit, mode="soft")):
        p, ids = row["prompt_len"], row["input_ids"]
        plain = logits_of(model, ids)
        assert (result.logits.cpu() - plain[p - 1 : len(ids) - 1]).abs().max().item() <= TOLERANCE
        mask, positions = attention_inputs(ids, None, row["prune_spans"], "soft", undo_id=tok.undo_id)
        masked = logits_of(model, ids, attention_mask=mask, position_ids=positions)
        assert (masked - plain).abs().max().item() <= TOLERANCE


UNDO_PATTERNS = [{3, 4, 5}, set(), {0, 9, 10, 11, 12, 13, 14, 15}, {6, 20}]
"""Steps at which each row is made to emit <UNDO>: a run of three, none, a no-op first then a long run, two apart."""


def forced_undos(rows: torch.Tensor, step: int) -> torch.Tensor:
    return torch.tensor([step in UNDO_PATTERNS[r] for r in rows.tolist()], dtype=torch.bool, device=rows.device)


@pytest.mark.parametrize(
    "mode,unit,compact",
    [("hard", "token", False), ("hard", "token", True), ("hard", "step", True), ("soft", "token", False)],
    ids=["hard-token-holes", "hard-token-compacting", "hard-step-compacting", "soft"],
)
def test_exact_batch_rows_undo_independently(model, tok, monkeypatch, mode, unit, compact):
    if compact:
        monkeypatch.setattr(slots, "MIN_HOLES", 1)  # compact at every chance
    prompts = [
        "Question: 3 apples and 4 more?\nAnswer:\n",
        "Hi",
        "Question: what is 12 times 3?\nAnswer:\n",
        "Count:\n1\n2\n",
    ]
    kwargs = dict(mode=mode, undo_unit=unit, max_new_tokens=28, return_logits=True)
    batched = decode(model, tok, prompts, force_undo=forced_undos, **kwargs)
    for r, prompt in enumerate(prompts):
        alone = decode(
            model,
            tok,
            [prompt],
            force_undo=lambda rows, step, r=r: torch.tensor([step in UNDO_PATTERNS[r]], device=rows.device),
            **kwargs,
        )[0]
        assert batched[r].trace_ids == alone.trace_ids
        assert batched[r].undos == len(UNDO_PATTERNS[r] & set(range(len(alone.trace_ids))))
        assert (batched[r].logits - alone.logits).abs().max().item() <= TOLERANCE
