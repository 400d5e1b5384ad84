"""Benchmark: does `tracegen build` keep its speed and memory flat as the dataset grows?

Builds the synthetic `arith` recipe at each size in --sizes (default 20k, 100k, 300k problems), each
in a fresh `tracegen build --num-proc N` process (default 1: one process, whose peak resident memory
is the build's), and reports rows per second and peak RSS per size: of the largest single process
(the kernel's count) and of the whole process tree (sampled: the build and its workers together).
Then builds the largest size again as --shards shard builds and joins them with `tracegen merge`,
reporting the merge's seconds and peak RSS. Goal: rows/s within 15% across sizes, peak RSS at the
largest size <= 1.3x the smallest.

Prints one JSON object on its last line and writes it to --out (default bench/results/scale.json).

    .venv/bin/python bench/scale.py [--sizes 20000,100000,300000] [--shards 2] [--no-merge] [--num-proc N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, str(ROOT / "cli.py")]


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants now (MiB), from /proc; 0 for one that is gone."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            total += int(Path(f"/proc/{current}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total / 2**20


def run(args: list[str]) -> tuple[float, float, float]:
    """Seconds, peak RSS of the largest single process (MiB, the kernel's count) and peak RSS of the whole process
    tree (MiB, sampled every 0.2 s: the build and its --num-proc workers together) of one tracegen command."""
    env = {k: v for k, v in os.environ.items() if k != "TRACEGEN_NUM_PROC"} | {"HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    proc = subprocess.Popen(CLI + args, stdout=subprocess.DEVNULL, env=env)
    peak_tree = 0.0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak_tree = max(peak_tree, tree_rss_mib(proc.pid))
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"tracegen {' '.join(args)} failed with exit code {proc.returncode}")
    return seconds, usage.ru_maxrss / 1024, peak_tree  # Linux reports ru_maxrss in KiB


def rows_of(out: Path) -> int:
    return json.loads((out / "tracegen.json").read_text())["splits"]["train"]["rows"]


def build_args(size: int, out: Path, num_proc: int, *extra: str) -> list[str]:
    return [
        "build",
        "--recipe",
        "arith",
        "--set",
        f"source.num_problems={size}",
        "--out",
        str(out),
        "--num-proc",
        str(num_proc),
        *extra,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,100000,300000", help="comma-separated problem counts")
    parser.add_argument(
        "--shards", type=int, default=2, help="shard builds of the largest size, joined by tracegen merge"
    )
    parser.add_argument("--no-merge", action="store_true", help="skip the shard builds and the merge")
    parser.add_argument("--num-proc", type=int, default=1, help="tracegen build --num-proc (1: one process)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "scale.json")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))

    results, merge = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            out = Path(tmp) / f"arith-{size}"
            seconds, rss, tree = run(build_args(size, out, args.num_proc))
            rows = rows_of(out)
            results.append(
                {
                    "problems": size,
                    "rows": rows,
                    "seconds": round(seconds, 2),
                    "rows_per_second": round(rows / seconds, 1),
                    "peak_rss_mib": round(rss, 1),
                    "peak_tree_rss_mib": round(tree, 1),
                }
            )
            print(json.dumps(results[-1]), file=sys.stderr)  # one line per size: a stopped run still tells
            largest = out
        if not args.no_merge:
            shard_dirs = [Path(tmp) / f"shard-{i}" for i in range(args.shards)]
            shard_rss = [
                run(
                    build_args(
                        sizes[-1], shard, args.num_proc, "--num-shards", str(args.shards), "--shard-index", str(i)
                    )
                )[1]
                for i, shard in enumerate(shard_dirs)
            ]
            merged = Path(tmp) / "merged"
            seconds, rss, _ = run(["merge", *map(str, shard_dirs), "--out", str(merged)])
            same = all(
                (merged / f).read_bytes() == (largest / f).read_bytes()
                for f in [
                    "tracegen.json",
                    "README.md",
                    *json.loads((largest / "tracegen.json").read_text())["splits"]["train"]["files"],
                ]
            )
            merge = {
                "problems": sizes[-1],
                "shards": args.shards,
                "seconds": round(seconds, 2),
                "peak_rss_mib": round(rss, 1),
                "shard_build_peak_rss_mib": [round(r, 1) for r in shard_rss],
                "same_bytes_as_one_build": same,
            }

    speeds = [r["rows_per_second"] for r in results]
    result = {
        "benchmark": "scale",
        "recipe": "arith",
        "num_proc": args.num_proc,
        "sizes": results,
        "rows_per_second_spread": round(max(speeds) / min(speeds) - 1, 3),
        "peak_rss_ratio_largest_vs_smallest": round(results[-1]["peak_rss_mib"] / results[0]["peak_rss_mib"], 2),
        "peak_tree_rss_ratio_largest_vs_smallest": round(
            results[-1]["peak_tree_rss_mib"] / results[0]["peak_tree_rss_mib"], 2
        ),
        "merge": merge,
        "cpus": len(os.sched_getaffinity(0)),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
