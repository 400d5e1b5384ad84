"""Labels and position ids per loss and context mode (DESIGN.md sections 4 and 5)."""

from tracegen.columns import IGNORE, token_columns
from tracegen.trace import Splice, splice

UNDO = 0
NL = 1
P_ID, D1, D2, C1, C2 = 10, 21, 22, 31, 32


def columns(prompt, clean, splices, *, unit="token", mode="soft", loss="msft"):
    t = splice(clean, splices, UNDO, unit, frozenset({NL}))
    return t, token_columns(
        prompt,
        t.tokens,
        t.deviation_spans,
        t.prune_spans,
        undo_id=UNDO,
        unit=unit,
        mode=mode,
        loss=loss,
        delimiters=frozenset({NL}),
    )


def test_design_worked_example_hard_token_unit():
    # prompt ends with p; completion p' = c1 c2 with deviation d1 d2 spliced before c1
    t, cols = columns([7, P_ID], [C1, C2], [Splice(0, (D1, D2))], mode="hard")
    assert cols["input_ids"] == [7, P_ID, D1, D2, UNDO, UNDO, C1, C2]
    k = 1  # position of p
    assert cols["labels"] == [IGNORE, IGNORE, C1, UNDO, UNDO, IGNORE, IGNORE, C2]
    assert cols["position_ids"] == [0, k, k + 1, k + 2, k + 3, k + 4, k + 1, k + 2]
    assert cols["prune_spans"] == [[2, 4, 4]]


def test_soft_msft_masks_deviation_and_trains_undo():
    _, cols = columns([7, P_ID], [C1, C2], [Splice(0, (D1, D2))])
    assert cols["labels"] == [IGNORE, IGNORE, IGNORE, IGNORE, UNDO, UNDO, C1, C2]
    assert cols["position_ids"] == list(range(8))


def test_soft_naive_trains_deviation():
    _, cols = columns([7, P_ID], [C1, C2], [Splice(0, (D1, D2))], loss="naive")
    assert cols["labels"] == [IGNORE, IGNORE, D1, D2, UNDO, UNDO, C1, C2]


def test_step_unit_soft_trains_erased_correct_prefix():
    # clean: c1 c2 NL c1 ; deviation mid-step 0 after c1: the step undo erases c1 too
    t, cols = columns([P_ID], [C1, C2, NL, C1], [Splice(1, (D1, NL))], unit="step")
    assert cols["input_ids"] == [P_ID, C1, D1, NL, UNDO, C1, C2, NL, C1]
    assert cols["labels"] == [IGNORE, C1, IGNORE, IGNORE, UNDO, C1, C2, NL, C1]
    assert cols["prune_spans"] == [[1, 4, 4]]


def test_step_unit_hard_labels_last_emission_and_masks_deviation_states():
    t, cols = columns([P_ID], [C1, C2, NL, C1], [Splice(1, (D1, NL))], unit="step", mode="hard")
    ids = cols["input_ids"]
    assert ids == [P_ID, C1, D1, NL, UNDO, C1, C2, NL, C1]
    # state(p) last emits C1 (re-emitted); state(p C1) is seen twice (the step undo re-emits C1):
    # one state, labelled once with its last emission C2, where it emits it (the surviving C1);
    # state(D1) emits NL (deviation: off); state(NL) emits UNDO
    assert cols["labels"] == [IGNORE, C1, IGNORE, IGNORE, UNDO, IGNORE, C2, NL, C1]
    assert cols["position_ids"] == [0, 1, 2, 3, 4, 1, 2, 3, 4]


def test_soft_label_before_deviation_teaches_the_correct_token_at_that_state():
    t = splice([C1, C2], [Splice(0, (D1, D2))], UNDO, "token")
    cols = token_columns(
        [7, P_ID],
        t.tokens,
        t.deviation_spans,
        t.prune_spans,
        undo_id=UNDO,
        unit="token",
        mode="soft",
        loss="msft",
        delimiters=frozenset(),
        label_before_deviation=True,
    )
    # the state at p (labels[2], whose input is D1) is labelled with the correct token C1
    assert cols["labels"] == [IGNORE, IGNORE, C1, IGNORE, UNDO, UNDO, C1, C2]


def test_step_unit_soft_label_before_deviation_uses_the_clean_token_at_that_depth():
    t = splice([C1, C2, NL, C1], [Splice(1, (D1, NL))], UNDO, "step", frozenset({NL}))
    cols = token_columns(
        [P_ID],
        t.tokens,
        t.deviation_spans,
        t.prune_spans,
        undo_id=UNDO,
        unit="step",
        mode="soft",
        loss="msft",
        delimiters=frozenset({NL}),
        label_before_deviation=True,
    )
    assert cols["labels"] == [IGNORE, C1, C2, IGNORE, UNDO, C1, C2, NL, C1]
