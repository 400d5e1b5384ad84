"""The settings of a training run, kept free of heavy imports so that the CLI can show them as defaults.

Each setting is declared once, here: name, type, default and the help of its command-line option.
`tracegen train msft|grpo` derives its options from these fields (tracegen.cli.config_options), in field order.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field
from pathlib import Path


def setting(default=MISSING, help: str | None = None, **cli):
    """A config field and what its command-line option shows: `help`, and typer.Option's other arguments
    (`min=1`), or `argument=True` for a positional argument. Plain data, so this module needs no typer."""
    return field(default=default, metadata={"help": help, **cli})


@dataclass(kw_only=True)
class TrainConfig:
    """What every trainer here shares. The fields without a default take each method's own (its subclass
    declares them again with default and help; a field declared again keeps its place in the order)."""

    dataset: str = setting(help="a dataset folder written by tracegen build, or its Hub id", argument=True)
    out: Path = setting(help="run folder: metrics.jsonl, checkpoints/, model/")
    model: str | None = setting(None, "model to start from: local folder or Hub id")
    model_config: str | None = setting(None, "or build a Llama from a config and train from scratch: tiny | small")
    undo_init: tuple[str, ...] = setting(
        (), "word whose embedding starts <UNDO>'s in a pretrained model (repeatable; default: mean of all)"
    )
    split: str | None = setting(None, "dataset split (default: the first)")
    eval_rows: int  # held out from the split, never trained on
    steps: int
    lr: float
    min_lr_ratio: float
    warmup_steps: int
    weight_decay: float
    max_grad_norm: float = setting(1.0)
    log_every: int
    eval_every: int
    save_every: int
    keep_checkpoints: int = setting(2)
    max_new_tokens: int = setting(256)
    mixed_precision: str = setting("no", "no | bf16 | fp16")
    seed: int = setting(0)
    resume: bool = setting(False, "continue from the newest checkpoint in --out")


@dataclass(kw_only=True)
class MsftConfig(TrainConfig):
    eval_rows: int = setting(64, "rows held out for evaluation")
    steps: int = setting(500, "optimizer steps")
    lr: float = setting(3e-4, "peak learning rate")
    min_lr_ratio: float = setting(0.1)
    warmup_steps: int = setting(20)
    weight_decay: float = setting(0.1)
    log_every: int = setting(10)
    eval_every: int = setting(100)
    save_every: int = setting(100)
    max_new_tokens: int = setting(256, "decoding budget at evaluation")
    # of the held-out rows, how many (at most) the decoder answers at each evaluation
    eval_decode: int = setting(32, "held-out prompts decoded at each evaluation")
    # where the cosine reaches its minimum LR (default: steps); the LR stays there after
    schedule_steps: int | None = setting(
        None, "step where the cosine reaches its minimum LR, held after (default: --steps)", min=1
    )
    batch_size: int = setting(16, "rows per micro-batch and process")
    grad_accum: int = setting(1, "micro-batches per optimizer step")


@dataclass(kw_only=True)
class GrpoConfig(TrainConfig):
    # dataset: prompts and gold answers; model: the policy to start from (e.g. an msft run's model/)
    eval_rows: int = setting(32, "held-out prompts answered greedily at each evaluation (0: none)")
    steps: int = setting(100, "optimizer steps (times --iterations)")
    lr: float = setting(1e-5)
    min_lr_ratio: float = setting(1.0)
    warmup_steps: int = setting(0)
    weight_decay: float = setting(0.0)
    log_every: int = setting(1)
    eval_every: int = setting(25)
    save_every: int = setting(25)
    mode: str | None = setting(None, "rollout context mode: soft | hard (default: the dataset's)")
    prompts_per_step: int = setting(8, "prompts per step and process")
    group_size: int = setting(8, "samples per prompt")
    micro_batch: int = setting(16, "rollouts per forward/backward")
    iterations: int = setting(1, "policy updates per batch of rollouts")
    temperature: float = setting(1.0)
    top_p: float | None = setting(None)
    max_undos: int = setting(64, "a rollout that emits more <UNDO>s than this ends")
    clip_eps: float = setting(0.2, "PPO clip range")
    # beta of the k3 KL estimate to the frozen starting policy
    kl_coef: float = setting(0.04, "weight of the KL to the starting policy (k3 estimate)")
    correct_reward: float = setting(1.0, "reward of a correct final answer")
    undo_penalty: float = setting(0.01, "lambda: cost of each <UNDO>")
    unparseable_penalty: float = setting(0.5, "cost of an output without a numeric final answer")
    process_reward: float = setting(0.0, "weight of the divergence verifier's process score (0: off)")
