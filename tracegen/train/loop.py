"""What every training loop here shares: the accelerator, the optimizer and schedule, endless batches, checkpoints.

A run's folder: `run.json` (its settings), `metrics.jsonl`, `checkpoints/step-NNNNNN/` (the newest
`keep` ones; accelerate's model, optimizer, scheduler and RNG states plus `trainer_state.json`,
written last, so a folder without it is an interrupted save and is ignored) and, at the end,
`model/` (the model and the dataset's tokenizer, loadable with `from_pretrained`).
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import torch

from tracegen.errors import InputError
from tracegen.train.metrics import METRICS_FILE

CHECKPOINTS = "checkpoints"
MODEL_DIR = "model"
STATE_FILE = "trainer_state.json"
MIXED_PRECISION = ("no", "bf16", "fp16")


def make_accelerator(*, mixed_precision: str, grad_accum: int = 1, seed: int):
    """An Accelerator whose data order depends only on the seed and the epoch, so a resumed run sees the same
    batches."""
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration, GradientAccumulationPlugin, set_seed

    if mixed_precision not in MIXED_PRECISION:
        raise InputError(
            f"expected one of {', '.join(MIXED_PRECISION)}, got {mixed_precision!r}", field="mixed_precision"
        )
    accelerator = Accelerator(
        mixed_precision=mixed_precision,
        # the loops group micro-batches into optimizer steps themselves, across epoch ends
        gradient_accumulation_plugin=GradientAccumulationPlugin(num_steps=grad_accum, sync_with_dataloader=False),
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True),
    )
    set_seed(seed)
    return accelerator


def require_at_least_one(settings: object, names: tuple[str, ...]) -> None:
    for name in names:
        if getattr(settings, name) < 1:
            raise InputError(f"must be at least 1, got {getattr(settings, name)}", field=name)


def adamw(model, *, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not on norms, biases or 1-D gains), as nanoGPT does."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95))


def cosine_schedule(optimizer, *, warmup_steps: int, steps: int, min_lr_ratio: float):
    """Linear warmup, then cosine decay to `min_lr_ratio` of the peak at `steps`, and that minimum after
    (transformers' cosine would rise again); stepped once per optimizer step."""
    from transformers import get_cosine_with_min_lr_schedule_with_warmup

    schedule = get_cosine_with_min_lr_schedule_with_warmup(
        optimizer, num_warmup_steps=min(warmup_steps, steps), num_training_steps=steps, min_lr_rate=min_lr_ratio
    )
    schedule.lr_lambdas = [lambda step, decay=decay: decay(min(step, steps)) for decay in schedule.lr_lambdas]
    return schedule


def endless(loader, accelerator, skip: int) -> Iterator:
    """Batches forever, epoch after epoch (each shuffled by seed and epoch), starting after the first `skip`."""
    epoch, skip = divmod(skip, len(loader))
    while True:
        loader.set_epoch(epoch)
        yield from (accelerator.skip_first_batches(loader, skip) if skip else loader)
        epoch, skip = epoch + 1, 0


def start_run(accelerator, out: Path, settings: dict) -> None:
    """Refuse a folder that holds another run (their metrics would mix); record this run's settings in `run.json`."""
    if checkpoints(out) or (out / METRICS_FILE).exists():
        raise InputError(
            "holds a training run already; pass --resume to continue it, or choose another folder", file=str(out)
        )
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        (out / "run.json").write_text(
            json.dumps({**settings, "processes": accelerator.num_processes}, indent=2, default=str) + "\n"
        )


class _TiedWeightsNote(logging.Filter):
    """Drops accelerate's "Removed shared tensor {'lm_head.weight'} while saving" note: with tied embeddings
    safetensors stores the tensor once, as expected, and loading the state re-ties it (tests/test_resume)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Removed shared tensor" not in record.getMessage()  # accelerate prefixes "[RANK n] "


def save_checkpoint(accelerator, out: Path, step: int, batches_seen: int, *, keep: int) -> Path:
    """`checkpoints/step-NNNNNN/`: accelerate's state plus where the loop was; older checkpoints beyond `keep` go."""
    folder = out / CHECKPOINTS / f"step-{step:06d}"
    note, saver = _TiedWeightsNote(), logging.getLogger("accelerate.utils.other")
    saver.addFilter(note)
    try:
        accelerator.save_state(str(folder))
    finally:
        saver.removeFilter(note)
    if accelerator.is_main_process:
        (folder / STATE_FILE).write_text(json.dumps({"step": step, "batches_seen": batches_seen}) + "\n")
        for old in checkpoints(out)[:-keep]:
            shutil.rmtree(old)
    accelerator.wait_for_everyone()
    return folder


def checkpoints(out: Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    return sorted(p for p in (out / CHECKPOINTS).glob("step-*") if (p / STATE_FILE).is_file())


def resume(accelerator, out: Path) -> tuple[int, int]:
    """Load the newest checkpoint; returns (optimizer steps, batches) done."""
    found = checkpoints(out)
    if not found:
        raise InputError(f"nothing to resume: no checkpoint under {out / CHECKPOINTS}", field="resume")
    accelerator.load_state(str(found[-1]))
    state = json.loads((found[-1] / STATE_FILE).read_text())
    return state["step"], state["batches_seen"]


def save_model(accelerator, model, tok, folder: Path) -> None:
    """The trained model and the dataset's tokenizer, side by side."""
    accelerator.wait_for_everyone()
    plain = accelerator.unwrap_model(model)
    plain.save_pretrained(
        str(folder),
        is_main_process=accelerator.is_main_process,
        save_function=accelerator.save,
        state_dict=accelerator.get_state_dict(model),
    )
    if accelerator.is_main_process:
        tok.save(folder)  # loadable by every transformers version tracegen claims
