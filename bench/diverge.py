"""`tracegen diverge` with the rule verifier on the whole shipped replay file (1,319 problems, 5,276
solutions), this tree vs a baseline git ref (default `main`) timed in the same run.

Each side runs in its own fresh process (the verifier's caches start empty, as in a user's run)
with `PYTHONPATH` on its source tree: the baseline's `tracegen/` is extracted with `git archive`.
Rounds alternate baseline/current; the median wall-clock seconds of `diverge()` (reading, matching,
judging, writing; no process start-up) is reported per side. It also counts the wrong solutions
whose first-error line differs between the two sides' outputs. Last line: JSON.

    .venv/bin/python bench/diverge.py [--baseline-ref main] [--rounds 3] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "gsm8k"
RUN = (
    "import sys, time\n"
    "from tracegen.verifiers.diverge import diverge\n"
    "start = time.perf_counter()\n"
    "report = diverge(sys.argv[1], sys.argv[2], sys.argv[3])\n"
    "print(time.perf_counter() - start, report.solutions, report.wrong)\n"
)


def extract(ref: str, into: Path) -> Path:
    """The `tracegen/` package of `ref`, written under `into`."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "tracegen"], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def timed(tree: Path, out: Path) -> tuple[float, int, int]:
    env = os.environ | {"PYTHONPATH": str(tree)}
    command = [
        sys.executable,
        "-c",
        RUN,
        str(DATA / "test.jsonl"),
        str(DATA / "example_model_solutions.jsonl"),
        str(out),
    ]
    done = subprocess.run(
        command, env=env, cwd=tree, capture_output=True, text=True, check=True
    )  # `-c` puts the working folder first on sys.path
    seconds, solutions, wrong = done.stdout.split()
    return float(seconds), int(solutions), int(wrong)


def first_error_lines(path: Path) -> dict[tuple[int, str], int]:
    return {(row["line"], row["model"]): row["first_error_step"] for row in map(json.loads, path.open())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-ref", default="main")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "diverge.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        baseline_tree = extract(args.baseline_ref, scratch / "baseline")
        sides = {"baseline": baseline_tree, "current": ROOT}
        seconds: dict[str, list[float]] = {name: [] for name in sides}
        for _ in range(args.rounds):
            for name, tree in sides.items():
                took, solutions, wrong = timed(tree, scratch / f"{name}.jsonl")
                seconds[name].append(took)
                print(f"{name}: {took:.2f}s for {solutions:,} solutions ({wrong:,} wrong)", file=sys.stderr)
        before, after = first_error_lines(scratch / "baseline.jsonl"), first_error_lines(scratch / "current.jsonl")
    median = {name: statistics.median(values) for name, values in seconds.items()}
    result = {
        "baseline_ref": args.baseline_ref,
        "solutions": solutions,
        "wrong": len(after),
        "seconds": {name: round(value, 3) for name, value in median.items()},
        "ms_per_solution": {name: round(1000 * value / solutions, 3) for name, value in median.items()},
        "ratio_vs_baseline": round(median["current"] / median["baseline"], 3),
        "first_error_line_changed": sum(before.get(key) != step for key, step in after.items()),
        "first_error_line_earlier": sum(key in before and step < before[key] for key, step in after.items()),
        "first_error_line_later": sum(key in before and step > before[key] for key, step in after.items()),
    }
    line = json.dumps(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
