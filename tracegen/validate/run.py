"""The whole validation run: build every variant's dataset, fix the token budget, train and evaluate each variant per
seed, report.

Training is tracegen.train.msft (the trainer users run), evaluation the KV-trimming decoder in
each variant's context mode; this module only decides what runs, in which order, for how long.
The run folder: `results.{md,json,png}` and `work/` (datasets, one training run per variant and
seed, the throughput calibration). Clean SFT runs first, for every seed: its clean-token loss is
the parity target of the trace variants' runs (parity.py).
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from tracegen.columns import IGNORE
from tracegen.dataset.load import TraceDataset, open_dataset
from tracegen.errors import InputError
from tracegen.pipeline.build import build
from tracegen.train.config import MsftConfig
from tracegen.train.metrics import read_metrics
from tracegen.train.model import build_model
from tracegen.train.msft import train_msft
from tracegen.validate import plan, report, verdicts
from tracegen.validate.evaluate import DecodeSettings, evaluate
from tracegen.validate.parity import PARITY_WEIGHT, ParityWatch, clean_token_loss
from tracegen.validate.results import write_results

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
    overrides: dict[str, object] = field(default_factory=dict)  # --set recipe values, for every dataset
    decoding: DecodeSettings = DecodeSettings()
    parity: bool = True  # also train every trace variant to clean SFT's clean-token loss
    command: str = ""  # as typed, for the report


def validate(cfg: ValidateConfig, say: Callable[[str], None] = lambda line: None) -> dict:
    """Run every variant for every seed within the budget; write and return the results."""
    started = time.perf_counter()
    if cfg.seeds < 1 or cfg.budget_minutes <= 0 or cfg.eval_problems < 1:
        raise InputError(
            "seeds and eval_problems must be at least 1 and budget_minutes above 0",
            field="seeds/budget_minutes/eval_problems",
        )
    recipe = plan.synthetic_recipe(cfg.recipe, cfg.overrides)
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
        datasets[variant.name] = build_dataset(
            plan.train_recipe(cfg.recipe, variant, train_problems, cfg.overrides), plan.dataset_dir(work, variant.name)
        )
    held_out = build_dataset(
        plan.held_out_recipe(cfg.recipe, cfg.eval_problems, cfg.overrides), plan.dataset_dir(work, "held-out")
    )
    held_out_clean = build_dataset(
        plan.held_out_recipe(cfg.recipe, cfg.eval_problems, cfg.overrides, clean=True),
        plan.dataset_dir(work, "held-out-clean"),
    )
    one_build = (time.perf_counter() - build_started) / len(plan.MAIN_VARIANTS)

    throughput = _calibrate(datasets["msft-hard"], work / "calibration", model_config, precision, cfg)
    trace_runs = len(plan.MAIN_VARIANTS) * cfg.seeds  # the three trace variants and the step variant
    runs = cfg.seeds + trace_runs * (PARITY_WEIGHT if cfg.parity else 1)
    budget = plan.token_budget(
        budget_seconds=60 * cfg.budget_minutes,
        elapsed=time.perf_counter() - started,
        reserve=one_build,
        runs=runs,
        throughput=throughput,
    )
    say(
        f"{throughput:.0f} training tokens/s measured: {budget.tokens_per_run:,} training tokens per run, "
        f"{len(plan.MAIN_VARIANTS) + 1} variants x {cfg.seeds} seeds"
    )

    records, variants = [], []
    context = _Context(held_out, held_out_clean, budget, model_config, precision, work, cfg, say)
    for variant in plan.MAIN_VARIANTS:
        variants.append(_variant_record(variant, datasets[variant.name], budget, cfg.batch_size))
        records += [_run(variant, seed, datasets[variant.name], context) for seed in range(cfg.seeds)]
        if variant.loss == "clean":
            context.target_loss = sum(r["clean_token_loss"] for r in records) / len(records)
    summary = report.summarize(records, [v.name for v in plan.MAIN_VARIANTS])
    best = max(
        (v for v in plan.MAIN_VARIANTS if v.name in plan.UNDO_VARIANTS),
        key=lambda v: (summary[v.name]["recovery_rate"]["mean"], summary[v.name]["accuracy"]["mean"]),
    )
    step = plan.step_variant(best)
    say(f"best undo variant by recovery: {best.label}; building it with step undo")
    datasets[step.name] = build_dataset(
        plan.train_recipe(cfg.recipe, step, train_problems, cfg.overrides), plan.dataset_dir(work, step.name)
    )
    variants.append(_variant_record(step, datasets[step.name], budget, cfg.batch_size))
    records += [_run(step, seed, datasets[step.name], context) for seed in range(cfg.seeds)]

    names = [v["name"] for v in variants]
    summary = report.summarize(records, names)
    parity_summary = report.parity_summary(records, names) if cfg.parity else None
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
            "overrides": cfg.overrides,
            "undo_threshold": cfg.decoding.undo_threshold,
            "ban_after": cfg.decoding.ban_after,
            "parity": cfg.parity,
            "parity_target_loss": context.target_loss,
        },
        "variants": variants,
        "summary": summary,
        "parity": parity_summary,
        "trainer_probes": report.summarize(records, names, part="train", keys=report.TRAINER_PROBES),
        "claims": verdicts.claims(summary, {v["name"]: v["label"] for v in variants}, step.name, parity_summary),
        "runs": records,
    }
    write_results(results, out)
    return results


def _use_cpu_threads() -> int:
    """Half the cores, at least one. A model this small gains little from splitting its matrix products
    across threads and loses much when another process wants the same cores (on a busy 2-core machine,
    one thread trained the tiny model about 8 times faster than two)."""
    threads = max(1, (os.cpu_count() or 1) // 2)
    torch.set_num_threads(threads)
    return threads


def build_dataset(recipe, folder: Path) -> TraceDataset:
    build(recipe, folder)
    return open_dataset(str(folder))


def token_counts(data: TraceDataset) -> tuple[float, float]:
    """(mean non-padding input tokens per row, input tokens per labelled token)."""
    lengths = [len(ids) for ids in data.rows["input_ids"]]
    labelled = sum(sum(1 for label in labels[1:] if label != IGNORE) for labels in data.rows["labels"])
    return sum(lengths) / len(lengths), sum(lengths) / max(labelled, 1)


def train_config(
    data: TraceDataset, out: Path, *, steps: int, seed: int, model_config: str, precision: str, cfg: ValidateConfig
) -> MsftConfig:
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
    train_msft(
        train_config(
            data, out, steps=CALIBRATION_STEPS, seed=0, model_config=model_config, precision=precision, cfg=cfg
        )
    )
    labelled_per_second = next(r["tokens_per_s"] for r in reversed(read_metrics(out)) if "tokens_per_s" in r)
    return labelled_per_second * token_counts(data)[1]


def _variant_record(variant: plan.Variant, data: TraceDataset, budget: plan.TokenBudget, batch_size: int) -> dict:
    mean_tokens = token_counts(data)[0]
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


@dataclass
class _Context:
    """What every training run of one validation run shares."""

    held_out: TraceDataset
    held_out_clean: TraceDataset
    budget: plan.TokenBudget
    model_config: str
    precision: str
    work: Path
    cfg: ValidateConfig
    say: Callable[[str], None]
    target_loss: float | None = None  # clean SFT's mean clean-token loss, once its runs are done


def _run(variant: plan.Variant, seed: int, data: TraceDataset, ctx: _Context) -> dict:
    """One variant and seed: train, evaluate at the equal-token budget and, for a trace variant, at parity."""
    cfg = ctx.cfg
    steps = ctx.budget.steps(token_counts(data)[0], cfg.batch_size)
    folder = ctx.work / "runs" / f"{variant.name}-seed{seed}"

    def measure(model) -> dict:
        return evaluate(
            model, ctx.held_out, mode=variant.context_mode, undo_unit=variant.undo_unit, settings=cfg.decoding
        )

    train_cfg = train_config(
        data, folder, steps=steps, seed=seed, model_config=ctx.model_config, precision=ctx.precision, cfg=cfg
    )
    watch = None
    if cfg.parity and variant.loss != "clean":
        watch = ParityWatch(budget_steps=steps, target_loss=ctx.target_loss, clean=ctx.held_out_clean, measure=measure)
        train_cfg.steps, train_cfg.schedule_steps = watch.cap_steps, steps
        train_cfg.eval_every = train_cfg.log_every = watch.steps_per_check()
        train_cfg.save_every = watch.cap_steps  # the trainer saves where the watch stops it
    ctx.say(f"training {variant.label}, seed {seed}: {steps} steps" + (" and on to parity" if watch else ""))
    started = time.perf_counter()
    last_eval = train_msft(train_cfg, on_eval=watch)
    seconds = time.perf_counter() - started
    losses = [(r["step"], r["loss"]) for r in read_metrics(folder) if "loss" in r]
    final_loss = next((loss for step, loss in reversed(losses) if step <= steps), None)
    if watch is None:
        model = (
            build_model(data.tok, model=str(folder / "model"))
            .to("cuda" if torch.cuda.is_available() else "cpu")
            .eval()
        )
        equal = {
            "metrics": measure(model),
            "train": last_eval,
            "clean_token_loss": clean_token_loss(model, ctx.held_out_clean),
        }
    else:
        equal = watch.equal
    record = {
        "variant": variant.name,
        "seed": seed,
        "steps": steps,
        "metrics": equal["metrics"],
        "train": {"final_loss": final_loss, **equal["train"]},
        "clean_token_loss": equal["clean_token_loss"],
        "seconds": seconds,
    }
    if watch is not None:
        record["parity"] = watch.parity
    m = record["metrics"]
    ctx.say(
        f"  {variant.label}, seed {seed}: accuracy {m['accuracy']:.1%}, recovery {m['recovery_rate']:.1%}, "
        f"clean-token loss {record['clean_token_loss']:.3f}"
        + (
            f"; parity {'at' if watch.parity['reached'] else 'not reached by'} "
            f"{watch.parity['budget_multiple']:.2f}x the budget, accuracy {watch.parity['metrics']['accuracy']:.1%}"
            if watch
            else ""
        )
        + f" ({seconds:.0f}s)"
    )
    return record


def _machine(gpu: bool, threads: int) -> str:
    if gpu:
        return f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}"
    return (
        f"{platform.machine()} CPU, {os.cpu_count()} cores, {threads} torch thread(s), torch "
        f"{torch.__version__}, {platform.system()}"
    )
