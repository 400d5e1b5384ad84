"""Property: in any trace the exporter builds, every model state gets one label and deviations start where they differ.

Token-level and tokenizer-free, so that shared prefixes are common: a tiny alphabet makes
random deviations often begin with the clean token at their state (the case DESIGN.md section 3
forbids). A state is what the model sees, computed the checker's way (from prune spans and
position ids, as a trainer builds its mask), independently of the exporter's stack walk.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracegen.columns import IGNORE, token_columns
from tracegen.dataset.check_rows import RowError, check_one_label_per_state, seen_contexts
from tracegen.trace import Splice, differing_splice, replay, splice
from tracegen.train.masks import visibility

UNDO, NL = 0, 1
ALPHABET = st.sampled_from([NL, 2, 3, 4])
PROMPT = [7, 8]


@st.composite
def traces(draw):
    clean = draw(st.lists(ALPHABET, min_size=1, max_size=14))
    starts = sorted(draw(st.lists(st.integers(0, len(clean) - 1), max_size=4, unique=True)))
    splices = [Splice(at, tuple(draw(st.lists(ALPHABET, min_size=1, max_size=4)))) for at in starts]
    return clean, splices


def exported(clean, splices, unit, mode, label_before=False):
    """What the row builder does in token space: each deviation moved to where it differs, in increasing order."""
    kept = []
    for sp in splices:
        moved = differing_splice(clean, sp)
        if moved is not None and (not kept or moved.at > kept[-1].at):
            kept.append(moved)
    delimiters = frozenset({NL})
    t = splice(clean, kept, UNDO, unit, delimiters)
    cols = token_columns(
        PROMPT,
        t.tokens,
        t.deviation_spans,
        t.prune_spans,
        undo_id=UNDO,
        unit=unit,
        mode=mode,
        loss="msft",
        delimiters=delimiters,
        label_before_deviation=label_before,
    )
    return t, cols


@settings(max_examples=400, deadline=None)
@given(case=traces(), unit=st.sampled_from(["token", "step"]), mode=st.sampled_from(["soft", "hard"]))
def test_one_label_per_state_and_deviations_start_where_they_differ(case, unit, mode):
    clean, splices = case
    t, cols = exported(clean, splices, unit, mode)
    run = replay(t.tokens, UNDO, unit, frozenset({NL}))
    assert [t.tokens[i] for i in run.survivors] == clean
    for start, _ in t.deviation_spans:  # (b) the first deviation token is never the clean token at its state
        assert run.depth[start] == len(clean) or t.tokens[start] != clean[run.depth[start]]
    ids, labels, positions = cols["input_ids"], cols["labels"], cols["position_ids"]
    contexts = seen_contexts(ids, positions, cols["prune_spans"], UNDO) if mode == "hard" else list(range(len(ids)))
    check_one_label_per_state(labels, contexts, len(PROMPT))  # (a)
    labelled = [contexts[q] for q in range(len(PROMPT) - 1, len(ids) - 1) if labels[q + 1] != IGNORE]
    assert len(labelled) == len(set(labelled)), "a state is labelled once"


def mask_contexts(ids, positions, spans, mode):
    """What each position sees, straight from the trainer's mask: (token, position id) of every visible key."""
    seen = visibility(ids, spans, mode, undo_id=UNDO)
    return [tuple((ids[k], positions[k]) for k in range(q + 1) if seen[q, k]) for q in range(len(ids))]


@settings(max_examples=200, deadline=None)
@given(case=traces(), unit=st.sampled_from(["token", "step"]))
def test_hard_states_match_the_mask_and_clean_states_get_the_clean_token(case, unit):
    """The checker's state ids are the trainer mask's contexts; a state the clean completion passes through is labelled
    with the clean next token."""
    clean, splices = case
    _, cols = exported(clean, splices, unit, "hard")
    ids, labels, positions = cols["input_ids"], cols["labels"], cols["position_ids"]
    contexts = mask_contexts(ids, positions, cols["prune_spans"], "hard")
    ids_of = seen_contexts(ids, positions, cols["prune_spans"], UNDO)
    assert len(set(zip(contexts, ids_of))) == len(set(contexts)) == len(set(ids_of))
    label_of = {contexts[q]: labels[q + 1] for q in range(len(PROMPT) - 1, len(ids) - 1) if labels[q + 1] != IGNORE}
    whole = PROMPT + clean
    clean_contexts = mask_contexts(whole, list(range(len(whole))), [], "soft")
    for q in range(len(PROMPT) - 1, len(whole) - 1):
        assert label_of[clean_contexts[q]] == whole[q + 1]


def test_soft_label_before_deviation_is_the_clean_token():
    t, cols = exported([2, 3, 4], [Splice(1, (4, 4))], "token", "soft", label_before=True)
    p = len(PROMPT)
    start = t.deviation_spans[0][0]
    assert cols["labels"][p + start] == 3 and cols["input_ids"][p + start] == 4


def test_a_contradictory_state_is_named_with_both_positions():
    # the old exporter's row: the deviation shares its first token C with the clean path
    # (prompt p, clean C E; trace C D U U C E), so the state (p C) is labelled U at 2 and E at 6
    ids = [5, 3, 4, UNDO, UNDO, 3, 2]
    positions = [0, 1, 2, 3, 4, 1, 2]
    labels = [IGNORE, 3, UNDO, UNDO, IGNORE, IGNORE, 2]
    contexts = seen_contexts(ids, positions, [[1, 3, 3]], UNDO)
    assert contexts[1] == contexts[5]
    with pytest.raises(RowError, match=r"positions 1 and 5 .* labelled 0 and 2"):
        check_one_label_per_state(labels, contexts, 1)
