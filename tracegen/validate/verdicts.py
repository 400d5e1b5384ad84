"""The acceptance claims of `tracegen validate`, each with a verdict and the numbers behind it."""

from __future__ import annotations

import math

from tracegen.validate.report import ACCURACY_GAP, LEARNED_ACCURACY, NEAR_ZERO, RECOVERY_GOAL


def _goal_claim(summary: dict[str, dict[str, dict]], parity: dict | None) -> dict:
    """Issue 11's goal for mSFT hard, at the equal budget and at parity, with the numbers that limit it."""
    clean, hard = summary["clean"], summary["msft-hard"]

    def meets(accuracy: dict, recovery: dict) -> bool:
        return recovery["mean"] >= RECOVERY_GOAL and accuracy["mean"] >= clean["accuracy"]["mean"] - ACCURACY_GAP

    at_parity = parity["msft-hard"] if parity else None
    holds = meets(hard["accuracy"], hard["recovery_rate"]) or (
        at_parity is not None and meets(at_parity["accuracy"], at_parity["recovery_rate"])
    )
    evidence = (
        f"equal budget: recovery {_pct(hard['recovery_rate'])}, accuracy {_pct(hard['accuracy'])} vs clean SFT "
        f"{_pct(clean['accuracy'])}; "
        f"what limits recovery: undo right after the forced mistake {_pct(hard['undo_after_forced'])}, "
        f"still solved after a false undo {_pct(hard['kept_after_false_undo'])}, decodes ended by the undo cap "
        f"{_pct(hard['undo_cap_rate'])}, "
        f"spontaneous deviation rate {_pct(hard['spontaneous_deviation_rate'])} vs clean SFT "
        f"{_pct(clean['spontaneous_deviation_rate'])}"
    )
    if at_parity is not None:
        evidence += (
            f"; at parity ({at_parity['reached']} of {at_parity['seeds']} seeds reached it, "
            f"{at_parity['budget_multiple']['mean']:.2f}× the budget): "
            f"recovery {_pct(at_parity['recovery_rate'])}, accuracy {_pct(at_parity['accuracy'])}"
        )
    return {
        "claim": f"mSFT hard recovers ≥ {RECOVERY_GOAL:.0%} of forced mistakes with accuracy within "
        f"{ACCURACY_GAP * 100:.0f} points of clean SFT (issue 11's goal)",
        "verdict": "holds" if holds else "does not hold at this scale",
        "evidence": evidence,
    }


def compare(a: dict, b: dict) -> str:
    """'higher', 'lower' or 'within spread': is a's mean above b's by more than both seed spreads together?"""
    if math.isnan(a["mean"]) or math.isnan(b["mean"]):
        return "undefined"
    if min(a["n"], b["n"]) < 2:
        return (
            "higher (one seed, spread unknown)"
            if a["mean"] > b["mean"]
            else "lower (one seed, spread unknown)"
            if a["mean"] < b["mean"]
            else "equal"
        )
    gap = a["mean"] - b["mean"]
    if abs(gap) <= a["std"] + b["std"]:
        return "within spread"
    return "higher" if gap > 0 else "lower"


def _pct(cell: dict) -> str:
    return "undefined" if math.isnan(cell["mean"]) else f"{100 * cell['mean']:.1f}% ± {100 * cell['std']:.1f}"


def claims(
    summary: dict[str, dict[str, dict]], labels: dict[str, str], step_name: str | None, parity: dict | None = None
) -> list[dict]:
    """The acceptance list's claims, each with a verdict and the numbers behind it.

    The recovery goal is judged as it stands; the comparisons are "not testable" while no variant
    has learnt the task (`LEARNED_ACCURACY`): two models that cannot do the arithmetic differ by noise.
    """
    found = []
    clean, naive, soft, hard = (summary[name] for name in ("clean", "naive", "msft-soft", "msft-hard"))
    best_accuracy = max(
        (cells["accuracy"]["mean"] for cells in summary.values() if not math.isnan(cells["accuracy"]["mean"])),
        default=0.0,
    )

    def unless_untestable(verdict: str) -> str:
        if best_accuracy >= LEARNED_ACCURACY:
            return verdict
        return (
            f"not testable at this scale (no variant solves {LEARNED_ACCURACY:.0%} of the held-out problems; the "
            f"best solves {best_accuracy:.0%})"
        )

    holds = hard["recovery_rate"]["mean"] >= RECOVERY_GOAL and clean["recovery_rate"]["mean"] <= NEAR_ZERO
    found.append(
        {
            "claim": f"mSFT hard recovers from forced deviations (goal ≥ {RECOVERY_GOAL:.0%}) while clean SFT is "
            f"near 0 (≤ {NEAR_ZERO:.0%})",
            "verdict": "holds" if holds else "does not hold at this scale",
            "evidence": f"recovery: mSFT hard {_pct(hard['recovery_rate'])}, clean SFT {_pct(clean['recovery_rate'])}",
        }
    )
    naive_vs_soft = compare(naive["spontaneous_deviation_rate"], soft["spontaneous_deviation_rate"])
    naive_vs_clean = compare(naive["spontaneous_deviation_rate"], clean["spontaneous_deviation_rate"])
    found.append(
        {
            "claim": "naive trace SFT (deviation loss on) raises the spontaneous deviation rate",
            "verdict": unless_untestable(
                "holds"
                if naive_vs_soft == "higher"
                else "does not hold at this scale"
                if naive_vs_soft in ("lower", "within spread")
                else naive_vs_soft
            ),
            "evidence": (
                f"spontaneous deviation rate: naive {_pct(naive['spontaneous_deviation_rate'])}, mSFT soft "
                f"{_pct(soft['spontaneous_deviation_rate'])} "
                f"(naive vs mSFT soft: {naive_vs_soft}), clean SFT {_pct(clean['spontaneous_deviation_rate'])} "
                f"(naive vs clean: {naive_vs_clean})"
            ),
        }
    )
    by_recovery = compare(hard["recovery_rate"], soft["recovery_rate"])
    by_accuracy = compare(hard["accuracy"], soft["accuracy"])
    found.append(
        {
            "claim": "hard context beats soft",
            "verdict": unless_untestable(
                "holds"
                if by_recovery == "higher" and by_accuracy != "lower"
                else "does not hold at this scale"
                if by_recovery in ("lower", "within spread")
                else by_recovery
            ),
            "evidence": (
                f"recovery: hard {_pct(hard['recovery_rate'])} vs soft {_pct(soft['recovery_rate'])} ({by_recovery}); "
                f"accuracy: hard {_pct(hard['accuracy'])} vs soft {_pct(soft['accuracy'])} ({by_accuracy})"
            ),
        }
    )
    acc = compare(naive["accuracy"], soft["accuracy"])
    rec = compare(naive["recovery_rate"], soft["recovery_rate"])
    found.append(
        {
            "claim": "masking the deviation loss is unnecessary (Ye et al. 2024: naive does as well as masked)",
            "verdict": unless_untestable(
                "holds" if acc != "lower" and rec != "lower" else "does not hold at this scale"
            ),
            "evidence": f"naive vs mSFT soft: accuracy {_pct(naive['accuracy'])} vs {_pct(soft['accuracy'])} "
            f"({acc}); recovery {_pct(naive['recovery_rate'])} vs {_pct(soft['recovery_rate'])} ({rec})",
        }
    )
    found.append(_goal_claim(summary, parity))
    if step_name is not None:
        step = summary[step_name]
        base = step_name.removesuffix("-step")
        found.append(
            {
                "claim": f"step undo vs token undo ({labels[base]})",
                "verdict": unless_untestable(
                    f"step undo: recovery {compare(step['recovery_rate'], summary[base]['recovery_rate'])}, accuracy "
                    f"{compare(step['accuracy'], summary[base]['accuracy'])}"
                ),
                "evidence": (
                    f"recovery: step {_pct(step['recovery_rate'])} vs token {_pct(summary[base]['recovery_rate'])}; "
                    f"accuracy: step {_pct(step['accuracy'])} vs token {_pct(summary[base]['accuracy'])}; "
                    f"tokens per solution: step {step['tokens_per_solution']['mean']:.1f} vs token "
                    f"{summary[base]['tokens_per_solution']['mean']:.1f}"
                ),
            }
        )
    return found
