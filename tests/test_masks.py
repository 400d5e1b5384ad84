"""tracegen.train.masks: the hard mask is the UNDO stack machine, seen from the attention side."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import LlamaConfig, LlamaForCausalLM

from tracegen.columns import hard_position_ids, token_columns
from tracegen.trace import Splice, replay, splice
from tracegen.train.masks import attention_inputs, batch_attention_inputs, trace_columns, visibility

UNDO, NEWLINE = 2, 10
DELIMITERS = frozenset({NEWLINE})
MIN = torch.finfo(torch.float32).min

completions = st.lists(st.sampled_from([UNDO, UNDO, 3, 4, 5, NEWLINE]), max_size=16)


@settings(max_examples=200, deadline=None)
@given(prompt_len=st.integers(1, 3), completion=completions, unit=st.sampled_from(["token", "step"]))
def test_every_token_sees_exactly_the_prompt_and_the_stack_it_was_pushed_on(prompt_len, completion, unit):
    prompt = [7] * prompt_len
    cols = trace_columns(prompt, completion, undo_id=UNDO, unit=unit, delimiters=DELIMITERS)
    visible = visibility(cols["input_ids"], cols["prune_spans"], "hard", undo_id=UNDO)
    for j, tok in enumerate(completion):
        if tok == UNDO:
            continue  # an <UNDO> input is never a state; what it sees does not matter
        stack = replay(completion[:j], UNDO, unit, DELIMITERS).survivors
        expected = set(range(prompt_len)) | {prompt_len + s for s in stack} | {prompt_len + j}
        assert set(visible[prompt_len + j].nonzero().flatten().tolist()) == expected
    run = replay(completion, UNDO, unit, DELIMITERS)
    _, derived = attention_inputs(cols["input_ids"], None, cols["prune_spans"], "hard", undo_id=UNDO)
    assert derived[0].tolist() == cols["position_ids"] == hard_position_ids(prompt_len, completion, UNDO, run)
    assert cols["emitted_from"] == [prompt_len + parent for parent in run.parent]
    # causal: a longer trace never changes what an earlier token sees (the decoder computes states one at a time)
    n = len(cols["input_ids"])
    for cut in range(prompt_len, n):
        shorter = trace_columns(prompt, completion[: cut - prompt_len], undo_id=UNDO, unit=unit, delimiters=DELIMITERS)
        assert torch.equal(
            visibility(shorter["input_ids"], shorter["prune_spans"], "hard", undo_id=UNDO), visible[:cut, :cut]
        )


def test_worked_example_of_the_design():
    """DESIGN.md section 4, token unit: p d1 d2 U U c1 c2 after a one-token prompt."""
    prompt, clean, deviation = [7], [8, 11, 12], (20, 21)  # p=8 is the first completion token, then c1 c2
    traced = splice(clean, [Splice(1, deviation)], UNDO, "token")
    cols = token_columns(
        prompt,
        traced.tokens,
        traced.deviation_spans,
        traced.prune_spans,
        undo_id=UNDO,
        unit="token",
        mode="hard",
        loss="msft",
        delimiters=frozenset(),
    )
    assert cols["input_ids"] == [7, 8, 20, 21, UNDO, UNDO, 11, 12]
    mask, positions = attention_inputs(
        cols["input_ids"], cols["position_ids"], cols["prune_spans"], "hard", undo_id=UNDO
    )
    assert mask.dtype == torch.float32 and mask.shape == (1, 1, 8, 8)
    assert set(mask[0, 0].unique().tolist()) == {0.0, MIN}
    sees = lambda i: (mask[0, 0, i] == 0).nonzero().flatten().tolist()  # noqa: E731
    assert sees(6) == [0, 1, 6] and sees(7) == [0, 1, 6, 7]  # c1, c2: prompt, p, clean tokens; never d1 d2 or the U's
    assert sees(5) == [0, 1, 2, 3, 4, 5]  # the second U still sees what it erases
    assert positions[0].tolist() == [0, 1, 2, 3, 4, 5, 2, 3]
    assert cols["labels"] == [-100, 8, 11, UNDO, UNDO, -100, -100, 12]


def test_soft_mode_is_plain_causal_whatever_the_spans():
    ids = [7, 8, 20, UNDO, 11]
    mask, positions = attention_inputs(ids, None, [[2, 3, 3]], "soft", undo_id=UNDO)
    assert torch.equal(mask[0, 0] == 0, torch.ones(5, 5, dtype=torch.bool).tril())
    assert positions[0].tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("span", [[2, 3, 4], [3, 2, 3], [0, 3, 9], [-1, 3, 3]])
def test_a_span_that_does_not_fit_is_refused(span):
    with pytest.raises(ValueError, match="prune span"):
        attention_inputs([7, 8, 20, UNDO, 11], None, [span], "hard", undo_id=UNDO)


def test_unknown_context_mode_and_wrong_position_count_are_refused():
    with pytest.raises(ValueError, match="context mode"):
        attention_inputs([7, 8], None, [], "medium", undo_id=UNDO)
    with pytest.raises(ValueError, match="position ids"):
        attention_inputs([7, 8], [0], [], "soft", undo_id=UNDO)


def test_no_op_undo_at_the_completion_start_is_hidden_like_the_decoder_hides_it():
    cols = trace_columns([7], [UNDO, 8, 9], undo_id=UNDO, unit="token", delimiters=frozenset())
    assert cols["prune_spans"] == [[1, 1, 1]]
    assert cols["position_ids"] == [0, 1, 1, 2]
    assert cols["emitted_from"] == [0, 0, 2]


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
def test_a_padded_batch_gives_each_row_its_own_logits_and_no_nan(attention):
    rows = [
        {
            **trace_columns([7, 9], [8, 20, UNDO, 11, 12], undo_id=UNDO, unit="token", delimiters=frozenset()),
            "labels": [-100, -100, 20, UNDO, -100, 12, -100],
        },
        {
            **trace_columns([7], [8, 11], undo_id=UNDO, unit="token", delimiters=frozenset(), context_mode="soft"),
            "labels": [-100, 8, 11],
        },
    ]
    batch = batch_attention_inputs(rows, undo_id=UNDO, pad_to_multiple_of=4)
    assert batch["input_ids"].shape == batch["position_ids"].shape == batch["labels"].shape == (2, 8)
    assert batch["attention_mask"].shape == (2, 1, 8, 8)
    assert batch["labels"][1].tolist() == [-100, 8, 11] + [-100] * 5
    torch.manual_seed(0)
    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=32,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
        )
    ).eval()
    model.config._attn_implementation = attention
    with torch.no_grad():
        logits = model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], position_ids=batch["position_ids"]
        ).logits
        assert not logits.isnan().any()
        for b, row in enumerate(rows):
            mask, positions = attention_inputs(
                row["input_ids"], row["position_ids"], row["prune_spans"], row["context_mode"], undo_id=UNDO
            )
            alone = model(
                input_ids=torch.tensor([row["input_ids"]]), attention_mask=mask, position_ids=positions
            ).logits[0]
            assert (logits[b, : len(row["input_ids"])] - alone).abs().max().item() <= 1e-5


def test_labels_for_some_rows_only_are_refused():
    row = trace_columns([7], [8], undo_id=UNDO, unit="token", delimiters=frozenset())
    with pytest.raises(ValueError, match="labels"):
        batch_attention_inputs([row, {**row, "labels": [-100, 8]}], undo_id=UNDO)
