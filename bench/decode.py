"""Throughput of tracegen's KV-trimming decoder against `model.generate` on the same tiny Llama.

Greedy, batch 1, 8 and 64, 128 new tokens, prompts of 32 random tokens. The model's output layer
gets a bias of -1e4 on EOS and `<UNDO>`, so both sides emit exactly 128 tokens and the model never
undoes by itself. Runs:
  no undos: decoder (hard mode) vs generate, the ratio the acceptance bar is about;
  undos forced every UNDO_EVERY steps per row (staggered across rows): the decoder's throughput
  against its own no-undo run; the forward steps each undo costs beyond the tokens it erased
  (its own step: 1.0); and the wall time the batch spends on each undo's host-side bookkeeping
  (popping, masking, compaction), in units of one plain decoding step.
Each timing is the median of REPEATS runs, generate and decoder interleaved.
Prints one JSON object on its last line and writes it to --out (default: bench/results/decode.json).

    .venv/bin/python bench/decode.py [--repeats 5] [--threads N] [--out PATH]
        [--device cuda --dtype bf16 --model 100m]   # on a GPU: a ~100M-parameter Llama (hidden 768, 12 layers)
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from tracegen.decoding import decode
from tracegen.tokens import TraceTokenizer

BATCHES = (1, 8, 64)
NEW_TOKENS = 128
PROMPT_LEN = 32
UNDO_EVERY = 8
MODELS = {
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2),
    "100m": dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                 num_key_value_heads=4),
}  # fmt: skip
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def llama(tok: TraceTokenizer, size: str, device: str, dtype: str) -> LlamaForCausalLM:
    """A Llama of `size` whose output layer never picks EOS or `<UNDO>` (a bias of -1e4 on them)."""
    config = LlamaConfig(vocab_size=len(tok.hf), **MODELS[size])
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).eval()
    head = torch.nn.Linear(config.hidden_size, config.vocab_size, bias=True)
    with torch.no_grad():
        head.weight.copy_(model.lm_head.weight)
        head.bias.zero_()
        head.bias[[tok.eos_id, tok.undo_id]] = -1e4
    model.lm_head = head
    return model.to(device=device, dtype=DTYPES[dtype])


def staggered_undos(rows: torch.Tensor, step: int) -> torch.Tensor:
    """Row r undoes at steps where (step + r) % UNDO_EVERY == UNDO_EVERY - 1: a fixed rate, rows out of phase."""
    return (rows + step) % UNDO_EVERY == UNDO_EVERY - 1


def timed(run) -> tuple[float, object]:
    """Seconds of `run()` once the GPU (if any) has finished its work, and its result."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = run()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start, out


def bench_batch(model, tok, batch: int, repeats: int) -> dict:
    prompts = torch.randint(3, len(tok.hf), (batch, PROMPT_LEN), generator=torch.Generator().manual_seed(batch))
    prompts = prompts.to(model.device)
    run_generate = lambda: model.generate(
        prompts,
        attention_mask=torch.ones_like(prompts),
        max_new_tokens=NEW_TOKENS,
        do_sample=False,
        eos_token_id=tok.eos_id,
        pad_token_id=1,
    )  # noqa: E731
    run_decoder = lambda: decode(model, tok, prompts.tolist(), max_new_tokens=NEW_TOKENS)  # noqa: E731
    run_undoing = lambda: decode(model, tok, prompts.tolist(), max_new_tokens=NEW_TOKENS, force_undo=staggered_undos)  # noqa: E731
    for run in (run_generate, run_decoder, run_undoing):  # warm up
        run()
    times: dict[str, list[float]] = {"generate": [], "decoder": [], "decoder_undo": []}
    with torch.inference_mode():
        for _ in range(repeats):
            for name, run in (("generate", run_generate), ("decoder", run_decoder), ("decoder_undo", run_undoing)):
                seconds, out = timed(run)
                times[name].append(seconds)
                if name == "generate":
                    generated = out[:, PROMPT_LEN:].tolist()
                elif name == "decoder":
                    plain = out
                else:
                    undoing = out
    assert all(len(row) == NEW_TOKENS for row in generated) and all(
        len(r.trace_ids) == NEW_TOKENS for r in plain + undoing
    )
    median = {name: statistics.median(values) for name, values in times.items()}
    undos = sum(r.undos for r in undoing)
    extra = sum(r.forward_passes - len(r.ids) - r.erased for r in undoing)
    return {
        "tokens_per_s": {name: batch * NEW_TOKENS / seconds for name, seconds in median.items()},
        "ratio_vs_generate": median["generate"] / median["decoder"],
        "same_tokens_as_generate": [r.trace_ids for r in plain] == generated,
        "undos": undos,
        "erased": sum(r.erased for r in undoing),
        "forward_steps_per_undo": extra / undos,
        "undo_throughput_vs_no_undo": median["decoder"] / median["decoder_undo"],
        "host_overhead_per_undo_in_steps": (median["decoder_undo"] - median["decoder"])
        / (median["decoder"] / NEW_TOKENS)
        / undos,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="fp32")
    parser.add_argument("--model", choices=sorted(MODELS), default="tiny")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "decode.json")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    tok = TraceTokenizer.load(None)
    model = llama(tok, args.model, args.device, args.dtype)
    per_batch = {str(b): bench_batch(model, tok, b, args.repeats) for b in BATCHES}
    for b, row in per_batch.items():
        print(
            f"batch {b:>2}: "
            + ", ".join(f"{name} {rate:,.0f} tok/s" for name, rate in row["tokens_per_s"].items())
            + f"; ratio {row['ratio_vs_generate']:.2f}"
        )
    result = {
        "bench": "decode",
        "model": f"LlamaForCausalLM {args.model}: {MODELS[args.model]}, vocab {len(tok.hf)}, {args.dtype}",
        "parameters": sum(p.numel() for p in model.parameters()),
        "device": torch.cuda.get_device_name() if args.device == "cuda" else "cpu",
        "torch_threads": torch.get_num_threads(),
        "new_tokens": NEW_TOKENS,
        "prompt_tokens": PROMPT_LEN,
        "undo_every": UNDO_EVERY,
        "ratio_vs_generate": {b: round(row["ratio_vs_generate"], 3) for b, row in per_batch.items()},
        "per_batch": per_batch,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
