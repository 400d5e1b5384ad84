"""Benchmark: one hard-mode mSFT step (4D mask + position ids) vs one plain causal step, same model, batch and length.

Both steps train on the same rows of a hard-mode arith build: the same input_ids and labels,
padded to the same length. The hard step collates them with tracegen.train.data.TraceCollator
(the 4D additive mask of masks.py and the exported position ids); the causal step with a 2D
padding mask, which is what a soft-mode dataset costs. A step is collation + forward + loss +
backward + AdamW update, as the trainer runs it; the two kinds alternate so that drift in the
machine hits both. Medians of `--repeats` steps after `--warmup` each.

Prints one JSON object on its last line (`ratio_hard_vs_causal` = hard / causal step time, and
the same ratio without collation) and writes it to --out (default bench/results/train_step.json).

    .venv/bin/python bench/train_step.py [--model-config tiny|small] [--batch-size 16] [--repeats 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracegen.train.data import TraceCollator, open_dataset  # noqa: E402
from tracegen.train.loop import adamw  # noqa: E402
from tracegen.train.loss import label_loss, model_inputs  # noqa: E402
from tracegen.train.model import build_model  # noqa: E402


def build_dataset(out: Path, rows: int) -> None:
    command = [sys.executable, str(ROOT / "cli.py"), "build", "--recipe", "arith", "--limit", str(rows), "--context-mode", "hard", "--out", str(out), "--set", "deviations.clean_fraction=0"]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ | {"HF_HUB_OFFLINE": "1"})


def causal_collate(rows: list[dict], length: int) -> dict[str, torch.Tensor]:
    """The same rows as a plain causal batch of the same padded length (a 2D padding mask)."""
    input_ids = torch.zeros(len(rows), length, dtype=torch.long)
    attention_mask = torch.zeros(len(rows), length, dtype=torch.long)
    labels = torch.full((len(rows), length), -100, dtype=torch.long)
    for b, row in enumerate(rows):
        n = len(row["input_ids"])
        input_ids[b, :n], attention_mask[b, :n], labels[b, :n] = torch.tensor(row["input_ids"]), 1, torch.tensor(row["labels"])
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def timed_step(model, optimizer, collate, rows: list[dict]) -> tuple[float, float]:
    """(seconds of the whole step, seconds of collation)."""
    started = time.perf_counter()
    batch = collate(rows)
    collated = time.perf_counter()
    total, count = label_loss(model(**model_inputs(batch)).logits, batch["labels"])
    (total / count).backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return time.perf_counter() - started, collated - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-config", default="tiny", choices=["tiny", "small"])
    parser.add_argument("--attention", default="sdpa", choices=["sdpa", "eager"])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "train_step.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        build_dataset(Path(tmp) / "hard", args.batch_size)
        data = open_dataset(str(Path(tmp) / "hard"))
        rows = [data.rows[i] for i in range(args.batch_size)]
    model = build_model(data.tok, model_config=args.model_config)
    model.config._attn_implementation = args.attention
    model.train()
    optimizer = adamw(model, lr=1e-4, weight_decay=0.1)
    hard_collate = TraceCollator(data.tok.undo_id)
    length = hard_collate(rows)["input_ids"].shape[1]
    kinds = {"hard": hard_collate, "causal": lambda batch: causal_collate(batch, length)}
    times: dict[str, list[tuple[float, float]]] = {kind: [] for kind in kinds}
    for i in range(args.warmup + args.repeats):
        for kind, collate in kinds.items():
            measured = timed_step(model, optimizer, collate, rows)
            if i >= args.warmup:
                times[kind].append(measured)

    step = {kind: statistics.median(t for t, _ in runs) for kind, runs in times.items()}
    collation = {kind: statistics.median(c for _, c in runs) for kind, runs in times.items()}
    model_only = {kind: statistics.median(t - c for t, c in runs) for kind, runs in times.items()}
    result = {
        "benchmark": "train_step",
        "model_config": args.model_config,
        "parameters": sum(p.numel() for p in model.parameters()),
        "attention": args.attention,
        "batch_size": args.batch_size,
        "length": length,
        "undo_groups": sum(len(row["prune_spans"]) for row in rows),
        "repeats": args.repeats,
        "hard_step_seconds": round(step["hard"], 4),
        "causal_step_seconds": round(step["causal"], 4),
        "hard_collate_seconds": round(collation["hard"], 4),
        "causal_collate_seconds": round(collation["causal"], 4),
        "ratio_hard_vs_causal": round(step["hard"] / step["causal"], 3),
        "ratio_hard_vs_causal_without_collation": round(model_only["hard"] / model_only["causal"], 3),
        "device": "cpu",
        "threads": torch.get_num_threads(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
