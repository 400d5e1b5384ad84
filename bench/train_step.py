"""Benchmark: one hard-mode training step per mask kind vs one plain causal step, at given lengths.

For each `--length` N, one hard row of about N tokens is made the way the exporter makes rows
(random clean tokens, a deviation spliced in every `--every` tokens, each undone by `<UNDO>`:
tracegen.trace.splice + tracegen.columns.token_columns), and one training step (collation
+ forward + loss + backward + AdamW) is timed for:

- `dense`: TraceCollator's [B, 1, L, L] additive mask (masks.py), sdpa attention;
- `flex`: TraceCollator(mask="flex"): erased_at + a FlexAttention BlockMask (flex.py), the model
  loaded with attn_implementation="flex_attention" (transformers compiles the kernel; the first
  step, compilation included, is reported apart);
- `causal`: the same tokens with a 2D padding mask and sdpa's causal path (what a soft row costs).

`--device cuda --dtype bf16 --model 100m` runs the same on a GPU with a ~113M-parameter Llama
(hidden 768, 12 layers, 12 heads, 4 kv heads, vocab 32,000) in bf16; timings wait for the GPU
(torch.cuda.synchronize) and include moving the batch to it.

Reported per length: mask bytes per row (dense: the float mask; flex: erased_at plus the block
tables), collation seconds, step seconds (medians of `--repeats` after one warm-up step) and
hard / causal ratios, for a forward alone and for a training step. FlexAttention has no backward
on a CPU (torch 2.13), so there `flex` is timed forward only. A dense mask over `--max-dense-mib` is not stepped (its
bytes and collation
still are): on a CPU the [L, L] scores it forces would not fit beside other work. The model is a
tiny Llama, so attention and the mask dominate.

    .venv/bin/python bench/train_step.py [--length 1024 4096 16384] [--repeats 3] [--max-step-length N] [--out
    bench/results/train_step.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracegen.columns import token_columns  # noqa: E402
from tracegen.trace import Splice, splice  # noqa: E402
from tracegen.train.data import TraceCollator  # noqa: E402
from tracegen.train.loss import label_loss, model_inputs  # noqa: E402

VOCAB, UNDO, EOS = 512, 2, 0  # the rows' random tokens are drawn below VOCAB
PROMPT = 64
MODELS = {
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
                 num_key_value_heads=1, vocab_size=VOCAB),
    "100m": dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                 num_key_value_heads=4, vocab_size=32000),
}  # fmt: skip
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def hard_row(length: int, every: int, seed: int) -> dict:
    """A token-unit hard row of about `length` tokens with one 4-8 token deviation every `every` clean tokens."""
    rng = random.Random(seed)
    clean_len = length * every // (every + 2 * 6)  # each deviation adds ~6 tokens and ~6 <UNDO>s
    clean = [rng.randrange(3, VOCAB) for _ in range(clean_len)] + [EOS]
    splices = []
    for at in range(every, clean_len, every):
        first = rng.randrange(3, VOCAB - 1)
        first += first == clean[at]  # a deviation starts where it differs (DESIGN.md section 3)
        splices.append(Splice(at, (first, *(rng.randrange(3, VOCAB) for _ in range(rng.randrange(3, 8))))))
    traced = splice(clean, splices, UNDO, "token")
    prompt = [rng.randrange(3, VOCAB) for _ in range(PROMPT)]
    cols = token_columns(
        prompt,
        traced.tokens,
        traced.deviation_spans,
        traced.prune_spans,
        undo_id=UNDO,
        unit="token",
        mode="hard",
        loss="msft",
        delimiters=frozenset(),
    )
    return {**cols, "context_mode": "hard"}


def causal_collate(rows: list[dict]) -> dict[str, torch.Tensor]:
    return {
        "input_ids": torch.tensor([row["input_ids"] for row in rows]),
        "attention_mask": torch.ones(len(rows), len(rows[0]["input_ids"]), dtype=torch.long),
        "labels": torch.tensor([row["labels"] for row in rows]),
    }


def mask_bytes(batch: dict, rows: list[dict]) -> int:
    mask = batch["attention_mask"]
    if isinstance(mask, torch.Tensor):
        return mask[0].numel() * mask.element_size()
    tables = [mask.kv_num_blocks, mask.kv_indices, mask.full_kv_num_blocks, mask.full_kv_indices]
    per_row = sum(t[0].numel() * t.element_size() for t in tables if t is not None)
    return per_row + len(rows[0]["input_ids"]) * 8  # + erased_at (int64 per token)


def model_for(attention: str, args):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(**MODELS[args.model], max_position_embeddings=1 << 15)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(device=args.device, dtype=DTYPES[args.dtype])
    model.set_attn_implementation(attention)
    return model.train()


def finished(device: str) -> float:
    """perf_counter once the device has done the work queued so far."""
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter()


def on_device(batch: dict, device: str) -> dict:
    return {key: value.to(device) if hasattr(value, "to") else value for key, value in batch.items()}


def step(model, optimizer, collate, rows, device: str) -> tuple[float, float, dict]:
    """(step seconds, collation seconds, batch)."""
    started = finished(device)
    batch = on_device(collate(rows), device)
    collated = finished(device)
    total, count = label_loss(model(**model_inputs(batch)).logits, batch["labels"])
    (total / count).backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return finished(device) - started, collated - started, batch


def measure(length: int, args) -> dict:
    rows = [hard_row(length, args.every, seed) for seed in range(args.batch_size)]
    n = min(len(row["input_ids"]) for row in rows)
    rows = [
        {key: (value[:n] if key in ("input_ids", "labels", "position_ids") else value) for key, value in row.items()}
        for row in rows
    ]
    for row in rows:
        row["prune_spans"] = [s for s in row["prune_spans"] if s[2] < n]
    kinds = {
        "causal": ("sdpa", causal_collate),
        "dense": ("sdpa", TraceCollator(UNDO, dtype=DTYPES[args.dtype])),
        "flex": ("flex_attention", TraceCollator(UNDO, mask="flex")),
    }
    result: dict = {"length": n, "undo_groups_per_row": len(rows[0]["prune_spans"])}
    for kind, (attention, collate) in kinds.items():
        started = time.perf_counter()
        batch = collate(rows)
        result[f"{kind}_collate_seconds"] = round(time.perf_counter() - started, 4)
        if kind != "causal":
            result[f"{kind}_mask_bytes_per_row"] = mask_bytes(batch, rows)
        del batch
        mask_mib = n * n * DTYPES[args.dtype].itemsize / 2**20
        if kind == "dense" and mask_mib > args.max_dense_mib:
            result["dense_step_seconds"] = result["dense_forward_seconds"] = None
            result["dense_skipped"] = (
                f"the [L, L] mask is {mask_mib:.0f} MiB (over --max-dense-mib {args.max_dense_mib})"
            )
            continue
        model = model_for(attention, args)
        result[f"{kind}_forward_seconds"] = forward_seconds(model, collate, rows, args, result, kind)
        if kind == "flex" and args.device == "cpu":
            result["flex_step_seconds"] = None
            result["flex_step_skipped"] = f"FlexAttention has no backward on the CPU (torch {torch.__version__})"
            continue
        if n > args.max_step_length:
            result[f"{kind}_step_seconds"] = None
            result[f"{kind}_step_skipped"] = f"longer than --max-step-length {args.max_step_length}"
            continue
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        step(model, optimizer, collate, rows, args.device)  # warm-up
        runs = [step(model, optimizer, collate, rows, args.device)[:2] for _ in range(args.repeats)]
        result[f"{kind}_step_seconds"] = round(statistics.median(t for t, _ in runs), 4)
        print(
            f"  length {n} {kind}: {result[f'{kind}_forward_seconds']} s/forward, {result[f'{kind}_step_seconds']} "
            "s/step",
            file=sys.stderr,
            flush=True,
        )
    for kind in ("dense", "flex"):
        for what in ("step", "forward"):
            if result.get(f"{kind}_{what}_seconds"):
                result[f"ratio_{kind}_vs_causal_{what}"] = round(
                    result[f"{kind}_{what}_seconds"] / result[f"causal_{what}_seconds"], 3
                )
    return result


def forward_seconds(model, collate, rows, args, result: dict, kind: str) -> float:
    """Median seconds of collation + a forward without gradients, after one warm-up (for flex: the compilation,
    reported apart)."""
    times = []
    with torch.no_grad():
        for _ in range(args.repeats + 1):
            started = finished(args.device)
            model(**model_inputs(on_device(collate(rows), args.device)))
            times.append(finished(args.device) - started)
    if kind == "flex":
        result["flex_first_forward_seconds"] = round(times[0], 2)  # transformers compiles the flex kernel
    return round(statistics.median(times[1:]), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, nargs="+", default=[1024, 4096, 16384])
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--every", type=int, default=64, help="clean tokens between deviations")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-dense-mib", type=int, default=512)
    parser.add_argument(
        "--max-step-length",
        type=int,
        default=1 << 30,
        help="time only the forward above this length (a CPU steps 16k tokens in minutes)",
    )
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="fp32")
    parser.add_argument("--model", choices=sorted(MODELS), default="tiny")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "train_step.json")
    args = parser.parse_args()
    rows: list[dict] = []
    for length in args.length:
        print(f"length {length}", file=sys.stderr, flush=True)
        rows.append(measure(length, args))
        write(args, rows)  # after each length, so a long run keeps what it measured


def write(args, rows: list[dict]) -> None:
    result = {
        "benchmark": "train_step",
        "model": f"Llama {args.model}: {MODELS[args.model]}, {args.dtype}",
        "batch_size": args.batch_size,
        "deviation_every_tokens": args.every,
        "repeats": args.repeats,
        "device": torch.cuda.get_device_name() if args.device == "cuda" else "cpu",
        "cpu": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "lengths": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.out.with_name(f".{args.out.name}.tmp")
    temporary.write_text(json.dumps(result, indent=2) + "\n")
    temporary.replace(args.out)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
