"""Sampling throughput through tracegen's openai backend vs a bare asyncio `openai` client.

Both send the same M requests (same rendered prompts and parameters) at the same concurrency to the
same loopback OpenAI-compatible server (tests/loopback_server.py, run in its own process, instant
canned replies). tracegen writes every sample to a fresh temporary response cache, as a user's build
does. Rounds alternate bare/tracegen; each side's median samples/s (wall clock) is reported, and the
same per client CPU-second, which other load on the machine barely moves. Last line: JSON.

    .venv/bin/python bench/weak_client.py [--requests 2000] [--concurrency 32] [--rounds 3] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openai

from tracegen.llm import prompts
from tracegen.llm.base import Request
from tracegen.llm.config import BackendConfig
from tracegen.llm.factory import make_backend

ROOT = Path(__file__).resolve().parents[1]
MODEL = "loopback"


def requests_for(count: int) -> list[Request]:
    return [Request(f"bench:{i}", f"Question {i}: what is 2 + 2?") for i in range(count)]


class Timed:
    """Wall-clock and this process's CPU seconds (the server runs elsewhere): CPU time barely moves with other load."""

    def __enter__(self) -> Timed:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def run_tracegen(base_url: str, requests: list[Request], concurrency: int, cache_dir: Path) -> Timed:
    cfg = BackendConfig(
        kind="openai",
        model=MODEL,
        base_url=base_url,
        concurrency=concurrency,
        cache=str(cache_dir / f"{time.monotonic_ns()}.jsonl"),
    )
    backend = make_backend(cfg)
    with Timed() as timed:
        outcomes = backend.run(requests)
    assert backend.stats["calls"] == len(requests) and all(o.samples for o in outcomes), backend.stats
    return timed


async def _bare(base_url: str, requests: list[Request], concurrency: int) -> int:
    cfg = BackendConfig(kind="openai", model=MODEL)  # the same sampling parameters as tracegen sends
    semaphore = asyncio.Semaphore(concurrency)
    async with openai.AsyncOpenAI(base_url=base_url, api_key="EMPTY", max_retries=0, timeout=cfg.timeout_s) as client:

        async def one(request: Request) -> int:
            async with semaphore:
                response = await client.chat.completions.create(
                    model=MODEL,
                    n=1,
                    temperature=cfg.temperature,
                    top_p=cfg.top_p,
                    max_tokens=cfg.max_tokens,
                    seed=cfg.seed,
                    **prompts.render(request, cfg.endpoint, cfg.prefill),
                )
                return len(response.choices)

        return sum(await asyncio.gather(*(one(request) for request in requests)))


def run_bare(base_url: str, requests: list[Request], concurrency: int) -> Timed:
    with Timed() as timed:
        samples = asyncio.run(_bare(base_url, requests, concurrency))
    assert samples == len(requests)
    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "weak_client.json")
    args = parser.parse_args()

    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "loopback_server.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = server.stdout.readline().strip()
        requests = requests_for(args.requests)
        bare, ours = [], []
        with tempfile.TemporaryDirectory() as cache_dir:
            run_bare(base_url, requests[:200], args.concurrency)  # warm up both sides
            run_tracegen(base_url, requests[:200], args.concurrency, Path(cache_dir))
            for _ in range(args.rounds):
                bare.append(run_bare(base_url, requests, args.concurrency))
                ours.append(run_tracegen(base_url, requests, args.concurrency, Path(cache_dir)))
    finally:
        server.stdin.close()
        server.wait(timeout=30)

    def per_s(runs: list[Timed], clock: str) -> float:
        return statistics.median(args.requests / getattr(run, clock) for run in runs)

    result = {
        "benchmark": "weak_client",
        "requests": args.requests,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "cache": "fresh temporary file per tracegen round (cache writes included)",
        "bare_samples_per_s": round(per_s(bare, "wall"), 1),
        "tracegen_samples_per_s": round(per_s(ours, "wall"), 1),
        "bare_rounds": [round(args.requests / run.wall, 1) for run in bare],
        "tracegen_rounds": [round(args.requests / run.wall, 1) for run in ours],
        "client_cpu_ratio_vs_bare": round(per_s(ours, "cpu") / per_s(bare, "cpu"), 3),  # samples per client CPU-second
        "ratio_vs_bare": round(per_s(ours, "wall") / per_s(bare, "wall"), 3),
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
