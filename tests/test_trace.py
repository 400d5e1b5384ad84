"""The UNDO stack machine and splicing: applying any spliced trace gives the clean ids exactly."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracegen.trace import PROMPT_END, Splice, apply, replay, splice, step_start

UNDO = 0
NL = 1  # the step delimiter in these tests
DELIMS = frozenset({NL})
token = st.integers(min_value=1, max_value=9)  # includes NL, never UNDO


def test_token_undo_pops_one_token():
    assert apply([5, 6, 7, UNDO, 8], UNDO, "token") == [5, 6, 8]


def test_step_undo_pops_back_to_step_start():
    assert apply([5, NL, 6, 7, UNDO], UNDO, "step", DELIMS) == [5, NL]


def test_step_undo_on_empty_step_pops_previous_step():
    assert apply([5, NL, 6, NL, UNDO], UNDO, "step", DELIMS) == [5, NL]
    assert apply([5, NL, 6, NL, UNDO, UNDO], UNDO, "step", DELIMS) == []


def test_undo_with_nothing_to_pop_is_noop():
    assert apply([UNDO, 5, UNDO, UNDO, 6], UNDO, "token") == [6]
    assert apply([UNDO, 5], UNDO, "step", DELIMS) == [5]


def test_replay_records_states_and_depths():
    run = replay([5, 6, UNDO, 7], UNDO, "token")
    assert run.parent == [PROMPT_END, 0, 1, 0]
    assert run.depth == [0, 1, 2, 1]
    assert run.popped_by == [-1, 2, -1, -1]
    assert run.survivors == [0, 3]


def test_splice_token_unit_layout():
    t = splice([5, 6, 7], [Splice(1, (8, 9))], UNDO, "token")
    assert t.tokens == [5, 8, 9, UNDO, UNDO, 6, 7]
    assert t.deviation_spans == [(1, 3)]
    assert t.prune_spans == [(1, 3, 3)]
    assert t.undo_counts == [2]


def test_splice_step_unit_reemits_correct_start_of_step():
    clean = [5, NL, 6, 7, NL, 8]
    t = splice(clean, [Splice(3, (9, NL))], UNDO, "step", DELIMS)
    # step starts at 2: [6] is re-emitted after one undo pops "6 9 NL" (the empty step pops the previous one)
    assert t.tokens == [5, NL, 6, 9, NL, UNDO, 6, 7, NL, 8]
    assert t.prune_spans == [(2, 5, 5)]
    assert t.resume_at == [2]
    assert apply(t.tokens, UNDO, "step", DELIMS) == clean


def test_splice_rejects_out_of_order_and_empty():
    with pytest.raises(ValueError):
        splice([5, 6, 7], [Splice(2, (8,)), Splice(1, (9,))], UNDO, "token")
    with pytest.raises(ValueError):
        splice([5, 6], [Splice(1, ())], UNDO, "token")
    with pytest.raises(ValueError):
        splice([5, 6], [Splice(1, (UNDO,))], UNDO, "token")


def test_step_start():
    assert step_start([5, NL, 6, 7], 3, DELIMS) == 2
    assert step_start([5, 6], 2, DELIMS) == 0


@st.composite
def traces(draw):
    clean = draw(st.lists(token, min_size=0, max_size=40))
    points = sorted(draw(st.lists(st.integers(0, len(clean)), max_size=4, unique=True)))
    splices = [Splice(at, tuple(draw(st.lists(token, min_size=1, max_size=8)))) for at in points]
    return clean, splices


@settings(max_examples=400, deadline=None)
@given(traces(), st.sampled_from(["token", "step"]))
def test_applying_any_spliced_trace_gives_clean_ids(case, unit):
    clean, splices = case
    t = splice(clean, splices, UNDO, unit, DELIMS)
    assert apply(t.tokens, UNDO, unit, DELIMS) == clean
    run = replay(t.tokens, UNDO, unit, DELIMS)
    for (start, end, undo_at), (dev_start, dev_end), n in zip(t.prune_spans, t.deviation_spans, t.undo_counts):
        # the span's tokens are exactly those its undo group pops, and the deviation lies inside it
        group = range(undo_at, undo_at + n)
        assert all(t.tokens[i] == UNDO for i in group)
        erased = [i for i, by in enumerate(run.popped_by) if by in group]
        assert erased == list(range(start, end))
        assert start <= dev_start < dev_end == end
        if unit == "token":
            assert n == dev_end - dev_start
    # spans are disjoint and in order
    flat = [x for s, _, u in t.prune_spans for x in (s, u)]
    assert flat == sorted(flat)
