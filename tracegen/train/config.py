"""The settings of a training run, kept free of heavy imports so that the CLI can show them as defaults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class MsftConfig:
    dataset: str  # a dataset folder or Hub id
    out: Path
    model: str | None = None  # a path or Hub id ...
    model_config: str | None = None  # ... or tiny | small: a Llama built from a config, trained from scratch
    undo_init: tuple[str, ...] = ()  # words whose mean embedding starts <UNDO> in a pretrained model
    split: str | None = None
    eval_rows: int = 64  # held out from the split, never trained on
    eval_decode: int = 32  # of those, how many (at most) the decoder answers at each evaluation
    steps: int = 500  # optimizer steps
    # where the cosine reaches its minimum LR (default: steps); the LR stays there after
    schedule_steps: int | None = None
    batch_size: int = 16  # rows per micro-batch and process
    grad_accum: int = 1
    lr: float = 3e-4
    min_lr_ratio: float = 0.1
    warmup_steps: int = 20
    weight_decay: float = 0.1
    max_grad_norm: float = 1.0
    log_every: int = 10
    eval_every: int = 100
    save_every: int = 100
    keep_checkpoints: int = 2
    max_new_tokens: int = 256
    mixed_precision: str = "no"  # no | bf16 | fp16
    seed: int = 0
    resume: bool = False


@dataclass
class GrpoConfig:
    dataset: str  # prompts and gold answers: a dataset folder or Hub id
    out: Path
    model: str | None = None  # the policy to start from (e.g. an msft run's model/) ...
    model_config: str | None = None  # ... or tiny | small from scratch (for tests)
    undo_init: tuple[str, ...] = ()
    split: str | None = None
    mode: str | None = None  # rollout context mode, soft | hard (default: the dataset's)
    eval_rows: int = 32  # held-out prompts answered greedily at each evaluation (0: none)
    steps: int = 100  # optimizer steps (times `iterations`)
    prompts_per_step: int = 8  # per process
    group_size: int = 8  # samples per prompt
    micro_batch: int = 16  # rollouts per forward/backward
    iterations: int = 1  # policy updates per batch of rollouts
    temperature: float = 1.0
    top_p: float | None = None
    max_new_tokens: int = 256
    max_undos: int = 64
    lr: float = 1e-5
    min_lr_ratio: float = 1.0
    warmup_steps: int = 0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    clip_eps: float = 0.2
    kl_coef: float = 0.04  # beta of the k3 KL estimate to the frozen starting policy
    correct_reward: float = 1.0
    undo_penalty: float = 0.01  # lambda, per <UNDO>
    unparseable_penalty: float = 0.5
    process_reward: float = 0.0  # weight of the divergence verifier's process score
    log_every: int = 1
    eval_every: int = 25
    save_every: int = 25
    keep_checkpoints: int = 2
    mixed_precision: str = "no"
    seed: int = 0
    resume: bool = False
