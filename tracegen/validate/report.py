"""The results of a validation run: mean and spread over seeds, and results.md (tracegen.validate.results
writes it with results.json and results.png; tracegen.validate.verdicts judges the claims).

Claims are judged by fixed rules stated next to each verdict, never tuned to the outcome: a difference
counts only when it is larger than the two variants' seed spreads added together.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from tracegen.validate.plan import PARITY_CAP

METRICS = (
    # key, label, shown as a percentage
    ("accuracy", "accuracy", True),
    ("recovery_rate", "recovery (forced deviation)", True),
    ("undo_after_forced", "undo right after forced deviation", True),
    ("spontaneous_deviation_rate", "spontaneous deviation rate (per step)", True),
    ("undo_precision", "undo precision", True),
    ("undo_recall", "undo recall", True),
    ("undos_per_solution", "undos per solution", False),
    ("tokens_per_solution", "tokens per solution", False),
    ("undo_cap_rate", "decodes ended by the undo cap", True),
    ("kept_after_false_undo", "still solved after one forced false undo", True),
)
PARITY_METRICS = (
    ("budget_multiple", "training tokens (× the equal budget)", False),
    ("clean_token_loss", "clean-token loss", False),
    ("accuracy", "accuracy", True),
    ("recovery_rate", "recovery (forced deviation)", True),
    ("undo_after_forced", "undo right after forced deviation", True),
    ("undos_per_solution", "undos per solution", False),
    ("undo_cap_rate", "decodes ended by the undo cap", True),
)
BAN_POLICY_METRICS = tuple(
    (f"kept_after_false_undo_ban_after_{n}", f"still solved after a forced false undo, ban after {n or 'never'}", True)
    for n in (1, 2, 0)
)
TRAINER_PROBES = (
    # from the trainer's own last evaluation (tracegen.train.evaluate.teacher_forced) on rows held out of the variant's
    # data
    ("final_loss", "final training loss", False),
    ("eval_loss", "held-out loss", False),
    ("undo_after_deviation", "probe: greedy <UNDO> right after the row's own mistake", True),
    ("undo_false_alarm_at_step_end", "probe: greedy <UNDO> at a clean step end", True),
)
PLOTTED = ("accuracy", "recovery_rate", "spontaneous_deviation_rate", "undo_precision", "undo_recall")
RECOVERY_GOAL = 0.8
ACCURACY_GAP = 0.05
NEAR_ZERO = 0.05
LEARNED_ACCURACY = 0.1
"""Comparisons of undo behaviour mean something only once some variant solves this share of the held-out problems."""


def spread(values: Sequence[float]) -> dict:
    """Mean and sample standard deviation over seeds, NaN values (undefined rates) left out."""
    defined = [v for v in values if v is not None and not math.isnan(v)]
    mean = statistics.fmean(defined) if defined else float("nan")
    std = statistics.stdev(defined) if len(defined) > 1 else 0.0 if defined else float("nan")
    return {"mean": mean, "std": std, "n": len(defined), "values": list(values)}


def summarize(
    runs: Sequence[dict], variants: Sequence[str], *, part: str = "metrics", keys: Sequence[tuple] = METRICS
) -> dict[str, dict[str, dict]]:
    """variant -> metric -> spread over that variant's seeds; `part` names the run record's section (metrics, or train
    with TRAINER_PROBES)."""
    return {
        name: {key: spread([run[part].get(key) for run in runs if run["variant"] == name]) for key, _, _ in keys}
        for name in variants
    }


def parity_summary(runs: Sequence[dict], variants: Sequence[str]) -> dict[str, dict]:
    """variant -> spreads of what was measured at parity (clean SFT: its own equal-token run, multiple 1), and how many
    seeds reached it."""
    summary = {}
    for name in variants:
        own = [run for run in runs if run["variant"] == name]
        points = [
            run.get("parity")
            or {
                "reached": True,
                "budget_multiple": 1.0,
                "clean_token_loss": run["clean_token_loss"],
                "metrics": run["metrics"],
            }
            for run in own
        ]
        cells = {
            key: spread([point["metrics"].get(key) if key in point["metrics"] else point.get(key) for point in points])
            for key, _, _ in PARITY_METRICS
        }
        summary[name] = {
            **cells,
            "reached": sum(point["reached"] for point in points),
            "seeds": len(points),
            "equal_budget_clean_token_loss": spread([run["clean_token_loss"] for run in own]),
        }
    return summary


def show(cell: dict, percent: bool) -> str:
    if math.isnan(cell["mean"]):
        return "–"
    if percent:
        return f"{100 * cell['mean']:.1f} ± {100 * cell['std']:.1f}"
    return f"{cell['mean']:.3g} ± {cell['std']:.2g}"


def table(summary: dict[str, dict[str, dict]], labels: dict[str, str], keys: Sequence[tuple] = METRICS) -> str:
    head = "| variant | " + " | ".join(label for _, label, _ in keys) + " |"
    rule = "|---|" + "---|" * len(keys)
    rows = [
        f"| {labels[name]} | " + " | ".join(show(cells[key], percent) for key, _, percent in keys) + " |"
        for name, cells in summary.items()
    ]
    return "\n".join([head, rule, *rows])


def markdown(results: dict) -> str:
    labels = {v["name"]: v["label"] for v in results["variants"]}
    settings = results["settings"]
    lines = [
        "# tracegen validate: do models trained on tracegen data learn to undo?",
        "",
        f"Command: `{results['command']}`  ",
        f"Seeds: {', '.join(map(str, results['seeds']))}  ",
        f"Wall time: {results['wall_seconds'] / 60:.1f} min (budget {results['budget_minutes']:g} min)  ",
        f"Machine: {results['machine']}",
        "",
        f"Model: `{settings['model_config']}` Llama from scratch ({settings['parameters']:,} parameters); "
        f"{settings['train_problems']} training problems, {settings['eval_problems']} held-out problems (another "
        "source seed); "
        f"{settings['tokens_per_run']:,} training tokens per run (measured throughput {settings['throughput']:.0f} "
        "tokens/s; "
        f"batch {settings['batch_size']}, lr {settings['lr']:g}).",
        "",
        "Values are mean ± standard deviation over seeds, in % except undos and tokens per solution; – is undefined "
        "(e.g. no undo at all). Measured at the equal token budget.",
        "",
        table(results["summary"], labels),
        "",
        "The trainer's own teacher-forced probe on rows held out of each variant's data (tracegen.train.evaluate; "
        "losses in nats per labelled token):",
        "",
        table(results["trainer_probes"], labels, TRAINER_PROBES),
        "",
        *_parity_lines(results, labels),
        *_ban_policy_lines(results, labels),
        "| variant | loss | context | undo unit | optimizer steps | mean row tokens |",
        "|---|---|---|---|---|---|",
        *(
            f"| {v['label']} | {v['loss']} | {v['context_mode']} | {v['undo_unit']} | {v['steps']} | "
            f"{v['mean_row_tokens']:.0f} |"
            for v in results["variants"]
        ),
        "",
        "## Claims",
        "",
        "A difference counts when it exceeds both variants' seed spreads added together.",
        "",
        *(f"- **{c['claim']}**: {c['verdict']}. {c['evidence']}." for c in results["claims"]),
        "",
        "## What the metrics mean",
        "",
        "- accuracy: greedy decode of the held-out prompt; the final answer of the output with every `<UNDO>` "
        "applied equals the gold answer.",
        "- recovery: the held-out row's rule-made deviation (a wrong step at a random position, as in training data) "
        "is forced into the decode after the clean steps before it; the share that still ends with the right answer.",
        "- undo right after forced deviation: the share whose first free token after the forced mistake is `<UNDO>`.",
        "- spontaneous deviation rate: of the steps a model writes from a correct state (free decode), the share "
        "that is wrong (divergence verifier) before any undo.",
        "- undo precision: of the undo events (runs of `<UNDO>`), the share where what the model had written "
        "contained a wrong step.",
        "- undo recall: of the wrong steps it writes from a correct state, the share it follows directly by `<UNDO>`.",
        "- undos / tokens per solution: `<UNDO>` tokens and all emitted tokens of the free decode.",
        "- decodes ended by the undo cap: free decodes stopped because they emitted more `<UNDO>`s than the decoder "
        "allows (64).",
        "- still solved after one forced false undo: of the problems the free decode solved without undoing, the "
        "share still solved when one `<UNDO>` is forced at a random token (erasing a correct token).",
        "- steps are judged where the model ends a line and also where an undo interrupts a line that is already "
        "wrong (mid-line undos, as token undo makes them); a partial line that starts a gold line is not wrong.",
        f"- decoding: greedy, `<UNDO>` threshold {results['settings'].get('undo_threshold', 0.0):g}, ban after "
        f"{results['settings'].get('ban_after', 1)} undo(s) at a state (hard mode).",
        "",
    ]
    return "\n".join(lines)


def _parity_lines(results: dict, labels: dict[str, str]) -> list[str]:
    if not results.get("parity"):
        return []
    parity = results["parity"]
    head = (
        "| variant | seeds at parity | clean-token loss at the equal budget | "
        + " | ".join(label for _, label, _ in PARITY_METRICS)
        + " |"
    )
    rows = [
        f"| {labels[name]} | {cells['reached']} of {cells['seeds']} | "
        f"{show(cells['equal_budget_clean_token_loss'], False)} | "
        + " | ".join(show(cells[key], percent) for key, _, percent in PARITY_METRICS)
        + " |"
        for name, cells in parity.items()
    ]
    return [
        "Trained to parity: each trace variant trains on past the budget (at the final learning rate) until its "
        "loss on the held-out clean solutions "
        f"is at most clean SFT's ({results['settings']['parity_target_loss']:.4f} nats per token, mean over seeds), "
        f"or {PARITY_CAP}× the budget; measured where it stopped:",
        "",
        head,
        "|---|---|---|" + "---|" * len(PARITY_METRICS),
        *rows,
        "",
    ]


def _ban_policy_lines(results: dict, labels: dict[str, str]) -> list[str]:
    """Hard-mode variants: the share of solved problems still solved after one forced false undo, per ban policy."""
    hard = ban_policies(results)
    if not hard:
        return []
    return [
        "Ban policies (hard mode; `tracegen decode --ban-after N`): one `<UNDO>` forced at a random token of each "
        "solution solved without undoing, at the equal budget:",
        "",
        table(hard, labels, BAN_POLICY_METRICS),
        "",
    ]


def ban_policies(results: dict) -> dict[str, dict]:
    names = [v["name"] for v in results["variants"] if v["context_mode"] == "hard"]
    return {
        name: {
            key: spread([run["metrics"].get(key) for run in results["runs"] if run["variant"] == name])
            for key, _, _ in BAN_POLICY_METRICS
        }
        for name in names
    }
