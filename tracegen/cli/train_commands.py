"""`tracegen train msft|grpo`: parse the options into a config, run the trainer, print each metrics record.

Thin on purpose: the options are the fields of tracegen.train.config (derived by tracegen.cli.config_options),
and the work lives in tracegen.train.msft and grpo, imported only when a command runs.
"""

from __future__ import annotations

import time

import typer
from rich.text import Text

from tracegen.cli.config_options import config_command
from tracegen.cli.terminal import console, friendly_errors
from tracegen.progress import format_seconds
from tracegen.train.config import GrpoConfig, MsftConfig

train_app = typer.Typer(
    help="Train on a tracegen dataset: masked SFT, then GRPO with undo-aware rewards.", no_args_is_help=True
)


def _train_msft(config: MsftConfig) -> None:
    from tracegen.train.msft import train_msft

    _run(train_msft, config)


def _train_grpo(config: GrpoConfig) -> None:
    from tracegen.train.grpo import train_grpo

    _run(train_grpo, config)


msft = train_app.command()(
    config_command(
        MsftConfig,
        _train_msft,
        name="msft",
        help="Masked SFT: learn exactly the dataset's labels (hard mode: 4D masks and position ids); evaluate loss,"
        " undo probe, accuracy.",
    )
)
grpo = train_app.command()(
    config_command(
        GrpoConfig,
        _train_grpo,
        name="grpo",
        help="GRPO: sample groups with the KV-trimming decoder, reward correct answers and cheap undos, update.",
    )
)


TRAIN_INTERRUPTED = (
    "training stopped; checkpoints are kept in --out: rerun the same command with --resume to continue from the newest"
)


def _run(trainer, config) -> None:
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
