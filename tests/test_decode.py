"""The decoder's behaviour: undo semantics, bans on revisited states, caps, stopping, sampling, cache trimming."""

from random import Random

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from tracegen.decoding import decode, trace_segments
from tracegen.decoding.rowstate import HardRowState
from tracegen.decoding.slots import SlotCache
from tracegen.trace import replay

PROMPT = "Question: 3 apples and 4 more?\nAnswer:\n"


def undo_at(*steps):
    return lambda rows, step: torch.full(rows.shape, step in steps, dtype=torch.bool)


@pytest.mark.parametrize("mode", ["hard", "soft"])
def test_without_undos_greedy_decoding_is_what_generate_gives(model, tok, mode):
    result = decode(model, tok, [PROMPT], mode=mode, max_new_tokens=24)[0]
    assert tok.undo_id not in result.trace_ids, "this tiny model does not undo by itself"
    prompt = torch.tensor([tok.prompt_ids(PROMPT, chat=False)])
    generated = model.generate(
        prompt,
        attention_mask=torch.ones_like(prompt),
        max_new_tokens=24,
        do_sample=False,
        eos_token_id=tok.eos_id,
        pad_token_id=1,
    )
    expected = generated[0, prompt.shape[1] :].tolist()
    expected = expected[: expected.index(tok.eos_id) + 1] if tok.eos_id in expected else expected
    assert result.trace_ids == result.ids == expected
    assert result.forward_passes == len(expected) and result.undos == result.erased == 0


def test_a_transformers_tokenizer_works_as_well_as_a_trace_tokenizer(model, tok):
    assert (
        decode(model, tok.hf, [PROMPT], max_new_tokens=8)[0].trace_ids
        == decode(model, tok, [PROMPT], max_new_tokens=8)[0].trace_ids
    )


def test_a_hard_undo_returns_to_the_state_and_with_ban_after_1_forbids_the_token_it_undid(model, tok):
    free = decode(model, tok, [PROMPT], max_new_tokens=10)[0].trace_ids
    result = decode(model, tok, [PROMPT], max_new_tokens=10, force_undo=undo_at(4), return_logits=True, ban_after=1)[0]
    trace = result.trace_ids
    assert trace[:4] == free[:4] and trace[4] == tok.undo_id
    # back in the state that emitted free[3]: same logits, but free[3] is banned, so greedy takes the runner-up
    assert torch.allclose(result.logits[5], result.logits[3], atol=1e-5)
    assert trace[5] != free[3] and trace[5] == result.logits[3].topk(2).indices[1].item()
    assert result.ids == trace[:3] + trace[5:]
    assert (result.undos, result.erased, result.forward_passes) == (1, 1, 10)


def test_soft_mode_keeps_the_undone_token_in_context(model, tok):
    result = decode(model, tok, [PROMPT], mode="soft", max_new_tokens=10, force_undo=undo_at(4), return_logits=True)[0]
    assert not torch.allclose(result.logits[5], result.logits[3], atol=1e-3)
    assert result.ids == result.trace_ids[:3] + result.trace_ids[5:] and result.erased == 1


def test_step_undo_pops_to_the_last_delimiter(model, tok):
    seven, apples = tok.encode(" 7 apples")[:2]
    x, y, z = tok.encode(" x y z")
    forced = [seven, apples, tok.encode("\n")[0], x, y, z, tok.undo_id, y]
    result = decode(model, tok, [PROMPT], undo_unit="step", forced=[forced])[0]
    assert result.ids == forced[:3] + [y] and result.erased == 3 and result.finished == "length"


def test_undo_with_nothing_to_pop_is_a_no_op(model, tok):
    free = decode(model, tok, [PROMPT], max_new_tokens=6)[0]
    result = decode(model, tok, [PROMPT], max_new_tokens=7, force_undo=undo_at(0))[0]
    assert result.trace_ids == [tok.undo_id] + free.trace_ids
    assert result.ids == free.ids and result.erased == 0 and result.undos == 1


def test_the_undo_cap_ends_the_row(model, tok):
    result = decode(
        model,
        tok,
        [PROMPT],
        max_new_tokens=20,
        max_undos=3,
        force_undo=lambda rows, step: torch.full(rows.shape, step >= 2, dtype=torch.bool),
    )[0]
    assert result.finished == "undo_cap"
    assert result.trace_ids[2:] == [tok.undo_id] * 3 and result.ids == []
    assert result.forward_passes == 6, "the refused <UNDO> was chosen by a forward too"


def test_eos_ends_a_row_and_is_not_in_the_text(model, tok):
    hello = tok.encode(" hello")
    result = decode(model, tok, [PROMPT], forced=[hello + [tok.eos_id]])[0]
    assert result.finished == "eos" and result.text == " hello" and result.ids == hello + [tok.eos_id]


def test_rows_that_end_early_leave_the_batch_without_disturbing_the_others(model, tok):
    long_alone = decode(model, tok, ["Hi"], max_new_tokens=12, force_undo=undo_at(5))[0]
    batch = decode(
        model,
        tok,
        [PROMPT, "Hi"],
        max_new_tokens=12,
        max_undos=0,
        force_undo=lambda rows, step: (rows == 0) & (step == 1) | (rows == 1) & (step == 5),
    )
    assert batch[0].finished == "undo_cap" and len(batch[0].trace_ids) == 1
    assert batch[1].finished == "undo_cap" and batch[1].trace_ids == long_alone.trace_ids[:5]


def test_sampling_is_reproducible_with_a_seed_and_top_k_1_is_greedy(model, tok):
    sample = lambda seed: decode(model, tok, [PROMPT, "Hi"], max_new_tokens=16, temperature=1.0, seed=seed)  # noqa: E731
    assert [r.trace_ids for r in sample(1)] == [r.trace_ids for r in sample(1)]
    assert [r.trace_ids for r in sample(1)] != [r.trace_ids for r in sample(2)]
    greedy = decode(model, tok, [PROMPT], max_new_tokens=16)[0]
    assert (
        decode(model, tok, [PROMPT], max_new_tokens=16, temperature=0.7, top_k=1, seed=3)[0].trace_ids
        == greedy.trace_ids
    )
    assert (
        decode(model, tok, [PROMPT], max_new_tokens=16, temperature=0.7, top_p=1e-6, seed=3)[0].trace_ids
        == greedy.trace_ids
    )


def test_one_row_trims_its_cache_physically(model, tok):
    cache = SlotCache(model, [tok.prompt_ids(PROMPT, chat=False)], pad_id=1, capacity=8)
    with torch.inference_mode():
        cache.prefill()
        for step, token in enumerate([40, 41, 42]):
            cache.step(torch.tensor([token]), torch.tensor([cache.length]), torch.tensor([step]))
        cache.kill(0, [1, 2])
        cache.tidy()
    assert cache.length == cache.cache.get_seq_length() == len(tok.prompt_ids(PROMPT, chat=False)) + 1


def test_a_state_reached_again_by_re_emission_keeps_its_ban():
    """Step unit: `a \\n b c <UNDO>` pops b and c; re-emitting b reaches the same state, which undid c."""
    state = HardRowState(undo_id=2, unit="step", delimiters=frozenset({10}), ban_after=1)
    state.catch_up([5, 10, 6, 7])
    assert state.undo() == [2, 3] and state.top == 1
    assert state.banned() == set(), "b, popped below the top, may be emitted again"
    assert state.push(6), "the state after b is known ground"
    assert state.banned() == {7}
    assert not state.push(8), "a token never emitted from there makes a new state"


def test_segments_mark_erased_tokens_and_undos(tok):
    a, b, c = tok.encode(" one two three")
    segments = trace_segments([a, b, tok.undo_id, c, tok.eos_id], tok, "token")
    assert segments == [(" one", "kept"), (" two", "erased"), ("<UNDO>", "undo"), (" three", "kept")]


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"mode": "medium"}, "context mode"),
        ({"undo_unit": "word"}, "undo unit"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"top_k": 5}, "temperature"),
        ({"temperature": -1.0}, "temperature"),
        ({"forced": [[5], [6]]}, "forced"),
    ],
)
def test_bad_arguments_are_refused(model, tok, kwargs, message):
    with pytest.raises(ValueError, match=message):
        decode(model, tok, [PROMPT], **kwargs)


def test_an_empty_prompt_and_a_model_without_room_for_undo_are_refused(tok):
    small = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=2,
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=1,
        )
    ).eval()
    with pytest.raises(ValueError, match="at least one token"):
        decode(small, tok, [[]])
    with pytest.raises(ValueError, match="no room for <UNDO>"):
        decode(small, tok, [[0, 1]])


@pytest.mark.parametrize("unit", ["token", "step"])
def test_row_state_pops_what_the_stack_machine_pops(unit):
    """Any trace, undo by undo: the row's stack is the stack machine's (tracegen.trace.replay)."""
    rng, delimiters = Random(unit), frozenset({10})
    for _ in range(200):
        trace = [rng.choice([2, 2, 3, 4, 5, 10]) for _ in range(rng.randint(1, 40))]
        state = HardRowState(undo_id=2, unit=unit, delimiters=delimiters)
        for token in trace:
            if token == 2:
                state.undo()
            else:
                state.push(token)
        assert state.stack == replay(trace, 2, unit, delimiters).survivors
