"""The results of a validation run: mean and spread over seeds, the claims checked with numbers, and three files.

`results.json` (everything, per seed too), `results.md` (the table and the claims), `results.png`
(the main rates per variant, error bars = standard deviation over seeds). Claims are judged by fixed
rules stated next to each verdict, never tuned to the outcome: a difference counts only when it is
larger than the two variants' seed spreads added together.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from pathlib import Path

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
BAN_POLICY_METRICS = tuple((f"kept_after_false_undo_ban_after_{n}", f"still solved after a forced false undo, ban after {n or 'never'}", True) for n in (1, 2, 0))
TRAINER_PROBES = (
    # from the trainer's own last evaluation (tracegen.train.evaluate.teacher_forced) on rows held out of the variant's data
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


def summarize(runs: Sequence[dict], variants: Sequence[str], *, part: str = "metrics", keys: Sequence[tuple] = METRICS) -> dict[str, dict[str, dict]]:
    """variant -> metric -> spread over that variant's seeds; `part` names the run record's section (metrics, or train with TRAINER_PROBES)."""
    return {name: {key: spread([run[part].get(key) for run in runs if run["variant"] == name]) for key, _, _ in keys} for name in variants}


def _goal_claim(summary: dict[str, dict[str, dict]], parity: dict | None) -> dict:
    """Issue 11's goal for mSFT hard, at the equal budget and at parity, with the numbers that limit it."""
    clean, hard = summary["clean"], summary["msft-hard"]

    def meets(accuracy: dict, recovery: dict) -> bool:
        return recovery["mean"] >= RECOVERY_GOAL and accuracy["mean"] >= clean["accuracy"]["mean"] - ACCURACY_GAP

    at_parity = parity["msft-hard"] if parity else None
    holds = meets(hard["accuracy"], hard["recovery_rate"]) or (at_parity is not None and meets(at_parity["accuracy"], at_parity["recovery_rate"]))
    evidence = (
        f"equal budget: recovery {_pct(hard['recovery_rate'])}, accuracy {_pct(hard['accuracy'])} vs clean SFT {_pct(clean['accuracy'])}; "
        f"what limits recovery: undo right after the forced mistake {_pct(hard['undo_after_forced'])}, "
        f"still solved after a false undo {_pct(hard['kept_after_false_undo'])}, decodes ended by the undo cap {_pct(hard['undo_cap_rate'])}, "
        f"spontaneous deviation rate {_pct(hard['spontaneous_deviation_rate'])} vs clean SFT {_pct(clean['spontaneous_deviation_rate'])}"
    )
    if at_parity is not None:
        evidence += (
            f"; at parity ({at_parity['reached']} of {at_parity['seeds']} seeds reached it, {at_parity['budget_multiple']['mean']:.2f}× the budget): "
            f"recovery {_pct(at_parity['recovery_rate'])}, accuracy {_pct(at_parity['accuracy'])}"
        )
    return {
        "claim": f"mSFT hard recovers ≥ {RECOVERY_GOAL:.0%} of forced mistakes with accuracy within {ACCURACY_GAP * 100:.0f} points of clean SFT (issue 11's goal)",
        "verdict": "holds" if holds else "does not hold at this scale",
        "evidence": evidence,
    }


def parity_summary(runs: Sequence[dict], variants: Sequence[str]) -> dict[str, dict]:
    """variant -> spreads of what was measured at parity (clean SFT: its own equal-token run, multiple 1), and how many seeds reached it."""
    summary = {}
    for name in variants:
        own = [run for run in runs if run["variant"] == name]
        points = [run.get("parity") or {"reached": True, "budget_multiple": 1.0, "clean_token_loss": run["clean_token_loss"], "metrics": run["metrics"]} for run in own]
        cells = {key: spread([point["metrics"].get(key) if key in point["metrics"] else point.get(key) for point in points]) for key, _, _ in PARITY_METRICS}
        summary[name] = {**cells, "reached": sum(point["reached"] for point in points), "seeds": len(points), "equal_budget_clean_token_loss": spread([run["clean_token_loss"] for run in own])}
    return summary


def show(cell: dict, percent: bool) -> str:
    if math.isnan(cell["mean"]):
        return "–"
    if percent:
        return f"{100 * cell['mean']:.1f} ± {100 * cell['std']:.1f}"
    return f"{cell['mean']:.3g} ± {cell['std']:.2g}"


def compare(a: dict, b: dict) -> str:
    """'higher', 'lower' or 'within spread': is a's mean above b's by more than both seed spreads together?"""
    if math.isnan(a["mean"]) or math.isnan(b["mean"]):
        return "undefined"
    if min(a["n"], b["n"]) < 2:
        return "higher (one seed, spread unknown)" if a["mean"] > b["mean"] else "lower (one seed, spread unknown)" if a["mean"] < b["mean"] else "equal"
    gap = a["mean"] - b["mean"]
    if abs(gap) <= a["std"] + b["std"]:
        return "within spread"
    return "higher" if gap > 0 else "lower"


def _pct(cell: dict) -> str:
    return "undefined" if math.isnan(cell["mean"]) else f"{100 * cell['mean']:.1f}% ± {100 * cell['std']:.1f}"


def claims(summary: dict[str, dict[str, dict]], labels: dict[str, str], step_name: str | None, parity: dict | None = None) -> list[dict]:
    """The acceptance list's claims, each with a verdict and the numbers behind it.

    The recovery goal is judged as it stands; the comparisons are "not testable" while no variant
    has learnt the task (`LEARNED_ACCURACY`): two models that cannot do the arithmetic differ by noise.
    """
    found = []
    clean, naive, soft, hard = (summary[name] for name in ("clean", "naive", "msft-soft", "msft-hard"))
    best_accuracy = max((cells["accuracy"]["mean"] for cells in summary.values() if not math.isnan(cells["accuracy"]["mean"])), default=0.0)

    def unless_untestable(verdict: str) -> str:
        if best_accuracy >= LEARNED_ACCURACY:
            return verdict
        return f"not testable at this scale (no variant solves {LEARNED_ACCURACY:.0%} of the held-out problems; the best solves {best_accuracy:.0%})"

    holds = hard["recovery_rate"]["mean"] >= RECOVERY_GOAL and clean["recovery_rate"]["mean"] <= NEAR_ZERO
    found.append({
        "claim": f"mSFT hard recovers from forced deviations (goal ≥ {RECOVERY_GOAL:.0%}) while clean SFT is near 0 (≤ {NEAR_ZERO:.0%})",
        "verdict": "holds" if holds else "does not hold at this scale",
        "evidence": f"recovery: mSFT hard {_pct(hard['recovery_rate'])}, clean SFT {_pct(clean['recovery_rate'])}",
    })
    naive_vs_soft = compare(naive["spontaneous_deviation_rate"], soft["spontaneous_deviation_rate"])
    naive_vs_clean = compare(naive["spontaneous_deviation_rate"], clean["spontaneous_deviation_rate"])
    found.append({
        "claim": "naive trace SFT (deviation loss on) raises the spontaneous deviation rate",
        "verdict": unless_untestable("holds" if naive_vs_soft == "higher" else "does not hold at this scale" if naive_vs_soft in ("lower", "within spread") else naive_vs_soft),
        "evidence": (
            f"spontaneous deviation rate: naive {_pct(naive['spontaneous_deviation_rate'])}, mSFT soft {_pct(soft['spontaneous_deviation_rate'])} "
            f"(naive vs mSFT soft: {naive_vs_soft}), clean SFT {_pct(clean['spontaneous_deviation_rate'])} (naive vs clean: {naive_vs_clean})"
        ),
    })
    by_recovery = compare(hard["recovery_rate"], soft["recovery_rate"])
    by_accuracy = compare(hard["accuracy"], soft["accuracy"])
    found.append({
        "claim": "hard context beats soft",
        "verdict": unless_untestable("holds" if by_recovery == "higher" and by_accuracy != "lower" else "does not hold at this scale" if by_recovery in ("lower", "within spread") else by_recovery),
        "evidence": (
            f"recovery: hard {_pct(hard['recovery_rate'])} vs soft {_pct(soft['recovery_rate'])} ({by_recovery}); "
            f"accuracy: hard {_pct(hard['accuracy'])} vs soft {_pct(soft['accuracy'])} ({by_accuracy})"
        ),
    })
    acc = compare(naive["accuracy"], soft["accuracy"])
    rec = compare(naive["recovery_rate"], soft["recovery_rate"])
    found.append({
        "claim": "masking the deviation loss is unnecessary (Ye et al. 2024: naive does as well as masked)",
        "verdict": unless_untestable("holds" if acc != "lower" and rec != "lower" else "does not hold at this scale"),
        "evidence": f"naive vs mSFT soft: accuracy {_pct(naive['accuracy'])} vs {_pct(soft['accuracy'])} ({acc}); recovery {_pct(naive['recovery_rate'])} vs {_pct(soft['recovery_rate'])} ({rec})",
    })
    found.append(_goal_claim(summary, parity))
    if step_name is not None:
        step = summary[step_name]
        base = step_name.removesuffix("-step")
        found.append({
            "claim": f"step undo vs token undo ({labels[base]})",
            "verdict": unless_untestable(f"step undo: recovery {compare(step['recovery_rate'], summary[base]['recovery_rate'])}, accuracy {compare(step['accuracy'], summary[base]['accuracy'])}"),
            "evidence": (
                f"recovery: step {_pct(step['recovery_rate'])} vs token {_pct(summary[base]['recovery_rate'])}; "
                f"accuracy: step {_pct(step['accuracy'])} vs token {_pct(summary[base]['accuracy'])}; "
                f"tokens per solution: step {step['tokens_per_solution']['mean']:.1f} vs token {summary[base]['tokens_per_solution']['mean']:.1f}"
            ),
        })
    return found


def table(summary: dict[str, dict[str, dict]], labels: dict[str, str], keys: Sequence[tuple] = METRICS) -> str:
    head = "| variant | " + " | ".join(label for _, label, _ in keys) + " |"
    rule = "|---|" + "---|" * len(keys)
    rows = [f"| {labels[name]} | " + " | ".join(show(cells[key], percent) for key, _, percent in keys) + " |" for name, cells in summary.items()]
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
        f"{settings['train_problems']} training problems, {settings['eval_problems']} held-out problems (another source seed); "
        f"{settings['tokens_per_run']:,} training tokens per run (measured throughput {settings['throughput']:.0f} tokens/s; "
        f"batch {settings['batch_size']}, lr {settings['lr']:g}).",
        "",
        "Values are mean ± standard deviation over seeds, in % except undos and tokens per solution; – is undefined (e.g. no undo at all). Measured at the equal token budget.",
        "",
        table(results["summary"], labels),
        "",
        "The trainer's own teacher-forced probe on rows held out of each variant's data (tracegen.train.evaluate; losses in nats per labelled token):",
        "",
        table(results["trainer_probes"], labels, TRAINER_PROBES),
        "",
        *_parity_lines(results, labels),
        *_ban_policy_lines(results, labels),
        "| variant | loss | context | undo unit | optimizer steps | mean row tokens |",
        "|---|---|---|---|---|---|",
        *(f"| {v['label']} | {v['loss']} | {v['context_mode']} | {v['undo_unit']} | {v['steps']} | {v['mean_row_tokens']:.0f} |" for v in results["variants"]),
        "",
        "## Claims",
        "",
        "A difference counts when it exceeds both variants' seed spreads added together.",
        "",
        *(f"- **{c['claim']}**: {c['verdict']}. {c['evidence']}." for c in results["claims"]),
        "",
        "## What the metrics mean",
        "",
        "- accuracy: greedy decode of the held-out prompt; the final answer of the output with every `<UNDO>` applied equals the gold answer.",
        "- recovery: the held-out row's rule-made deviation (a wrong step at a random position, as in training data) is forced into the decode after the clean steps before it; the share that still ends with the right answer.",
        "- undo right after forced deviation: the share whose first free token after the forced mistake is `<UNDO>`.",
        "- spontaneous deviation rate: of the steps a model writes from a correct state (free decode), the share that is wrong (divergence verifier) before any undo.",
        "- undo precision: of the undo events (runs of `<UNDO>`), the share where what the model had written contained a wrong step.",
        "- undo recall: of the wrong steps it writes from a correct state, the share it follows directly by `<UNDO>`.",
        "- undos / tokens per solution: `<UNDO>` tokens and all emitted tokens of the free decode.",
        "- decodes ended by the undo cap: free decodes stopped because they emitted more `<UNDO>`s than the decoder allows (64).",
        "- still solved after one forced false undo: of the problems the free decode solved without undoing, the share still solved when one `<UNDO>` is forced at a random token (erasing a correct token).",
        "- steps are judged where the model ends a line and also where an undo interrupts a line that is already wrong (mid-line undos, as token undo makes them); a partial line that starts a gold line is not wrong.",
        f"- decoding: greedy, `<UNDO>` threshold {results['settings'].get('undo_threshold', 0.0):g}, ban after {results['settings'].get('ban_after', 1)} undo(s) at a state (hard mode).",
        "",
    ]
    return "\n".join(lines)


def _parity_lines(results: dict, labels: dict[str, str]) -> list[str]:
    if not results.get("parity"):
        return []
    parity = results["parity"]
    head = "| variant | seeds at parity | clean-token loss at the equal budget | " + " | ".join(label for _, label, _ in PARITY_METRICS) + " |"
    rows = [
        f"| {labels[name]} | {cells['reached']} of {cells['seeds']} | {show(cells['equal_budget_clean_token_loss'], False)} | " + " | ".join(show(cells[key], percent) for key, _, percent in PARITY_METRICS) + " |"
        for name, cells in parity.items()
    ]
    return [
        f"Trained to parity: each trace variant trains on past the budget (at the final learning rate) until its loss on the held-out clean solutions "
        f"is at most clean SFT's ({results['settings']['parity_target_loss']:.4f} nats per token, mean over seeds), or {PARITY_CAP}× the budget; measured where it stopped:",
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
    return ["Ban policies (hard mode; `tracegen decode --ban-after N`): one `<UNDO>` forced at a random token of each solution solved without undoing, at the equal budget:", "", table(hard, labels, BAN_POLICY_METRICS), ""]


def ban_policies(results: dict) -> dict[str, dict]:
    names = [v["name"] for v in results["variants"] if v["context_mode"] == "hard"]
    return {name: {key: spread([run["metrics"].get(key) for run in results["runs"] if run["variant"] == name]) for key, _, _ in BAN_POLICY_METRICS} for name in names}


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = {v["name"]: v["label"] for v in results["variants"]}
    names = list(results["summary"])
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(11, 4.5))
    for i, name in enumerate(names):
        cells = [results["summary"][name][key] for key in PLOTTED]
        means = [0.0 if math.isnan(c["mean"]) else 100 * c["mean"] for c in cells]
        stds = [0.0 if math.isnan(c["std"]) else 100 * c["std"] for c in cells]
        ax.bar([x + i * width for x in range(len(PLOTTED))], means, width, yerr=stds, capsize=3, label=labels[name])
    titles = dict((key, label) for key, label, _ in METRICS)
    ax.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(PLOTTED))], [titles[key].replace(" (", "\n(") for key in PLOTTED])
    ax.set_ylabel("% (mean ± sd over seeds)")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=8)
    ax.set_title(f"tracegen validate --recipe {results['settings']['recipe']}: seeds {', '.join(map(str, results['seeds']))}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write(results: dict, out: Path) -> None:
    """results.json, results.md and results.png in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(_json_ready(results), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    (out / "results.md").write_text(markdown(results), encoding="utf-8")
    plot(results, out / "results.png")


def _json_ready(value):
    """NaN (an undefined rate) as null: JSON has no NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _json_ready(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    return value
