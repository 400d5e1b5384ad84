"""GRPO with undo-aware rewards: sample a group of traces per prompt with the KV-trimming decoder, reward, update.

Per step and process: `prompts_per_step` prompts, `group_size` samples each, decoded in the
rollout context mode (soft or hard). Rewards (tracegen.train.rewards) judge what each trace
leaves after its undos, minus a price per `<UNDO>`; advantages are normalised within each group.
The loss is the clipped surrogate plus `kl_coef` times the k3 estimate of the KL divergence to the
frozen starting policy, averaged over every emitted token of the step (`<UNDO>`s and the tokens
they erased included: they are actions the policy took).

Log-probs are scored under the context mode the decoder used: each rollout becomes the columns
of masks.trace_columns (in hard mode, the undone tokens and their `<UNDO>`s hidden from later
tokens, positions continuing from the surviving prefix) and each token is read from the state
that emitted it, the stack top, not the token before it. So training scores exactly the states
the decoder sampled from (tests/test_train_grpo.py checks it against the decoder to 1e-4). As in
the decoder's own report, a log-prob is the model's, before the decoder's ban on re-emitting a
token already undone from the same state.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor

from tracegen.dataset.load import TraceDataset, open_dataset
from tracegen.errors import InputError
from tracegen.train import loop
from tracegen.train.config import GrpoConfig
from tracegen.train.data import held_out
from tracegen.train.evaluate import decoded
from tracegen.train.masks import CONTEXT_MODES, batch_attention_inputs, trace_columns
from tracegen.train.metrics import MetricsLog, Printer
from tracegen.train.model import build_model
from tracegen.train.rewards import Reward, RewardWeights, group_advantages, reward

PROMPT_COLUMNS = ["id", "prompt", "answer", "clean_completion", "input_ids"]


@dataclass
class Rollout:
    """One sampled trace and what it earned."""

    prompt_ids: list[int]
    trace_ids: list[int]
    reward: Reward
    advantage: float = 0.0


def token_logprobs(
    model, columns: Sequence[Mapping], *, undo_id: int, temperature: float = 1.0
) -> tuple[Tensor, Tensor]:
    """Log-probs [B, T] of each rollout's completion tokens under `model`, and their mask [B, T].

    `columns` come from masks.trace_columns (input_ids, position_ids, prune_spans, context_mode,
    emitted_from). Logits are divided by the sampling temperature, as the sampler did.
    """
    device = next(model.parameters()).device
    batch = batch_attention_inputs(columns, undo_id=undo_id)
    logits = model(**{key: value.to(device) for key, value in batch.items()}).logits
    width = max(len(c["emitted_from"]) for c in columns)
    states = torch.zeros(len(columns), width, dtype=torch.long)
    targets = torch.zeros(len(columns), width, dtype=torch.long)
    mask = torch.zeros(len(columns), width, dtype=torch.bool)
    for b, c in enumerate(columns):
        n = len(c["emitted_from"])
        states[b, :n] = torch.as_tensor(c["emitted_from"])
        targets[b, :n] = torch.as_tensor(c["input_ids"][len(c["input_ids"]) - n :])
        mask[b, :n] = True
    states, targets, mask = states.to(device), targets.to(device), mask.to(device)
    chosen = logits.gather(1, states[..., None].expand(-1, -1, logits.shape[-1])).float() / temperature
    return chosen.log_softmax(-1).gather(2, targets[..., None]).squeeze(2) * mask, mask


def grpo_loss(
    logprobs: Tensor,
    old: Tensor,
    ref: Tensor | None,
    advantages: Tensor,
    mask: Tensor,
    *,
    clip_eps: float,
    kl_coef: float,
) -> tuple[Tensor, dict[str, Tensor]]:
    """Summed over the masked tokens: -(clipped surrogate) + kl_coef * k3(policy || ref); and the summed KL and clip
    counts."""
    ratio = (logprobs - old).exp()
    advantage = advantages[:, None]
    surrogate = torch.minimum(ratio * advantage, ratio.clamp(1 - clip_eps, 1 + clip_eps) * advantage)
    per_token = -surrogate
    stats = {"clipped": (((ratio - 1).abs() > clip_eps) & mask).sum().float()}
    if ref is not None:
        log_ratio = ref - logprobs
        kl = log_ratio.exp() - log_ratio - 1  # k3: unbiased, always >= 0
        per_token = per_token + kl_coef * kl
        stats["kl"] = (kl * mask).sum().detach()
    return (per_token * mask).sum(), stats


def train_grpo(cfg: GrpoConfig, printer: Printer | None = None) -> dict:
    """Train; returns the last step's metrics."""
    _validate(cfg)
    accelerator = loop.make_accelerator(mixed_precision=cfg.mixed_precision, seed=cfg.seed)
    out = Path(cfg.out)
    data = open_dataset(cfg.dataset, cfg.split)
    mode = cfg.mode or data.context_mode
    weights = RewardWeights(
        correct=cfg.correct_reward,
        undo_penalty=cfg.undo_penalty,
        unparseable_penalty=cfg.unparseable_penalty,
        process=cfg.process_reward,
    )
    prompt_rows, eval_rows = held_out(data.rows, cfg.eval_rows, cfg.seed) if cfg.eval_rows else (data.rows, None)
    model = build_model(
        data.tok, model=cfg.model, model_config=cfg.model_config, undo_init=cfg.undo_init, seed=cfg.seed
    )
    reference = copy.deepcopy(model).eval().requires_grad_(False).to(accelerator.device) if cfg.kl_coef else None
    loader = torch.utils.data.DataLoader(
        prompt_rows.select_columns(PROMPT_COLUMNS),
        batch_size=cfg.prompts_per_step,
        shuffle=True,
        collate_fn=list,
        drop_last=True,
    )
    if len(loader) == 0:
        raise InputError(
            f"{len(prompt_rows)} prompts make no batch of {cfg.prompts_per_step}", field="prompts_per_step"
        )
    optimizer = loop.adamw(model, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = loop.cosine_schedule(
        optimizer, warmup_steps=cfg.warmup_steps, steps=cfg.steps * cfg.iterations, min_lr_ratio=cfg.min_lr_ratio
    )
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    accelerator.register_for_checkpointing(scheduler)

    step = 0
    if cfg.resume:
        step, _ = loop.resume(accelerator, out)
    else:
        loop.start_run(
            accelerator, out, {**asdict(cfg), "trainer": "grpo", "rollout_mode": mode, "undo_unit": data.undo_unit}
        )
    log = MetricsLog(out, enabled=accelerator.is_main_process, printer=printer)
    batches = loop.endless(loader, accelerator, step)
    last: dict = {}
    if step == 0 and eval_rows is not None:
        log.write({"step": 0, **_evaluate(accelerator, model, data, eval_rows, cfg, mode)})
    while step < cfg.steps:
        started = time.perf_counter()
        rows = next(batches)
        rollouts = sample(
            accelerator.unwrap_model(model),
            data,
            rows,
            cfg,
            mode=mode,
            weights=weights,
            seed=cfg.seed * 1_000_003 + step * accelerator.num_processes + accelerator.process_index,
        )
        model.train()
        stats = update(accelerator, model, reference, optimizer, scheduler, data, rollouts, cfg, mode=mode)
        step += 1
        rewards = accelerator.gather(torch.tensor([r.reward.total for r in rollouts], device=accelerator.device))
        last = {
            "step": step,
            "reward": float(rewards.mean()),
            "reward_std": float(rewards.std()),
            "correct": _mean(accelerator, [r.reward.correct for r in rollouts]),
            "parsed": _mean(accelerator, [r.reward.parsed for r in rollouts]),
            "undos": _mean(accelerator, [r.reward.undos for r in rollouts]),
            "length": _mean(accelerator, [len(r.trace_ids) for r in rollouts]),
            **stats,
            "lr": scheduler.get_last_lr()[0],
            "seconds": time.perf_counter() - started,
        }
        if cfg.process_reward:
            last["process"] = _mean(accelerator, [r.reward.process for r in rollouts])
        if step % cfg.log_every == 0 or step == cfg.steps:
            log.write(last)
        if eval_rows is not None and (step % cfg.eval_every == 0 or step == cfg.steps):
            log.write({"step": step, **_evaluate(accelerator, model, data, eval_rows, cfg, mode)})
        if step % cfg.save_every == 0 or step == cfg.steps:
            loop.save_checkpoint(accelerator, out, step, step, keep=cfg.keep_checkpoints)
    loop.save_model(accelerator, model, data.tok, out / loop.MODEL_DIR)
    return last


def _validate(cfg: GrpoConfig) -> None:
    # max_undos >= 1: the decoder then emits at least one token per rollout, so every rollout has tokens to score
    names = (
        "steps",
        "prompts_per_step",
        "micro_batch",
        "iterations",
        "max_new_tokens",
        "max_undos",
        "log_every",
        "eval_every",
        "save_every",
        "keep_checkpoints",
    )
    loop.require_at_least_one(cfg, names)
    if cfg.group_size < 2:
        raise InputError("must be at least 2 (advantages compare samples of the same prompt)", field="group_size")
    if cfg.mode is not None and cfg.mode not in CONTEXT_MODES:
        raise InputError(f"expected soft or hard, got {cfg.mode!r}", field="mode")
    if cfg.temperature <= 0:
        raise InputError("must be above 0: GRPO needs samples that differ", field="temperature")
    for name in ("eval_rows", "kl_coef", "correct_reward", "undo_penalty", "unparseable_penalty", "process_reward"):
        if getattr(cfg, name) < 0:
            raise InputError(f"must be at least 0, got {getattr(cfg, name)}", field=name)
    if cfg.clip_eps <= 0:
        raise InputError(f"must be above 0, got {cfg.clip_eps}", field="clip_eps")


@torch.no_grad()
def sample(
    policy,
    data: TraceDataset,
    rows: Sequence[Mapping],
    cfg: GrpoConfig,
    *,
    mode: str,
    weights: RewardWeights,
    seed: int,
) -> list[Rollout]:
    """`group_size` decoded traces per row, rewarded, with advantages normalised within each row's group."""
    from tracegen.decoding import decode

    policy.eval()
    prompts = [data.prompt_ids(row) for row in rows for _ in range(cfg.group_size)]
    sampling = dict(
        temperature=cfg.temperature,
        top_p=cfg.top_p,
        seed=seed,
        max_new_tokens=cfg.max_new_tokens,
        max_undos=cfg.max_undos,
    )
    results = decode(policy, data.tok, prompts, mode=mode, undo_unit=data.undo_unit, **sampling)
    rollouts = []
    for i, result in enumerate(results):
        row = rows[i // cfg.group_size]
        earned = reward(
            result.text,
            result.undos,
            gold_answer=row["answer"],
            weights=weights,
            question=row["prompt"],
            gold_solution=row["clean_completion"],
        )
        rollouts.append(Rollout(prompts[i], result.trace_ids, earned))
    advantages = group_advantages(
        torch.tensor([r.reward.total for r in rollouts]).view(len(rows), cfg.group_size)
    ).flatten()
    for rollout, advantage in zip(rollouts, advantages.tolist()):
        rollout.advantage = advantage
    return rollouts


def update(
    accelerator,
    model,
    reference,
    optimizer,
    scheduler,
    data: TraceDataset,
    rollouts: list[Rollout],
    cfg: GrpoConfig,
    *,
    mode: str,
) -> dict:
    """`iterations` optimizer steps on one batch of rollouts; returns the loss, KL, clip fraction and gradient norm."""
    chunks = [rollouts[i : i + cfg.micro_batch] for i in range(0, len(rollouts), cfg.micro_batch)]
    columns = [
        [
            trace_columns(
                r.prompt_ids,
                r.trace_ids,
                undo_id=data.tok.undo_id,
                unit=data.undo_unit,
                delimiters=data.delimiters,
                context_mode=mode,
            )
            for r in chunk
        ]
        for chunk in chunks
    ]
    advantages = [torch.tensor([r.advantage for r in chunk], device=accelerator.device) for chunk in chunks]
    tokens = int(
        accelerator.reduce(torch.tensor(sum(len(r.trace_ids) for r in rollouts), device=accelerator.device), "sum")
    )

    def logprobs(net, k: int) -> tuple[Tensor, Tensor]:
        return token_logprobs(net, columns[k], undo_id=data.tok.undo_id, temperature=cfg.temperature)

    with torch.no_grad(), accelerator.autocast():
        refs = (
            [logprobs(reference, k)[0] for k in range(len(chunks))] if reference is not None else [None] * len(chunks)
        )
        olds = [logprobs(model, k)[0] for k in range(len(chunks))] if cfg.iterations > 1 else None
    totals = {"loss": 0.0, "kl": 0.0, "clipped": 0.0}
    for _ in range(cfg.iterations):
        for k in range(len(chunks)):
            last_chunk = k == len(chunks) - 1
            with nullcontext() if last_chunk else accelerator.no_sync(model), accelerator.autocast():
                current, mask = logprobs(model, k)
                old = olds[k] if olds is not None else current.detach()
                loss, stats = grpo_loss(
                    current, old, refs[k], advantages[k], mask, clip_eps=cfg.clip_eps, kl_coef=cfg.kl_coef
                )
                # DDP averages over processes: this scale makes the gradient the mean over every token of the step
                accelerator.backward(loss * (accelerator.num_processes / max(tokens, 1)))
            totals["loss"] += loss.item()
            for key, value in stats.items():
                totals[key] += value.item()
        grad_norm = accelerator.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
    per_token = cfg.iterations * max(tokens, 1)
    result = {
        "loss": _sum(accelerator, totals["loss"]) / per_token,
        "clip_fraction": _sum(accelerator, totals["clipped"]) / per_token,
        "grad_norm": float(grad_norm),
    }
    if reference is not None:
        result["kl"] = _sum(accelerator, totals["kl"]) / per_token
    return result


def _evaluate(accelerator, model, data: TraceDataset, eval_rows, cfg: GrpoConfig, mode: str) -> dict:
    """Greedy decoding of the held-out prompts in the rollout mode (accuracy, undo rate), on the main process."""
    metrics: dict = {}
    if accelerator.is_main_process:
        plain = accelerator.unwrap_model(model)
        plain.eval()
        with accelerator.autocast():
            greedy = decoded(
                plain, data, eval_rows, max_new_tokens=cfg.max_new_tokens, batch_size=cfg.micro_batch, mode=mode
            )
            metrics = {f"eval_{key}": value for key, value in greedy.items()}
        plain.train()
    accelerator.wait_for_everyone()
    return metrics


def _sum(accelerator, value: float) -> float:
    return float(accelerator.reduce(torch.tensor(float(value), device=accelerator.device), "sum"))


def _mean(accelerator, values: Sequence[float]) -> float:
    return float(accelerator.gather(torch.tensor([float(v) for v in values], device=accelerator.device)).mean())
