#!/usr/bin/env python
"""The measurements behind issue 11's calibration defaults: clean_fraction, the decode-time undo
threshold and the ban policy for revisited states.

For each `deviations.clean_fraction` and each undo variant (msft-hard, msft-soft by default), it
builds the recipe's data, trains the tiny model for a fixed number of training tokens per seed
(the same for every fraction), and evaluates it exactly as `tracegen validate` does
(tracegen.validate.evaluate) under every undo threshold; each evaluation also forces one false
`<UNDO>` into the problems the model solved and counts how many stay solved under each ban
policy (hard mode). Writes results.json and results.md (mean ± sd over seeds) to --out.

    .venv/bin/python scripts/calibrate_undo.py --recipe arith-easy --fractions 0.1,0.3,0.5 \
        --seeds 2 --tokens 250000 --out docs/validate/calibration
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch

from tracegen.train.model import build_model
from tracegen.train.msft import train_msft
from tracegen.validate import plan, report
from tracegen.validate.evaluate import BAN_POLICIES, DecodeSettings, evaluate
from tracegen.validate.results import json_ready
from tracegen.validate.run import ValidateConfig, build_dataset, token_counts, train_config

SHOWN = (
    "accuracy",
    "recovery_rate",
    "undo_after_forced",
    "spontaneous_deviation_rate",
    "undo_precision",
    "undo_recall",
    "undos_per_solution",
    "undo_cap_rate",
    "kept_after_false_undo",
)
BAN_KEYS = tuple(f"kept_after_false_undo_ban_after_{n}" for n in BAN_POLICIES)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", default="arith-easy")
    parser.add_argument("--fractions", default="0.1,0.3,0.5")
    parser.add_argument("--variants", default="msft-hard,msft-soft")
    parser.add_argument("--thresholds", default="0,0.3,0.5")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=250_000, help="training tokens per run")
    parser.add_argument("--train-problems", type=int, default=None)
    parser.add_argument("--eval-problems", type=int, default=100)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    torch.set_num_threads(1)
    cfg = ValidateConfig(recipe=args.recipe)
    variants = [v for v in plan.MAIN_VARIANTS if v.name in args.variants.split(",")]
    thresholds = [float(t) for t in args.thresholds.split(",")]
    work = args.out / "work"
    problems = args.train_problems or plan.synthetic_recipe(args.recipe).source.num_problems
    held_out = build_dataset(plan.held_out_recipe(args.recipe, args.eval_problems), work / "held-out")
    fractions = [float(f) for f in args.fractions.split(",")]
    datasets = {
        (fraction, variant.name): build_dataset(
            plan.train_recipe(args.recipe, variant, problems, {"deviations.clean_fraction": fraction}),
            work / f"data-{fraction:g}-{variant.name}",
        )
        for fraction in fractions
        for variant in variants
    }
    runs = []
    for seed in range(args.seeds):  # seed-major: an interrupted sweep still covers every setting
        for fraction in fractions:
            for variant in variants:
                data = datasets[fraction, variant.name]
                steps = max(1, round(args.tokens / (token_counts(data)[0] * cfg.batch_size)))
                folder = work / f"run-{fraction:g}-{variant.name}-seed{seed}"
                train_msft(
                    train_config(data, folder, steps=steps, seed=seed, model_config="tiny", precision="no", cfg=cfg)
                )
                model = build_model(data.tok, model=str(folder / "model")).eval()
                for threshold in thresholds:
                    metrics = evaluate(
                        model,
                        held_out,
                        mode=variant.context_mode,
                        undo_unit=variant.undo_unit,
                        settings=DecodeSettings(undo_threshold=threshold),
                    )
                    runs.append(
                        {
                            "clean_fraction": fraction,
                            "variant": variant.name,
                            "seed": seed,
                            "threshold": threshold,
                            "steps": steps,
                            "metrics": metrics,
                        }
                    )
                    print(
                        f"clean_fraction {fraction:g} {variant.label} seed {seed} threshold {threshold:g}: accuracy "
                        f"{metrics['accuracy']:.1%}, recovery {metrics['recovery_rate']:.1%}",
                        flush=True,
                    )
                write(args, argv, runs, started, {v.name: v.label for v in variants})


def write(args, argv: list[str], runs: list[dict], started: float, labels: dict[str, str]) -> None:
    """results.json and results.md as they stand (after every run: an interrupted sweep keeps what it measured)."""
    command = "scripts/calibrate_undo.py " + " ".join(shlex.quote(a) for a in argv)
    results = {
        "command": command,
        "tokens_per_run": args.tokens,
        "seeds": args.seeds,
        "wall_seconds": time.perf_counter() - started,
        "runs": runs,
    }
    (args.out / "results.json").write_text(json.dumps(json_ready(results), indent=2) + "\n")
    (args.out / "results.md").write_text(markdown(results, labels))


def markdown(results: dict, labels: dict[str, str]) -> str:
    groups: dict[tuple, list[dict]] = {}
    for run in results["runs"]:
        groups.setdefault((run["variant"], run["clean_fraction"], run["threshold"]), []).append(run["metrics"])
    titles = {key: label for key, label, _ in report.METRICS}
    head = (
        "| variant | clean_fraction | undo threshold | "
        + " | ".join(titles[k] for k in SHOWN)
        + " | "
        + " | ".join(f"kept, ban after {n or 'never'}" for n in BAN_POLICIES)
        + " |"
    )
    lines = [
        "# Undo calibration: clean_fraction, undo threshold, ban policy",
        "",
        f"Command: `{results['command']}`  ",
        f"{results['tokens_per_run']:,} training tokens per run, seeds 0-{results['seeds'] - 1} "
        f"({len({r['seed'] for r in results['runs']})} done), wall time {results['wall_seconds'] / 60:.1f} min. Mean "
        "± sd over seeds, in % except undos per solution.",
        "",
        head,
        "|---|---|---|" + "---|" * (len(SHOWN) + len(BAN_KEYS)),
    ]
    for (variant, fraction, threshold), metrics in groups.items():
        cells = [
            report.show(report.spread([m.get(k, float("nan")) for m in metrics]), k != "undos_per_solution")
            for k in SHOWN + BAN_KEYS
        ]
        lines.append(f"| {labels[variant]} | {fraction:g} | {threshold:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main(sys.argv[1:])
