"""The whole validation run: build every variant's dataset, fix the token budget, train and evaluate each variant per seed, report.

Training is tracegen.train.msft (the trainer users run), evaluation the KV-trimming decoder in
each variant's context mode; this module only decides what runs, in which order, for how long.
The run folder: `results.{md,json,png}` and `work/` (datasets, one training run per variant and
seed, the throughput calibration).
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from tracegen.build import build
from tracegen.errors import InputError
from tracegen.export.columns import IGNORE
from tracegen.train.config import MsftConfig
from tracegen.train.data import TraceDataset, open_dataset
from tracegen.train.metrics import read_metrics
from tracegen.train.model import build_model
from tracegen.train.msft import train_msft
from tracegen.validate import plan, report
from tracegen.validate.evaluate import evaluate

CALIBRATION_STEPS = 20


@dataclass
class ValidateConfig:
    recipe: str = "arith"
    out: Path = Path("validate")
    budget_minutes: float = 30.0
    seeds: int = 3
    train_problems: int | None = None  # default: the recipe's source.num_problems
    eval_problems: int = 100
    batch_size: int = 16
    lr: float = 3e-3
    command: str = ""  # as typed, for the report


def validate(cfg: ValidateConfig, say: Callable[[str], None] = lambda line: None) -> dict:
    """Run every variant for every seed within the budget; write and return the results."""
    started = time.perf_counter()
    if cfg.seeds < 1 or cfg.budget_minutes <= 0 or cfg.eval_problems < 1:
        raise InputError("--seeds and --eval-problems must be at least 1 and --budget-minutes above 0", field="--seeds/--budget-minutes/--eval-problems")
    recipe = plan.synthetic_recipe(cfg.recipe)
    train_problems = cfg.train_problems or recipe.source.num_problems
    out, work = Path(cfg.out), Path(cfg.out) / "work"
    if work.exists():
        raise InputError("holds a validation run already; choose another folder", file=str(out))
    gpu = torch.cuda.is_available()
    threads = _use_cpu_threads() if not gpu else torch.get_num_threads()
    model_config, precision = ("small", "bf16") if gpu else ("tiny", "no")

    datasets: dict[str, TraceDataset] = {}
    build_started = time.perf_counter()
    for variant in plan.MAIN_VARIANTS:
        say(f"building {variant.label} ({train_problems} problems)")
        datasets[variant.name] = _build(plan.train_recipe(cfg.recipe, variant, train_problems), plan.dataset_dir(work, variant.name))
    held_out = _build(plan.held_out_recipe(cfg.recipe, cfg.eval_problems), plan.dataset_dir(work, "held-out"))
    one_build = (time.perf_counter() - build_started) / len(plan.MAIN_VARIANTS)

    throughput = _calibrate(datasets["msft-hard"], work / "calibration", model_config, precision, cfg)
    runs = (len(plan.MAIN_VARIANTS) + 1) * cfg.seeds
    budget = plan.token_budget(budget_seconds=60 * cfg.budget_minutes, elapsed=time.perf_counter() - started, reserve=one_build, runs=runs, throughput=throughput)
    say(f"{throughput:.0f} training tokens/s measured: {budget.tokens_per_run:,} training tokens per run, {runs} runs")

    records, variants = [], []
    for variant in plan.MAIN_VARIANTS:
        variants.append(_variant_record(variant, datasets[variant.name], budget, cfg.batch_size))
        records += [_run(variant, seed, datasets[variant.name], held_out, budget, model_config, precision, work, cfg, say) for seed in range(cfg.seeds)]
    summary = report.summarize(records, [v.name for v in plan.MAIN_VARIANTS])
    best = max((v for v in plan.MAIN_VARIANTS if v.name in plan.UNDO_VARIANTS), key=lambda v: (summary[v.name]["recovery_rate"]["mean"], summary[v.name]["accuracy"]["mean"]))
    step = plan.step_variant(best)
    say(f"best undo variant by recovery: {best.label}; building it with step undo")
    datasets[step.name] = _build(plan.train_recipe(cfg.recipe, step, train_problems), plan.dataset_dir(work, step.name))
    variants.append(_variant_record(step, datasets[step.name], budget, cfg.batch_size))
    records += [_run(step, seed, datasets[step.name], held_out, budget, model_config, precision, work, cfg, say) for seed in range(cfg.seeds)]

    names = [v["name"] for v in variants]
    summary = report.summarize(records, names)
    parameters = sum(p.numel() for p in build_model(held_out.tok, model_config=model_config).parameters())
    results = {
        "command": cfg.command,
        "seeds": list(range(cfg.seeds)),
        "budget_minutes": cfg.budget_minutes,
        "wall_seconds": time.perf_counter() - started,
        "machine": _machine(gpu, threads),
        "settings": {
            "recipe": cfg.recipe,
            "model_config": model_config,
            "parameters": parameters,
            "mixed_precision": precision,
            "train_problems": train_problems,
            "eval_problems": cfg.eval_problems,
            "batch_size": cfg.batch_size,
            "lr": cfg.lr,
            "tokens_per_run": budget.tokens_per_run,
            "throughput": budget.throughput,
            "seconds_per_run": budget.seconds_per_run,
            "train_share": plan.TRAIN_SHARE,
        },
        "variants": variants,
        "summary": summary,
        "trainer_probes": report.summarize(records, names, part="train", keys=report.TRAINER_PROBES),
        "claims": report.claims(summary, {v["name"]: v["label"] for v in variants}, step.name),
        "runs": records,
    }
    report.write(results, out)
    return results


def _use_cpu_threads() -> int:
    """Half the cores, at least one. A model this small gains little from splitting its matrix products
    across threads and loses much when another process wants the same cores (on a busy 2-core machine,
    one thread trained the tiny model about 8 times faster than two)."""
    threads = max(1, (os.cpu_count() or 1) // 2)
    torch.set_num_threads(threads)
    return threads


def _build(recipe, folder: Path) -> TraceDataset:
    build(recipe, folder)
    return open_dataset(str(folder))


def _token_counts(data: TraceDataset) -> tuple[float, float]:
    """(mean non-padding input tokens per row, input tokens per labelled token)."""
    lengths = [len(ids) for ids in data.rows["input_ids"]]
    labelled = sum(sum(1 for label in labels[1:] if label != IGNORE) for labels in data.rows["labels"])
    return sum(lengths) / len(lengths), sum(lengths) / max(labelled, 1)


def _train_config(data: TraceDataset, out: Path, *, steps: int, seed: int, model_config: str, precision: str, cfg: ValidateConfig) -> MsftConfig:
    return MsftConfig(
        dataset=str(data.root),
        out=out,
        model_config=model_config,
        eval_rows=min(32, len(data.rows) // 4),
        eval_decode=0,  # decoding is what this command measures itself, on held-out problems
        steps=steps,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        warmup_steps=max(1, steps // 10),
        log_every=max(1, steps // 10),
        eval_every=steps,
        save_every=steps,
        keep_checkpoints=1,
        mixed_precision=precision,
        seed=seed,
    )


def _calibrate(data: TraceDataset, out: Path, model_config: str, precision: str, cfg: ValidateConfig) -> float:
    """Training tokens per second, from a few optimizer steps of the trainer itself."""
    train_msft(_train_config(data, out, steps=CALIBRATION_STEPS, seed=0, model_config=model_config, precision=precision, cfg=cfg))
    labelled_per_second = next(r["tokens_per_s"] for r in reversed(read_metrics(out)) if "tokens_per_s" in r)
    return labelled_per_second * _token_counts(data)[1]


def _variant_record(variant: plan.Variant, data: TraceDataset, budget: plan.TokenBudget, batch_size: int) -> dict:
    mean_tokens = _token_counts(data)[0]
    return {
        "name": variant.name,
        "label": variant.label,
        "loss": variant.loss,
        "context_mode": variant.context_mode,
        "undo_unit": variant.undo_unit,
        "rows": len(data.rows),
        "mean_row_tokens": mean_tokens,
        "steps": budget.steps(mean_tokens, batch_size),
    }


def _run(variant: plan.Variant, seed: int, data: TraceDataset, held_out: TraceDataset, budget: plan.TokenBudget, model_config: str, precision: str, work: Path, cfg: ValidateConfig, say) -> dict:
    steps = budget.steps(_token_counts(data)[0], cfg.batch_size)
    folder = work / "runs" / f"{variant.name}-seed{seed}"
    say(f"training {variant.label}, seed {seed}: {steps} steps")
    started = time.perf_counter()
    last_eval = train_msft(_train_config(data, folder, steps=steps, seed=seed, model_config=model_config, precision=precision, cfg=cfg))
    trained = time.perf_counter()
    model = build_model(data.tok, model=str(folder / "model")).to("cuda" if torch.cuda.is_available() else "cpu").eval()
    metrics = evaluate(model, held_out, mode=variant.context_mode, undo_unit=variant.undo_unit)
    losses = [r["loss"] for r in read_metrics(folder) if "loss" in r]
    record = {
        "variant": variant.name,
        "seed": seed,
        "steps": steps,
        "metrics": metrics,
        "train": {"final_loss": losses[-1] if losses else None, **last_eval},
        "train_seconds": trained - started,
        "eval_seconds": time.perf_counter() - trained,
    }
    say(f"  {variant.label}, seed {seed}: accuracy {metrics['accuracy']:.1%}, recovery {metrics['recovery_rate']:.1%}, "
        f"spontaneous deviations {metrics['spontaneous_deviation_rate']:.1%} ({record['train_seconds']:.0f}s train, {record['eval_seconds']:.0f}s eval)")
    return record


def _machine(gpu: bool, threads: int) -> str:
    if gpu:
        return f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}"
    return f"{platform.machine()} CPU, {os.cpu_count()} cores, {threads} torch thread(s), torch {torch.__version__}, {platform.system()}"
