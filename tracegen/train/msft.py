"""Masked SFT on a tracegen dataset: a plain PyTorch loop in the spirit of nanoGPT, wrapped by accelerate.

The loss is exactly the dataset's `labels` column (deviation tokens off, `<UNDO>` and corrections
on; in hard mode the relabelled states of DESIGN.md section 4), so the trainer makes no choice
the data did not make. Hard-mode batches carry the 4D mask and position ids of masks.py.

The same code runs on a CPU, one GPU, or several under `accelerate launch`: accelerate shards
the batches, syncs gradients and saves checkpoints. Every labelled token of an optimizer step
weighs the same, however the step's tokens fall into micro-batches (`grad_accum`) and processes.
The run folder is described in tracegen.train.loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import torch

from tracegen.dataset.load import TraceDataset, open_dataset
from tracegen.errors import InputError
from tracegen.train import loop
from tracegen.train.config import MsftConfig
from tracegen.train.data import TRAIN_COLUMNS, TraceCollator, held_out
from tracegen.train.evaluate import decoded, teacher_forced
from tracegen.train.loss import label_loss, labelled_tokens, model_inputs
from tracegen.train.metrics import MetricsLog, Printer
from tracegen.train.model import build_model

OnEval = Callable[[torch.nn.Module, int, dict], bool]
"""(the model in eval mode, optimizer step, the evaluation's metrics) -> True to stop training there."""


def train_msft(cfg: MsftConfig, printer: Printer | None = None, on_eval: OnEval | None = None) -> dict:
    """Train; returns the last evaluation's metrics. `on_eval` sees every evaluation after step 0 and may end the run
    early."""
    loop.require_at_least_one(
        cfg,
        (
            "steps",
            "batch_size",
            "grad_accum",
            "log_every",
            "eval_every",
            "save_every",
            "keep_checkpoints",
            "max_new_tokens",
        ),
    )
    if cfg.eval_decode < 0:
        raise InputError(f"must be at least 0, got {cfg.eval_decode}", field="eval_decode")
    accelerator = loop.make_accelerator(mixed_precision=cfg.mixed_precision, grad_accum=cfg.grad_accum, seed=cfg.seed)
    out = Path(cfg.out)
    data = open_dataset(cfg.dataset, cfg.split)
    if data.export.layout != "packed":
        raise InputError(
            "has the branches layout (plain causal rows for other trainers); tracegen train reads packed rows: build "
            "without --layout branches",
            file=cfg.dataset,
            field="dataset",
        )
    train_rows, eval_rows = held_out(data.rows, cfg.eval_rows, cfg.seed)
    model = build_model(
        data.tok, model=cfg.model, model_config=cfg.model_config, undo_init=cfg.undo_init, seed=cfg.seed
    )
    collate = TraceCollator(data.tok.undo_id)
    loader = torch.utils.data.DataLoader(
        train_rows.select_columns(TRAIN_COLUMNS),
        batch_size=cfg.batch_size,
        shuffle=True,
        collate_fn=collate,
        drop_last=True,
    )
    if len(loader) == 0:
        raise InputError(f"{len(train_rows)} training rows make no batch of {cfg.batch_size}", field="batch_size")
    optimizer = loop.adamw(model, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = loop.cosine_schedule(
        optimizer, warmup_steps=cfg.warmup_steps, steps=cfg.schedule_steps or cfg.steps, min_lr_ratio=cfg.min_lr_ratio
    )
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    accelerator.register_for_checkpointing(scheduler)

    step, seen = 0, 0
    if cfg.resume:
        step, seen = loop.resume(accelerator, out)
    else:
        loop.start_run(
            accelerator,
            out,
            {**asdict(cfg), "trainer": "msft", "context_mode": data.context_mode, "undo_unit": data.undo_unit},
        )
    log = MetricsLog(out, enabled=accelerator.is_main_process, printer=printer)
    batches = loop.endless(loader, accelerator, seen)

    def evaluate() -> dict:
        return _evaluate(accelerator, model, data, eval_rows, collate, cfg)

    last_eval: dict = {}
    if step == 0:
        last_eval = evaluate()
        log.write({"step": 0, **last_eval})
    model.train()
    train_seconds, tokens_seen = 0.0, 0
    while step < cfg.steps:
        started = time.perf_counter()
        group = [next(batches) for _ in range(cfg.grad_accum)]
        seen += cfg.grad_accum
        step_tokens = int(
            accelerator.reduce(
                torch.tensor(sum(labelled_tokens(b["labels"]) for b in group), device=accelerator.device), "sum"
            )
        )
        step_loss = torch.zeros((), device=accelerator.device)
        for batch in group:
            with accelerator.accumulate(model):
                total, _ = label_loss(model(**model_inputs(batch)).logits, batch["labels"])
                # backward divides by the accumulation steps and DDP averages over processes:
                # this scale makes the step's gradient the mean over all its labelled tokens
                accelerator.backward(total * (cfg.grad_accum * accelerator.num_processes / max(step_tokens, 1)))
                step_loss += total.detach()
        grad_norm = accelerator.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        train_seconds += time.perf_counter() - started
        tokens_seen += step_tokens
        if step % cfg.log_every == 0 or step == cfg.steps:
            loss = accelerator.reduce(step_loss, "sum").item() / max(step_tokens, 1)
            log.write(
                {
                    "step": step,
                    "loss": loss,
                    "lr": scheduler.get_last_lr()[0],
                    "grad_norm": float(grad_norm),
                    "tokens_per_s": tokens_seen / train_seconds,
                }
            )
        stop = False
        if step % cfg.eval_every == 0 or step == cfg.steps:
            last_eval = evaluate()
            log.write({"step": step, **last_eval})
            stop = on_eval is not None and _ask(accelerator, model, on_eval, step, last_eval)
        if step % cfg.save_every == 0 or step == cfg.steps or stop:
            loop.save_checkpoint(accelerator, out, step, seen, keep=cfg.keep_checkpoints)
        if stop:
            break
    loop.save_model(accelerator, model, data.tok, out / loop.MODEL_DIR)
    return last_eval


def _ask(accelerator, model, on_eval: OnEval, step: int, metrics: dict) -> bool:
    plain = accelerator.unwrap_model(model)
    plain.eval()
    stop = on_eval(plain, step, metrics)
    plain.train()
    return bool(stop)


def _evaluate(accelerator, model, data: TraceDataset, eval_rows, collate, cfg: MsftConfig) -> dict:
    """Held-out loss, the forced-deviation probe and decoded accuracy, computed on the main process."""
    metrics: dict = {}
    if accelerator.is_main_process:
        plain = accelerator.unwrap_model(model)
        plain.eval()
        with accelerator.autocast():
            metrics = teacher_forced(
                plain,
                eval_rows,
                collate,
                undo_id=data.tok.undo_id,
                step_ends=data.tok.delimiters,
                batch_size=cfg.batch_size,
            )
            if cfg.eval_decode:
                prompts = eval_rows.select(range(min(cfg.eval_decode, len(eval_rows))))
                metrics |= decoded(plain, data, prompts, max_new_tokens=cfg.max_new_tokens, batch_size=cfg.batch_size)
        plain.train()
    accelerator.wait_for_everyone()
    return metrics
