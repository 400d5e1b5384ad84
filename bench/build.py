"""Benchmark: `tracegen build` on GSM8K train vs a bare batched fast-tokenizer pass over the same text.

The build runs as the user runs it: the `tracegen` command in a fresh process (start-up,
imports, loading, building, checking every row, writing parquet, the card and its plots). The
baseline, in this process, is what any pipeline pays at least: `datasets.Dataset.from_list` over
the same problems and a batched `map` with the same fast tokenizer over question + answer.
Each is timed `--repeats` times; the medians are compared.

The build is timed in one process (`ratio_vs_tokenize`) and with `--num-proc` left at its default,
one process per available core (`ratio_vs_tokenize_all_cores`); the baseline's batched tokenizer
uses every core too. `self_check_share` is the part of an in-process build spent proving rows
(tracegen.dataset.check_rows.check_row). `fixed_cpu_seconds` is what a build of one chunk (64 problems)
costs in one process: start-up, imports, loading and saving the tokenizer, assembly, the card and
its plots, whatever the size; `rows_cpu_ratio_vs_tokenize` compares the rest, the work that grows
with the rows, to the baseline.

Prints one JSON object on its last line and writes it to --out (default bench/results/build.json).
With --profile, also runs the build once in-process under cProfile and writes the top functions
next to it, to say where the time goes.

    .venv/bin/python bench/build.py [--source PATH] [--repeats 3] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import site
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "gsm8k" / "train.jsonl"


FIXED_COST_PROBLEMS = 64  # one chunk


def time_build(source: Path, out: Path, num_proc: int | None, limit: int | None = None) -> tuple[float, float]:
    """Seconds and CPU seconds (its worker processes included) of one `tracegen build` in a fresh process;
    `num_proc=None` leaves --num-proc at its default (every core); `limit` builds only the first problems."""
    command = [
        sys.executable,
        str(ROOT / "cli.py"),
        "build",
        "--recipe",
        "gsm8k",
        "--source",
        str(source),
        "--out",
        str(out),
        "--overwrite",
    ]
    env = {k: v for k, v in os.environ.items() if k != "TRACEGEN_NUM_PROC"} | {"HF_HUB_OFFLINE": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        command
        + ([] if num_proc is None else ["--num-proc", str(num_proc)])
        + ([] if limit is None else ["--limit", str(limit)]),
        check=True,
        stdout=subprocess.DEVNULL,
        env=env,
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return seconds, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def self_check_share(source: Path, out: Path) -> float:
    """The fraction of an in-process build's time spent in the self-check of its rows."""
    sys.path.insert(0, str(ROOT))
    import tracegen.pipeline.problem_rows as problem_rows
    from tracegen.pipeline.build import build
    from tracegen.recipe import load_recipe

    spent = 0.0
    check_row = problem_rows.check_row

    def timed_check(row, ctx):
        nonlocal spent
        started = time.perf_counter()
        try:
            check_row(row, ctx)
        finally:
            spent += time.perf_counter() - started

    problem_rows.check_row = timed_check
    try:
        started = time.perf_counter()
        build(load_recipe("gsm8k", {"source.path": str(source)}), out, overwrite=True)
        return spent / (time.perf_counter() - started)
    finally:
        problem_rows.check_row = check_row


def time_tokenize(problems: list[dict], tokenizer_dir: Path) -> tuple[float, float]:
    """Seconds and CPU seconds (the tokenizer's threads included) of the baseline."""
    from datasets import Dataset
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)

    def tokenize(batch: dict) -> dict:
        return tokenizer([q + "\n" + a for q, a in zip(batch["question"], batch["answer"])])

    started, cpu_started = time.perf_counter(), time.process_time()
    Dataset.from_list(problems).map(tokenize, batched=True)
    return time.perf_counter() - started, time.process_time() - cpu_started


def profile_build(source: Path, out: Path, report: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from tracegen.pipeline.build import build
    from tracegen.recipe import load_recipe

    recipe = load_recipe("gsm8k", {"source.path": str(source)})
    profiler = cProfile.Profile()
    profiler.runcall(build, recipe, out, overwrite=True)
    text = io.StringIO()
    for order in ("cumulative", "tottime"):
        text.write(f"=== top 40 by {order} ===\n")
        pstats.Stats(profiler, stream=text).sort_stats(order).print_stats(40)
    report.write_text(without_local_paths(text.getvalue()))


def without_local_paths(text: str) -> str:
    """The profile with file names relative to the checkout or site-packages: no local path is written down."""
    for prefix in sorted({str(ROOT) + "/", *(p + "/" for p in site.getsitepackages()), sys.prefix + "/"}, key=len)[
        ::-1
    ]:
        text = text.replace(prefix, "")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="also profile one in-process build with cProfile")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "build.json")
    args = parser.parse_args()

    args.out.parent.mkdir(parents=True, exist_ok=True)
    problems = [json.loads(line) for line in args.source.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        build, all_cores, tokenize, fixed = [], [], [], []
        for _ in range(args.repeats):  # interleaved, so a change in the machine's load touches every side alike
            build.append(time_build(args.source, out, 1))
            all_cores.append(time_build(args.source, out, None))
            tokenize.append(time_tokenize(problems, out / "tokenizer"))
            fixed.append(time_build(args.source, Path(tmp) / "one-chunk", 1, limit=FIXED_COST_PROBLEMS))
        build_seconds, all_cores_seconds, tokenize_seconds = (
            [wall for wall, _ in runs] for runs in (build, all_cores, tokenize)
        )
        build_cpu, tokenize_cpu, fixed_cpu = (
            statistics.median(cpu for _, cpu in runs) for runs in (build, tokenize, fixed)
        )
        rows = json.loads((out / "tracegen.json").read_text())["splits"]["train"]["rows"]
        check_share = self_check_share(args.source, Path(tmp) / "checked")
        if args.profile:
            profile_build(args.source, Path(tmp) / "profiled", args.out.with_name(args.out.stem + "_profile.txt"))

    build_median, tokenize_median = statistics.median(build_seconds), statistics.median(tokenize_seconds)
    all_cores_median = statistics.median(all_cores_seconds)
    result = {
        "benchmark": "build",
        "problems": len(problems),
        "rows": rows,
        "repeats": args.repeats,
        "build_seconds": round(build_median, 3),
        "build_seconds_all": [round(s, 3) for s in build_seconds],
        "build_all_cores_seconds": round(all_cores_median, 3),
        "build_all_cores_seconds_all": [round(s, 3) for s in all_cores_seconds],
        "tokenize_seconds": round(tokenize_median, 3),
        "tokenize_seconds_all": [round(s, 3) for s in tokenize_seconds],
        "ratio_vs_tokenize": round(build_median / tokenize_median, 2),
        "ratio_vs_tokenize_all_cores": round(all_cores_median / tokenize_median, 2),
        "build_cpu_seconds": round(build_cpu, 3),
        "tokenize_cpu_seconds": round(tokenize_cpu, 3),
        "cpu_ratio_vs_tokenize": round(build_cpu / tokenize_cpu, 2),  # steadier than wall time on a busy machine
        "fixed_cpu_seconds": round(fixed_cpu, 3),
        "rows_cpu_ratio_vs_tokenize": round((build_cpu - fixed_cpu) / tokenize_cpu, 2),
        "self_check_share": round(check_share, 3),
        "cpus": len(os.sched_getaffinity(0)),
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
