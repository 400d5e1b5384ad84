"""tracegen validate: metrics on hand-made traces, the forced-prefix adapter, the report's rules, and one tiny
end-to-end run."""

from __future__ import annotations

import json
import math

import pytest
import torch
from typer.testing import CliRunner

from tracegen.cli import app
from tracegen.decoding import decode
from tracegen.tokens import TraceTokenizer
from tracegen.validate import plan, report, verdicts
from tracegen.validate.forcing import PrefixForcing
from tracegen.validate.metrics import GoldReference, first_wrong_line, lines_of, solution_stats

QUESTION = (
    "Aisha buys 2 jars of beads, and each jar holds 3 beads. She sells 2 beads at the market. Omar gives her "
    "18 beads. How many beads does Aisha have now?"
)
GOLD = (
    "Aisha buys 2*3 = <<2*3=6>>6 beads.\nShe has 6-2 = <<6-2=4>>4 beads left after the market.\nOmar gives her "
    "18, so she has 4+18 = <<4+18=22>>22 beads.\n#### 22"
)
PROBLEM = GoldReference(question=QUESTION, gold_solution=GOLD, answer="22")
WRONG_STEP = "She has 6-2 = <<6-2=5>>5 beads left after the market.\n"


@pytest.fixture(scope="module")
def tok() -> TraceTokenizer:
    return TraceTokenizer.load(None)


def ids(tok: TraceTokenizer, *pieces: str | int) -> list[int]:
    """Text pieces tokenized, ints (special ids) as they are."""
    return [t for piece in pieces for t in ([piece] if isinstance(piece, int) else tok.encode(piece))]


def gold_lines() -> list[str]:
    return [line + "\n" for line in GOLD.split("\n")[:-1]] + ["#### 22"]


def test_a_clean_solution_has_every_step_judged_and_right(tok):
    stats = solution_stats(ids(tok, GOLD, tok.eos_id), PROBLEM, tok, "token")
    assert (stats.correct, stats.judged_steps, stats.wrong_steps, stats.undo_events) == (1, 4, 0, 0)
    assert stats.rates()["spontaneous_deviation_rate"] == 0
    assert math.isnan(stats.rates()["undo_precision"]) and math.isnan(stats.rates()["undo_recall"])


@pytest.mark.parametrize("unit", ["token", "step"])
def test_a_wrong_step_undone_at_once_counts_for_recall_and_precision(tok, unit):
    first, second, third, final = gold_lines()
    wrong = tok.encode(WRONG_STEP)
    undos = [tok.undo_id] * (len(wrong) if unit == "token" else 1)
    trace = ids(tok, first) + wrong + undos + ids(tok, second, third, final, tok.eos_id)
    stats = solution_stats(trace, PROBLEM, tok, unit)
    assert (stats.correct, stats.wrong_steps, stats.wrong_steps_undone) == (1, 1, 1)
    assert (stats.undo_events, stats.justified_undo_events, stats.undos) == (1, 1, len(undos))
    assert stats.judged_steps == 5  # four gold steps and the wrong one
    assert stats.tokens == len(trace)


def test_undoing_a_right_step_is_an_unjustified_undo(tok):
    first, second, third, final = gold_lines()
    again = tok.encode(second)
    trace = ids(tok, first) + again + [tok.undo_id] * len(again) + ids(tok, second, third, final, tok.eos_id)
    stats = solution_stats(trace, PROBLEM, tok, "token")
    assert (stats.undo_events, stats.justified_undo_events, stats.wrong_steps) == (1, 0, 0)
    assert stats.rates()["undo_precision"] == 0


def test_steps_built_on_a_kept_mistake_are_not_judged(tok):
    first, _, _, _ = gold_lines()
    trace = ids(
        tok, first, WRONG_STEP, "Omar gives her 18, so she has 5+18 = <<5+18=23>>23 beads.\n#### 23", tok.eos_id
    )
    stats = solution_stats(trace, PROBLEM, tok, "token")
    assert (stats.correct, stats.judged_steps, stats.wrong_steps, stats.wrong_steps_undone) == (0, 2, 1, 0)
    assert stats.rates()["undo_recall"] == 0


def test_a_mistake_undone_mid_line_is_a_judged_wrong_step_and_a_caught_one(tok):
    """Token undo erases a mistake before its line ends; recall and the deviation rate must see it."""
    first, second, third, final = gold_lines()
    wrong = tok.encode("She has 6-2 = <<6-2=5>>5")
    trace = ids(tok, first) + wrong + [tok.undo_id] * len(wrong) + ids(tok, second, third, final, tok.eos_id)
    stats = solution_stats(trace, PROBLEM, tok, "token")
    assert (stats.correct, stats.judged_steps, stats.wrong_steps, stats.wrong_steps_undone) == (1, 5, 1, 1)
    assert (stats.undo_events, stats.justified_undo_events) == (1, 1)
    assert stats.rates()["undo_recall"] == 1 and stats.rates()["spontaneous_deviation_rate"] == 1 / 5


@pytest.mark.parametrize("partial", ["She has 6-2 = <<6-2=4>>4 bea", "She has 6-", "#### 2"])
def test_undoing_the_start_of_a_right_line_mid_line_is_a_false_alarm_not_a_step(tok, partial):
    """`#### 2` may still become `#### 22`: a partial line is wrong only when no gold line starts with it."""
    first, second, third, final = gold_lines()
    before = ids(tok, first) if not partial.startswith("####") else ids(tok, first, second, third)
    cut = tok.encode(partial)
    trace = (
        before
        + cut
        + [tok.undo_id] * len(cut)
        + ids(tok, *(gold_lines()[len(lines_of(tok.decode(before))) :]), tok.eos_id)
    )
    stats = solution_stats(trace, PROBLEM, tok, "token")
    assert (stats.correct, stats.judged_steps, stats.wrong_steps) == (1, 4, 0)
    assert (stats.undo_events, stats.justified_undo_events) == (1, 0)


def test_a_wrong_final_line_is_a_wrong_step():
    assert first_wrong_line(PROBLEM, GOLD.split("\n")) is None
    assert first_wrong_line(PROBLEM, GOLD.split("\n")[:-1] + ["#### 21"]) == 3
    assert first_wrong_line(PROBLEM, [GOLD.split("\n")[0], WRONG_STEP.strip()]) == 1
    assert lines_of("a\nb\n") == ["a", "b"] and lines_of("a\nb") == ["a", "b"]


def tiny_model(tok: TraceTokenizer):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=64,
        vocab_size=len(tok.hf),
        eos_token_id=tok.eos_id,
    )
    return LlamaForCausalLM(config).eval()


@pytest.mark.parametrize("mode", ["soft", "hard"])
def test_forced_prefixes_are_emitted_then_the_model_goes_on(tok, mode):
    model = tiny_model(tok)
    prompts = [tok.encode("Question: one?"), tok.encode("Question: two, longer?"), tok.encode("Q")]
    # the first row ends (EOS) while the others are still forced: the adapter must follow the batch
    prefixes = [ids(tok, "ab", tok.eos_id), ids(tok, "some longer forced text"), ids(tok, "x")]
    results = decode(PrefixForcing(model, prefixes), tok, prompts, mode=mode, max_new_tokens=30)
    assert results[0].trace_ids == prefixes[0]
    for prefix, result in zip(prefixes[1:], results[1:]):
        assert result.trace_ids[: len(prefix)] == prefix
        assert len(result.trace_ids) > len(prefix)
    alone = decode(model, tok, [prompts[2] + prefixes[2]], mode=mode, max_new_tokens=30 - len(prefixes[2]))[0]
    assert results[2].trace_ids[len(prefixes[2]) :] == alone.trace_ids  # what follows is the model's own choice


def test_a_prefix_per_row_is_required(tok):
    with pytest.raises(ValueError, match="2 prefixes for a batch of 1"):
        decode(PrefixForcing(tiny_model(tok), [[5], [6]]), tok, [tok.encode("Q")], max_new_tokens=3)


def cell(mean: float, std: float, n: int = 3) -> dict:
    return {"mean": mean, "std": std, "n": n, "values": []}


def test_spread_ignores_undefined_rates_and_compare_needs_a_gap_beyond_both_spreads():
    result = report.spread([0.5, float("nan"), 0.7])
    assert (
        result["n"] == 2 and result["mean"] == pytest.approx(0.6) and result["std"] == pytest.approx(0.1414, abs=1e-4)
    )
    assert verdicts.compare(cell(0.6, 0.1), cell(0.3, 0.1)) == "higher"
    assert verdicts.compare(cell(0.45, 0.1), cell(0.3, 0.1)) == "within spread"
    assert verdicts.compare(cell(0.1, 0.0), cell(0.3, 0.05)) == "lower"
    assert verdicts.compare(cell(0.6, 0.0, n=1), cell(0.3, 0.0, n=1)).startswith("higher (one seed")


def summary_with(accuracy: float = 0.2, **recoveries: float) -> dict:
    keys = [key for key, _, _ in report.METRICS]
    values = {"accuracy": accuracy}
    return {
        name: {
            key: cell(recoveries.get(name, 0.2) if key == "recovery_rate" else values.get(key, 0.2), 0.01)
            for key in keys
        }
        for name in ("clean", "naive", "msft-soft", "msft-hard")
    }


def test_the_recovery_claim_holds_only_past_the_goal_with_clean_near_zero():
    labels = {name: name for name in ("clean", "naive", "msft-soft", "msft-hard")}
    holds = verdicts.claims(summary_with(clean=0.0, **{"msft-hard": 0.85}), labels, None)[0]
    assert holds["verdict"] == "holds" and "85.0%" in holds["evidence"]
    assert (
        verdicts.claims(summary_with(clean=0.0, **{"msft-hard": 0.7}), labels, None)[0]["verdict"]
        == "does not hold at this scale"
    )
    assert (
        verdicts.claims(summary_with(clean=0.3, **{"msft-hard": 0.9}), labels, None)[0]["verdict"]
        == "does not hold at this scale"
    )


def test_the_goal_needs_recovery_and_accuracy_near_clean_sft_at_the_budget_or_at_parity():
    labels = {name: name for name in ("clean", "naive", "msft-soft", "msft-hard")}

    def goal(summary, parity=None):
        return next(c for c in verdicts.claims(summary, labels, None, parity) if "issue 11's goal" in c["claim"])

    summary = summary_with(accuracy=0.8, **{"msft-hard": 0.85})
    assert goal(summary)["verdict"] == "holds"
    summary["msft-hard"]["accuracy"] = cell(0.7, 0.01)
    lagging = goal(summary)
    assert (
        lagging["verdict"] == "does not hold at this scale"
        and "undo right after the forced mistake" in lagging["evidence"]
    )
    at_parity = {
        "msft-hard": {
            "accuracy": cell(0.78, 0.01),
            "recovery_rate": cell(0.82, 0.01),
            "reached": 3,
            "seeds": 3,
            "budget_multiple": cell(1.5, 0.2),
        }
    }
    assert goal(summary, at_parity)["verdict"] == "holds" and "3 of 3 seeds" in goal(summary, at_parity)["evidence"]


def test_comparisons_are_not_testable_while_no_variant_learnt_the_task():
    labels = {name: name for name in ("clean", "naive", "msft-soft", "msft-hard")}
    summary = summary_with(accuracy=0.0)
    summary["naive"]["spontaneous_deviation_rate"] = cell(0.9, 0.01)
    found = verdicts.claims(summary, labels, None)
    assert found[0]["verdict"] == "does not hold at this scale"
    comparisons = [c for c in found[1:] if "issue 11's goal" not in c["claim"]]
    assert comparisons and all(c["verdict"].startswith("not testable at this scale") for c in comparisons)
    assert (
        verdicts.claims(summary_with(accuracy=0.5) | {"naive": summary["naive"]}, labels, None)[1]["verdict"]
        == "holds"
    )


def test_the_budget_is_shared_evenly_and_steps_follow_row_length():
    budget = plan.token_budget(budget_seconds=600, elapsed=100, reserve=20, runs=8, throughput=1000)
    assert budget.seconds_per_run == 60 and budget.tokens_per_run == int(60 * 1000 * plan.TRAIN_SHARE)
    steps = budget.steps(mean_row_tokens=150, batch_size=16)
    assert (
        steps % plan.CHECKS_PER_BUDGET == 0 and abs(steps - budget.tokens_per_run / 2400) <= plan.CHECKS_PER_BUDGET / 2
    )
    assert budget.steps(mean_row_tokens=100, batch_size=16) > steps
    assert (
        plan.token_budget(budget_seconds=10, elapsed=30, reserve=0, runs=2, throughput=1000).steps(100, 16)
        == plan.CHECKS_PER_BUDGET
    )


def test_a_parity_watch_measures_at_the_budget_then_stops_at_parity_or_the_cap(monkeypatch):
    from tracegen.validate import parity

    losses = iter([0.9, 0.7, 0.5, 0.4])
    monkeypatch.setattr(parity, "clean_token_loss", lambda model, clean: next(losses))
    measured = []
    watch = parity.ParityWatch(
        budget_steps=8,
        target_loss=0.55,
        clean=None,
        measure=lambda model: measured.append(model) or {"accuracy": len(measured)},
    )
    assert watch.steps_per_check() == 2 and watch.cap_steps == plan.PARITY_CAP * 8
    assert not watch(None, 6, {}), "before the budget nothing is measured"
    assert not watch(None, 8, {"eval_loss": 1.0}) and watch.equal == {
        "metrics": {"accuracy": 1},
        "train": {"eval_loss": 1.0},
        "clean_token_loss": 0.9,
    }
    assert not watch(None, 10, {})
    assert watch(None, 12, {}) and watch.parity == {
        "reached": True,
        "steps": 12,
        "budget_multiple": 1.5,
        "clean_token_loss": 0.5,
        "metrics": {"accuracy": 2},
    }
    monkeypatch.setattr(parity, "clean_token_loss", lambda model, clean: 0.4)
    capped = parity.ParityWatch(budget_steps=4, target_loss=0.1, clean=None, measure=lambda model: {})
    assert not capped(None, 4, {}) and capped(None, capped.cap_steps, {}) and capped.parity["reached"] is False


def test_parity_summary_counts_clean_sft_as_its_own_parity():
    runs = [
        {"variant": "clean", "metrics": {"accuracy": 0.8}, "clean_token_loss": 0.2},
        {
            "variant": "msft-hard",
            "metrics": {"accuracy": 0.5},
            "clean_token_loss": 0.3,
            "parity": {
                "reached": True,
                "budget_multiple": 2.0,
                "clean_token_loss": 0.19,
                "metrics": {"accuracy": 0.7},
            },
        },
        {
            "variant": "msft-hard",
            "metrics": {"accuracy": 0.4},
            "clean_token_loss": 0.4,
            "parity": {
                "reached": False,
                "budget_multiple": 3.0,
                "clean_token_loss": 0.25,
                "metrics": {"accuracy": 0.6},
            },
        },
    ]
    summary = report.parity_summary(runs, ["clean", "msft-hard"])
    assert (
        summary["clean"]["budget_multiple"]["mean"] == 1
        and summary["clean"]["accuracy"]["mean"] == 0.8
        and summary["clean"]["reached"] == 1
    )
    assert (summary["msft-hard"]["reached"], summary["msft-hard"]["seeds"]) == (1, 2)
    assert summary["msft-hard"]["accuracy"]["mean"] == pytest.approx(0.65) and summary["msft-hard"][
        "equal_budget_clean_token_loss"
    ]["mean"] == pytest.approx(0.35)


def test_validate_runs_end_to_end_and_writes_table_json_and_plot(tmp_path):
    out = tmp_path / "validate"
    args = [
        "validate",
        "--budget-minutes",
        "0.1",
        "--seeds",
        "1",
        "--train-problems",
        "40",
        "--eval-problems",
        "4",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    names = [v["name"] for v in results["variants"]]
    assert names[:4] == ["clean", "naive", "msft-soft", "msft-hard"] and names[4] in (
        "msft-soft-step",
        "msft-hard-step",
    )
    assert len(results["runs"]) == 5 and all(run["metrics"]["problems"] == 4 for run in results["runs"])
    assert all(run["parity"]["budget_multiple"] >= 1 for run in results["runs"] if run["variant"] != "clean") and set(
        results["parity"]
    ) == set(names)
    hard = next(run for run in results["runs"] if run["variant"] == "msft-hard")["metrics"]
    assert {
        "undo_cap_rate",
        "kept_after_false_undo",
        "kept_after_false_undo_ban_after_1",
        "kept_after_false_undo_ban_after_0",
    } <= set(hard)
    assert {run["steps"] for run in results["runs"]} and results["settings"]["tokens_per_run"] >= 0
    assert [c["claim"] for c in results["claims"]][0].startswith("mSFT hard recovers")
    markdown = (out / "results.md").read_text()
    assert (
        f"tracegen validate --recipe arith --budget-minutes 0.1 --seeds 1 --out {out}" in markdown
        and "| mSFT hard |" in markdown
    )
    assert (out / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2 and "holds a validation run already" in again.output
