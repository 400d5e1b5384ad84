"""`tracegen train msft|grpo`: parse the options into a config, run the trainer, print each metrics record.

Thin on purpose: every option is a field of tracegen.train.config (same name, same default), and
the work lives in msft.py and grpo.py. Imported by tracegen.cli, so nothing heavy loads here; the error handling is
tracegen.cli.terminal's.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from tracegen.progress import format_seconds
from tracegen.train.config import GrpoConfig, MsftConfig

train_app = typer.Typer(
    help="Train on a tracegen dataset: masked SFT, then GRPO with undo-aware rewards.", no_args_is_help=True
)

Dataset = Annotated[str, typer.Argument(help="a dataset folder written by tracegen build, or its Hub id")]
Out = Annotated[Path, typer.Option(help="run folder: metrics.jsonl, checkpoints/, model/")]
Model = Annotated[str | None, typer.Option(help="model to start from: local folder or Hub id")]
ModelConfig = Annotated[
    str | None, typer.Option(help="or build a Llama from a config and train from scratch: tiny | small")
]
UndoInit = Annotated[
    list[str] | None,
    typer.Option(help="word whose embedding starts <UNDO>'s in a pretrained model (repeatable; default: mean of all)"),
]
Split = Annotated[str | None, typer.Option(help="dataset split (default: the first)")]
MixedPrecision = Annotated[str, typer.Option(help="no | bf16 | fp16")]
Resume = Annotated[bool, typer.Option(help="continue from the newest checkpoint in --out")]


@train_app.command()
def msft(
    dataset: Dataset,
    out: Out,
    model: Model = None,
    model_config: ModelConfig = None,
    undo_init: UndoInit = None,
    split: Split = None,
    eval_rows: Annotated[int, typer.Option(help="rows held out for evaluation")] = MsftConfig.eval_rows,
    eval_decode: Annotated[
        int, typer.Option(help="held-out prompts decoded at each evaluation")
    ] = MsftConfig.eval_decode,
    steps: Annotated[int, typer.Option(help="optimizer steps")] = MsftConfig.steps,
    schedule_steps: Annotated[
        int | None,
        typer.Option(min=1, help="step where the cosine reaches its minimum LR, held after (default: --steps)"),
    ] = MsftConfig.schedule_steps,
    batch_size: Annotated[int, typer.Option(help="rows per micro-batch and process")] = MsftConfig.batch_size,
    grad_accum: Annotated[int, typer.Option(help="micro-batches per optimizer step")] = MsftConfig.grad_accum,
    lr: Annotated[float, typer.Option(help="peak learning rate")] = MsftConfig.lr,
    min_lr_ratio: float = MsftConfig.min_lr_ratio,
    warmup_steps: int = MsftConfig.warmup_steps,
    weight_decay: float = MsftConfig.weight_decay,
    max_grad_norm: float = MsftConfig.max_grad_norm,
    log_every: int = MsftConfig.log_every,
    eval_every: int = MsftConfig.eval_every,
    save_every: int = MsftConfig.save_every,
    keep_checkpoints: int = MsftConfig.keep_checkpoints,
    max_new_tokens: Annotated[int, typer.Option(help="decoding budget at evaluation")] = MsftConfig.max_new_tokens,
    mixed_precision: MixedPrecision = MsftConfig.mixed_precision,
    seed: int = MsftConfig.seed,
    resume: Resume = False,
) -> None:
    """Masked SFT: learn exactly the dataset's labels (hard mode: 4D masks and position ids); evaluate loss, undo
    probe, accuracy."""
    settings = dict(locals())  # the parameters are MsftConfig's fields
    from tracegen.train.msft import train_msft

    _run(train_msft, MsftConfig(**{**settings, "undo_init": tuple(undo_init or ())}))


@train_app.command()
def grpo(
    dataset: Dataset,
    out: Out,
    model: Model = None,
    model_config: ModelConfig = None,
    undo_init: UndoInit = None,
    split: Split = None,
    mode: Annotated[
        str | None, typer.Option(help="rollout context mode: soft | hard (default: the dataset's)")
    ] = None,
    eval_rows: Annotated[
        int, typer.Option(help="held-out prompts answered greedily at each evaluation (0: none)")
    ] = GrpoConfig.eval_rows,
    steps: Annotated[int, typer.Option(help="optimizer steps (times --iterations)")] = GrpoConfig.steps,
    prompts_per_step: Annotated[int, typer.Option(help="prompts per step and process")] = GrpoConfig.prompts_per_step,
    group_size: Annotated[int, typer.Option(help="samples per prompt")] = GrpoConfig.group_size,
    micro_batch: Annotated[int, typer.Option(help="rollouts per forward/backward")] = GrpoConfig.micro_batch,
    iterations: Annotated[int, typer.Option(help="policy updates per batch of rollouts")] = GrpoConfig.iterations,
    temperature: float = GrpoConfig.temperature,
    top_p: Annotated[float | None, typer.Option()] = None,
    max_new_tokens: int = GrpoConfig.max_new_tokens,
    max_undos: Annotated[
        int, typer.Option(help="a rollout that emits more <UNDO>s than this ends")
    ] = GrpoConfig.max_undos,
    lr: float = GrpoConfig.lr,
    min_lr_ratio: float = GrpoConfig.min_lr_ratio,
    warmup_steps: int = GrpoConfig.warmup_steps,
    weight_decay: float = GrpoConfig.weight_decay,
    max_grad_norm: float = GrpoConfig.max_grad_norm,
    clip_eps: Annotated[float, typer.Option(help="PPO clip range")] = GrpoConfig.clip_eps,
    kl_coef: Annotated[
        float, typer.Option(help="weight of the KL to the starting policy (k3 estimate)")
    ] = GrpoConfig.kl_coef,
    correct_reward: Annotated[
        float, typer.Option(help="reward of a correct final answer")
    ] = GrpoConfig.correct_reward,
    undo_penalty: Annotated[float, typer.Option(help="lambda: cost of each <UNDO>")] = GrpoConfig.undo_penalty,
    unparseable_penalty: Annotated[
        float, typer.Option(help="cost of an output without a numeric final answer")
    ] = GrpoConfig.unparseable_penalty,
    process_reward: Annotated[
        float, typer.Option(help="weight of the divergence verifier's process score (0: off)")
    ] = GrpoConfig.process_reward,
    log_every: int = GrpoConfig.log_every,
    eval_every: int = GrpoConfig.eval_every,
    save_every: int = GrpoConfig.save_every,
    keep_checkpoints: int = GrpoConfig.keep_checkpoints,
    mixed_precision: MixedPrecision = GrpoConfig.mixed_precision,
    seed: int = GrpoConfig.seed,
    resume: Resume = False,
) -> None:
    """GRPO: sample groups with the KV-trimming decoder, reward correct answers and cheap undos, update."""
    settings = dict(locals())  # the parameters are GrpoConfig's fields
    from tracegen.train.grpo import train_grpo

    _run(train_grpo, GrpoConfig(**{**settings, "undo_init": tuple(undo_init or ())}))


TRAIN_INTERRUPTED = (
    "training stopped; checkpoints are kept in --out: rerun the same command with --resume to continue from the newest"
)


def _run(trainer, config) -> None:
    from tracegen.cli.terminal import console, friendly_errors

    eta = StepClock(config.steps)

    def show(record: dict) -> None:
        step = record.get("step")
        kind = "eval" if any(key.startswith("eval_") for key in record) else "step"
        fields = "  ".join(f"{key} {_short(value)}" for key, value in record.items() if key != "step")
        left = eta.left(step) if kind == "step" else ""
        console.print(
            Text.assemble((f"{kind} {step:>6}", "bold cyan" if kind == "eval" else "bold"), "  ", fields, left),
            highlight=False,
            soft_wrap=True,
        )

    with friendly_errors(interrupted=TRAIN_INTERRUPTED):
        trainer(config, printer=show)


class StepClock:
    """The time left, from the pace of the steps this run has made (a resumed run starts counting where it resumed)."""

    def __init__(self, total_steps: int, clock=time.monotonic):
        self.total, self.clock = total_steps, clock
        self.first: tuple[int, float] | None = None

    def left(self, step: int) -> str:
        now = self.clock()
        if self.first is None:
            self.first = (step, now)
            return ""
        first_step, started = self.first
        if step <= first_step or step >= self.total:
            return ""
        return f"  eta {format_seconds((now - started) / (step - first_step) * (self.total - step))}"


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
