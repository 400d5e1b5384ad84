"""The `branches` layout: hard rows unrolled into plain causal rows that train exactly like the packed rows."""

import json
from collections import Counter

import pyarrow.parquet as pq
import pytest
import torch
from conftest import GSM8K_DIR
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import LlamaConfig, LlamaForCausalLM
from typer.testing import CliRunner

from tracegen.cli import app
from tracegen.columns import IGNORE, token_columns
from tracegen.dataset.check import check_dataset
from tracegen.errors import InputError
from tracegen.recipe import load_recipe
from tracegen.rows.branches import unroll
from tracegen.trace import Splice, splice
from tracegen.train.loss import label_loss
from tracegen.train.masks import attention_inputs, trace_columns, visibility

UNDO = 2
runner = CliRunner()


def build(out, *args):
    result = runner.invoke(app, ["build", "--out", str(out), "--context-mode", "hard", *args])
    assert result.exit_code == 0, result.output
    return out


def rows_of(out):
    return [row for path in sorted((out / "data").glob("*.parquet")) for row in pq.read_table(path).to_pylist()]


def pairs_of_packed(row, undo_id):
    """(visible (token, position) context, label) of every labelled state, from the trainer's mask builder."""
    ids, positions, labels = row["input_ids"], row["position_ids"], row["labels"]
    visible = visibility(ids, row["prune_spans"], "hard", undo_id=undo_id)
    return Counter(
        (tuple((ids[k], positions[k]) for k in visible[i].nonzero().flatten().tolist()), labels[i + 1])
        for i in range(len(ids) - 1)
        if labels[i + 1] != IGNORE
    )


def pairs_of_branches(branches):
    return Counter(
        (tuple((token, j) for j, token in enumerate(b["input_ids"][: i + 1])), b["labels"][i + 1])
        for b in branches
        for i in range(len(b["input_ids"]) - 1)
        if b["labels"][i + 1] != IGNORE
    )


def test_worked_example_of_the_design_unrolls_into_the_clean_row_and_one_branch():
    """DESIGN.md section 4: p d1 d2 U U c1 c2 after a one-token prompt."""
    traced = splice([8, 11, 12], [Splice(1, (20, 21))], UNDO, "token")
    cols = token_columns(
        [7],
        traced.tokens,
        traced.deviation_spans,
        traced.prune_spans,
        undo_id=UNDO,
        unit="token",
        mode="hard",
        loss="msft",
        delimiters=frozenset(),
    )
    branches = unroll(cols["input_ids"], cols["labels"], cols["position_ids"], cols["prune_spans"], undo_id=UNDO)
    assert branches == [
        {"input_ids": [7, 8, 11, 12], "labels": [IGNORE, 8, 11, 12]},  # the clean path first
        {
            "input_ids": [7, 8, 20, 21, UNDO],
            "labels": [IGNORE, IGNORE, IGNORE, UNDO, UNDO],
        },  # prefix, deviation, the one <UNDO> it needs
    ]


@settings(max_examples=300, deadline=None)
@given(
    prompt_len=st.integers(1, 3),
    completion=st.lists(st.sampled_from([UNDO, UNDO, 3, 4, 5, 10]), max_size=18),
    unit=st.sampled_from(["token", "step"]),
    data=st.data(),
)
def test_every_labelled_state_of_the_packed_row_appears_exactly_once_whatever_the_labels(
    prompt_len, completion, unit, data
):
    cols = trace_columns([7] * prompt_len, completion, undo_id=UNDO, unit=unit, delimiters=frozenset({10}))
    n = len(cols["input_ids"])
    labels = data.draw(
        st.lists(st.sampled_from([IGNORE, IGNORE, UNDO, 3, 4]), min_size=n, max_size=n)
    )  # any labels, a state labelled twice included
    row = {**cols, "labels": labels}
    branches = unroll(row["input_ids"], labels, row["position_ids"], row["prune_spans"], undo_id=UNDO)
    assert pairs_of_branches(branches) == pairs_of_packed(row, UNDO)
    for branch in branches:  # each row: a context from the start, then the token its last state emits
        n_states = len(branch["input_ids"]) - 1
        assert len(branch["labels"]) == n_states + 1 and branch["input_ids"][: min(prompt_len, n_states)] == [7] * min(
            prompt_len, n_states
        )


def test_positions_that_are_not_the_surviving_prefix_are_refused():
    with pytest.raises(ValueError, match="position id"):
        unroll([7, 8, 9], [IGNORE, 8, 9], [0, 1, 5], [], undo_id=UNDO)


@pytest.fixture(scope="module", params=["token", "step"])
def packed_and_branches(request, tmp_path_factory, gsm8k_small):
    root = tmp_path_factory.mktemp(f"layouts-{request.param}")
    args = [
        "--recipe",
        "gsm8k",
        "--source",
        str(gsm8k_small),
        "--limit",
        "16",
        "--undo-unit",
        request.param,
        "--set",
        "deviations.per_trace=2",
    ]
    packed = build(root / "packed", *args)
    branches = build(root / "branches", *args, "--layout", "branches")
    return packed, branches


def test_summed_loss_over_branch_rows_equals_the_packed_rows_with_the_hard_mask(packed_and_branches):
    packed, branches = packed_and_branches
    undo_id = json.loads((packed / "tracegen.json").read_text())["tokenizer"]["undo_id"]
    packed_rows, branch_rows = rows_of(packed), rows_of(branches)
    config = LlamaConfig(
        vocab_size=json.loads((packed / "tracegen.json").read_text())["tokenizer"]["vocab_size"],
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).eval()
    model.config._attn_implementation = "eager"
    packed_loss, packed_count = torch.zeros((), dtype=torch.float64), 0
    with torch.no_grad():
        for row in packed_rows:
            mask, positions = attention_inputs(
                row["input_ids"], row["position_ids"], row["prune_spans"], "hard", undo_id=undo_id
            )
            total, count = label_loss(
                model(input_ids=torch.tensor([row["input_ids"]]), attention_mask=mask, position_ids=positions).logits,
                torch.tensor([row["labels"]]),
            )
            packed_loss, packed_count = packed_loss + total.double(), packed_count + count
        branch_loss, branch_count = torch.zeros((), dtype=torch.float64), 0
        for row in branch_rows:  # plain causal: input_ids and labels alone
            total, count = label_loss(
                model(input_ids=torch.tensor([row["input_ids"]])).logits, torch.tensor([row["labels"]])
            )
            branch_loss, branch_count = branch_loss + total.double(), branch_count + count
    assert branch_count == packed_count > 0
    assert abs(branch_loss.item() - packed_loss.item()) <= 1e-6 * packed_loss.item()
    assert len(branch_rows) > len(packed_rows)


def test_branch_rows_carry_their_packed_row_and_start_with_the_clean_path(packed_and_branches):
    packed, branches = packed_and_branches
    undo_id = json.loads((packed / "tracegen.json").read_text())["tokenizer"]["undo_id"]
    by_id = {row["id"]: row for row in rows_of(packed)}
    traces = {}
    for row in rows_of(branches):
        traces.setdefault(row["id"], []).append(row)
    assert traces.keys() == by_id.keys()
    for trace_id, rows in traces.items():
        original = by_id[trace_id]
        assert (
            [row["branch"] for row in rows] == list(range(len(rows))) == list(range(len(original["prune_spans"]) + 1))
        )
        assert rows[0]["packed_input_ids"] == original["input_ids"] and rows[0]["packed_labels"] == original["labels"]
        seen_at_the_end = visibility(original["input_ids"], original["prune_spans"], "hard", undo_id=undo_id)[-1]
        assert rows[0]["input_ids"] == [
            original["input_ids"][k] for k in seen_at_the_end.nonzero().flatten().tolist()
        ]  # the applied trace


@pytest.mark.parametrize(
    "recipe, args",
    [
        ("gsm8k", ["--source", str(GSM8K_DIR / "train.jsonl"), "--limit", "24"]),
        ("arith", ["--limit", "24"]),
        (
            "gsm8k-weak",
            [
                "--source",
                str(GSM8K_DIR / "test.jsonl"),
                "--replay",
                str(GSM8K_DIR / "example_model_solutions.jsonl"),
                "--limit",
                "12",
            ],
        ),
    ],
)
@pytest.mark.parametrize("unit", ["token", "step"])
def test_check_passes_on_branch_builds(tmp_path, recipe, args, unit):
    if not GSM8K_DIR.exists():
        pytest.skip("../shared/data/gsm8k is not present")
    out = build(tmp_path / "out", "--recipe", recipe, *args, "--undo-unit", unit, "--layout", "branches")
    assert check_dataset(out).failure is None
    card = (out / "README.md").read_text()
    assert "| layout | branches: " in card and "token overhead (branch tokens / packed tokens)" in card


def test_check_names_a_branch_row_that_lost_a_label(tmp_path, gsm8k_small):
    out = build(
        tmp_path / "out",
        "--recipe",
        "gsm8k",
        "--source",
        str(gsm8k_small),
        "--limit",
        "8",
        "--layout",
        "branches",
        "--set",
        "deviations.clean_fraction=0",
    )
    path = next((out / "data").glob("*.parquet"))
    table = pq.read_table(path)
    rows = table.to_pylist()
    victim = next(k for k, row in enumerate(rows) if row["branch"] == 1)
    labelled = [j for j, label in enumerate(rows[victim]["labels"]) if label != IGNORE]
    rows[victim]["labels"][labelled[-1]] = IGNORE
    pq.write_table(type(table).from_pylist(rows, schema=table.schema), path)
    failure = check_dataset(out).failure
    assert failure is not None and "rule 'branches'" in failure and rows[victim]["id"] in failure


def test_branches_need_hard_mode():
    with pytest.raises(InputError, match="layout 'branches' unrolls hard-mode rows"):
        load_recipe("gsm8k", {"export.layout": "branches"})


def test_branch_rows_collate_as_plain_causal_rows_and_tracegen_train_says_it_reads_packed_rows(tmp_path, gsm8k_small):
    from tracegen.train.data import TraceCollator

    out = build(
        tmp_path / "out",
        "--recipe",
        "gsm8k",
        "--source",
        str(gsm8k_small),
        "--limit",
        "4",
        "--layout",
        "branches",
        "--set",
        "deviations.clean_fraction=0",
    )
    rows = rows_of(out)
    batch = TraceCollator(json.loads((out / "tracegen.json").read_text())["tokenizer"]["undo_id"])(rows)
    assert (
        batch["attention_mask"].dim() == 2 and "position_ids" not in batch
    )  # not the packed trace's spans on the branch's tokens
    assert batch["labels"][0, : len(rows[0]["labels"])].tolist() == rows[0]["labels"]
    result = runner.invoke(
        app, ["train", "msft", str(out), "--out", str(tmp_path / "run"), "--model-config", "tiny", "--steps", "1"]
    )
    assert result.exit_code == 2 and "tracegen train reads packed rows" in result.output
