"""The O(L) hard mask: `erased_at` and the FlexAttention BlockMask give exactly the dense mask of
tracegen.train.masks."""

import json

import pyarrow.parquet as pq
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn.attention.flex_attention import flex_attention
from transformers import LlamaConfig, LlamaForCausalLM
from typer.testing import CliRunner

from tracegen.cli import app
from tracegen.train.data import TraceCollator
from tracegen.train.flex import block_mask, erased_at, visible_from_erased_at
from tracegen.train.masks import trace_columns, visibility

UNDO, NEWLINE = 2, 10
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"))]
completions = st.lists(st.sampled_from([UNDO, UNDO, 3, 4, 5, NEWLINE]), max_size=40)


def materialised(mask, length: int) -> torch.Tensor:
    """[B, L, L] bool that a BlockMask means: full blocks all visible, partial blocks by mask_mod, the others
    nothing."""
    batch = mask.kv_num_blocks.shape[0]
    size = mask.BLOCK_SIZE[0]
    out = torch.zeros(batch, length, length, dtype=torch.bool)
    q, k = torch.arange(length)[:, None], torch.arange(length)[None, :]
    for b in range(batch):
        exact = mask.mask_mod(torch.tensor(b), torch.tensor(0), q, k)
        for qb in range(mask.kv_num_blocks.shape[2]):
            rows = slice(qb * size, (qb + 1) * size)
            for kb in mask.kv_indices[b, 0, qb, : mask.kv_num_blocks[b, 0, qb]].tolist():
                out[b, rows, kb * size : (kb + 1) * size] = exact[rows, kb * size : (kb + 1) * size]
            for kb in mask.full_kv_indices[b, 0, qb, : mask.full_kv_num_blocks[b, 0, qb]].tolist():
                out[b, rows, kb * size : (kb + 1) * size] = True
    return out


@settings(max_examples=200, deadline=None)
@given(
    prompt_len=st.integers(1, 6),
    completion=completions,
    unit=st.sampled_from(["token", "step"]),
    padding=st.integers(0, 9),
    block=st.sampled_from([1, 4, 8]),
)
def test_erased_at_and_the_block_mask_are_the_hard_mask(prompt_len, completion, unit, padding, block):
    cols = trace_columns([7] * prompt_len, completion, undo_id=UNDO, unit=unit, delimiters=frozenset({NEWLINE}))
    ids, spans = cols["input_ids"], cols["prune_spans"]
    n = len(ids)
    dense = visibility(ids, spans, "hard", undo_id=UNDO)
    erased = erased_at(ids, spans, "hard", undo_id=UNDO, length=n + padding)
    assert erased.shape == (n + padding,)
    assert torch.equal(visible_from_erased_at(erased)[:n, :n], dense)
    assert (erased[n:] == n + padding).all()  # padding keys are never erased; only padding queries come after them
    meant = materialised(block_mask(erased[None], block_size=block), n + padding)[0]
    assert torch.equal(meant[:n, :n], dense)  # real queries: exactly the dense mask
    assert not meant[:n, n:].any()  # and never a padding key
    assert meant[n:].any(-1).all()  # a padding query sees something: no empty row


def test_the_block_mask_moves_to_a_device_with_the_erased_at_its_mask_function_reads():
    """A batch collated on the CPU is moved to the GPU by `.to` (accelerate, the HF Trainer, plain loops): the
    mask function's tensor must move too, or the compiled kernel reads CPU memory."""
    erased = torch.stack([erased_at([7, 8, 9, UNDO, 10], [[1, 2, 3]], "hard", undo_id=UNDO, length=8)])
    mask = block_mask(erased, block_size=4)
    moved = mask.to("meta")
    assert moved.erased.device.type == "meta" and moved.kv_indices.device.type == "meta"
    assert moved.mask_mod(*(torch.tensor(i) for i in (0, 0, 3, 1))).device.type == "meta"
    assert moved.BLOCK_SIZE == mask.BLOCK_SIZE and moved.seq_lengths == mask.seq_lengths
    assert mask.mask_mod(*(torch.tensor(i) for i in (0, 0, 2, 1))).item()  # key 1 visible before the <UNDO>
    assert not mask.mask_mod(*(torch.tensor(i) for i in (0, 0, 4, 1))).item()  # and erased after it


def test_soft_rows_erase_nothing():
    assert erased_at([7, 8, UNDO, 9], [[1, 2, 2]], "soft", undo_id=UNDO).tolist() == [4, 4, 4, 4]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("unit", ["token", "step"])
def test_flex_attention_with_the_block_mask_equals_dense_attention(unit, device):
    torch.manual_seed(0)
    rows = []
    for seed in range(3):
        generator = torch.Generator().manual_seed(seed)
        completion = torch.tensor([UNDO, 3, 4, 5, NEWLINE, 3, 4])[
            torch.randint(0, 7, (150 + 40 * seed,), generator=generator)
        ].tolist()
        rows.append(trace_columns([7] * 5, completion, undo_id=UNDO, unit=unit, delimiters=frozenset({NEWLINE})))
    length = max(len(row["input_ids"]) for row in rows)
    erased = torch.stack(
        [erased_at(row["input_ids"], row["prune_spans"], "hard", undo_id=UNDO, length=length) for row in rows]
    )
    query, key, value = (torch.randn(len(rows), 2, length, 16, dtype=torch.float32, device=device) for _ in range(3))
    flexed = flex_attention(query, key, value, block_mask=block_mask(erased.to(device), block_size=32)).cpu()
    dense = torch.nn.functional.scaled_dot_product_attention(
        query, key, value, attn_mask=visible_from_erased_at(erased)[:, None].to(device)
    ).cpu()
    for b, row in enumerate(rows):
        n = len(row["input_ids"])
        assert torch.equal(
            visible_from_erased_at(erased[b])[:n, :n],
            visibility(row["input_ids"], row["prune_spans"], "hard", undo_id=UNDO),
        )
        assert (flexed[b, :, :n] - dense[b, :, :n]).abs().max().item() <= (1e-6 if device == "cpu" else 1e-5)


@pytest.fixture(scope="module")
def hard_rows(tmp_path_factory, gsm8k_small):
    rows, undo_id, vocab = [], None, None
    for unit in ("token", "step"):
        out = tmp_path_factory.mktemp(unit) / "out"
        args = [
            "build",
            "--recipe",
            "gsm8k",
            "--source",
            str(gsm8k_small),
            "--out",
            str(out),
            "--limit",
            "3",
            "--undo-unit",
            unit,
        ]
        args += ["--context-mode", "hard", "--set", "deviations.clean_fraction=0", "--set", "deviations.per_trace=2"]
        assert CliRunner().invoke(app, args).exit_code == 0
        tokenizer = json.loads((out / "tracegen.json").read_text())["tokenizer"]
        undo_id, vocab = tokenizer["undo_id"], tokenizer["vocab_size"]
        rows += pq.read_table(next((out / "data").glob("*.parquet"))).to_pylist()
    return rows, undo_id, vocab


def tiny_llama(vocab: int, device: str):
    """Heads of 16 dimensions: the least a compiled flex kernel takes on a GPU."""
    config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=64,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
    )
    torch.manual_seed(0)
    return LlamaForCausalLM(config).to(device)


def model_inputs_on(batch: dict, device: str) -> dict:
    """The collated inputs (a dense mask tensor or a BlockMask) on `device`, labels aside."""
    return {key: value.to(device) for key, value in batch.items() if key != "labels"}


@pytest.mark.parametrize("device", DEVICES)
def test_a_flex_attention_model_on_the_collators_block_mask_equals_the_dense_mask(hard_rows, device):
    """fp32, token and step undo rows in one padded batch (one compilation of transformers' flex kernel)."""
    rows, undo_id, vocab = hard_rows
    model = tiny_llama(vocab, device).eval()
    dense_batch = TraceCollator(undo_id, pad_to_multiple_of=128)(rows)
    flex_batch = TraceCollator(undo_id, pad_to_multiple_of=128, mask="flex")(rows)
    assert torch.equal(dense_batch["position_ids"], flex_batch["position_ids"]) and torch.equal(
        dense_batch["labels"], flex_batch["labels"]
    )
    with torch.no_grad():
        model.set_attn_implementation("eager")
        dense = model(**model_inputs_on(dense_batch, device)).logits.cpu()
        model.set_attn_implementation("flex_attention")
        flexed = model(**model_inputs_on(flex_batch, device)).logits.cpu()
    for b, row in enumerate(rows):
        n = len(row["input_ids"])
        assert (flexed[b, :n] - dense[b, :n]).abs().max().item() <= 1e-5


@pytest.mark.skipif(not torch.cuda.is_available(), reason="FlexAttention has a backward on CUDA only (torch 2.13 CPU)")
def test_a_flex_training_step_has_the_gradients_of_the_dense_mask(hard_rows):
    """What a trainer does with the BlockMask: the masked-SFT loss and every parameter's gradient, flex vs dense."""
    from tracegen.train.loss import label_loss

    rows, undo_id, vocab = hard_rows
    grads, losses = {}, {}
    for kind, attention in (("dense", "eager"), ("flex", "flex_attention")):
        model = tiny_llama(vocab, "cuda").train()
        model.set_attn_implementation(attention)
        batch = TraceCollator(undo_id, pad_to_multiple_of=128, mask=kind)(rows)
        total, count = label_loss(model(**model_inputs_on(batch, "cuda")).logits, batch["labels"].cuda())
        (total / count).backward()
        losses[kind] = (total / count).item()
        grads[kind] = {name: p.grad.detach().cpu() for name, p in model.named_parameters()}
    assert losses["flex"] == pytest.approx(losses["dense"], rel=1e-5)
    for name, grad in grads["dense"].items():
        assert (grads["flex"][name] - grad).abs().max().item() <= 1e-5 * max(1.0, grad.abs().max().item()), name
