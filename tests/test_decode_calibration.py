"""Calibrated undoing at decode time: the `<UNDO>` probability threshold and the ban policy for revisited states."""

import pytest
import torch

from tracegen.decoding import decode
from tracegen.decoding.rowstate import DEFAULT_BAN_AFTER, HardRowState

PROMPT = "Question: 3 apples and 4 more?\nAnswer:\n"


def undo_at(*steps):
    return lambda rows, step: torch.full(rows.shape, step in steps, dtype=torch.bool)


class UndoBias(torch.nn.Module):
    """`model` with `bias` added to the `<UNDO>` logit: a model that wants to undo, by a known amount."""

    def __init__(self, model, undo_id: int, bias: float):
        super().__init__()
        self.model, self.undo_id, self.bias = model, undo_id, bias

    @property
    def config(self):
        return self.model.config

    def forward(self, **kwargs):
        out = self.model(**kwargs)
        out.logits[..., self.undo_id] += self.bias
        return out


def test_a_state_undone_twice_is_banned_with_ban_after_2_but_not_after_once(model, tok):
    free = decode(model, tok, [PROMPT], max_new_tokens=10)[0].trace_ids
    once = decode(model, tok, [PROMPT], max_new_tokens=10, force_undo=undo_at(4), ban_after=2)[0].trace_ids
    assert once[4] == tok.undo_id and once[5] == free[3], "one undo: the state may emit the token again"
    twice = decode(model, tok, [PROMPT], max_new_tokens=10, force_undo=undo_at(4, 6), ban_after=2)[0].trace_ids
    assert twice[6] == tok.undo_id and twice[7] != free[3], "the second undo of the same token there bans it"


def test_ban_after_0_never_bans(model, tok):
    free = decode(model, tok, [PROMPT], max_new_tokens=12)[0].trace_ids
    trace = decode(model, tok, [PROMPT], max_new_tokens=12, force_undo=undo_at(4, 6, 8), ban_after=0)[0].trace_ids
    assert [trace[i] for i in (5, 7, 9)] == [free[3]] * 3


def test_the_default_ban_policy_is_the_measured_one(model, tok):
    state = HardRowState(undo_id=2, unit="token", delimiters=frozenset())
    assert state.ban_after == DEFAULT_BAN_AFTER == 2
    with pytest.raises(ValueError, match="ban_after"):
        decode(model, tok, [PROMPT], ban_after=-1)


def test_undo_threshold_masks_undo_where_it_is_not_probable_enough(model, tok):
    biased = UndoBias(model, tok.undo_id, 30.0)  # <UNDO> far above every other token
    p_undo = (
        biased(input_ids=torch.tensor([tok.prompt_ids(PROMPT, chat=False)]))
        .logits[0, -1]
        .softmax(-1)[tok.undo_id]
        .item()
    )
    assert p_undo > 0.99
    plain = decode(model, tok, [PROMPT], max_new_tokens=8)[0]
    eager = decode(biased, tok, [PROMPT], max_new_tokens=8, max_undos=100)[0]
    assert set(eager.trace_ids) == {tok.undo_id}, "without a threshold the biased model only undoes"
    assert (
        decode(biased, tok, [PROMPT], max_new_tokens=8, max_undos=100, undo_threshold=0.5)[0].trace_ids
        == eager.trace_ids
    )
    unsure = UndoBias(model, tok.undo_id, 8.0)
    p_unsure = (
        decode(unsure, tok, [PROMPT], forced=[plain.trace_ids], return_logits=True)[0]
        .logits.softmax(-1)[:, tok.undo_id]
        .max()
        .item()
    )
    assert decode(unsure, tok, [PROMPT], max_new_tokens=8)[0].undos > 0, "the bias makes <UNDO> the greedy choice"
    calibrated = decode(unsure, tok, [PROMPT], max_new_tokens=8, undo_threshold=min(0.999, p_unsure + 1e-3))[0]
    assert calibrated.trace_ids == plain.trace_ids, "below the threshold <UNDO> gives way to the best other token"


@pytest.mark.parametrize("threshold", [-0.1, 1.0])
def test_a_threshold_outside_0_1_is_refused(model, tok, threshold):
    with pytest.raises(ValueError, match="undo_threshold"):
        decode(model, tok, [PROMPT], undo_threshold=threshold)
