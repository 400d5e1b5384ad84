"""Benchmark: the response cache (sqlite) vs the JSONL file read into a dict (before issue 16), at 1M entries.

Writes a cache of --entries responses (sha256 keys, texts of --text-chars characters) both ways,
then, each in a fresh process so its peak RSS is its own:
- `jsonl` (first, on the written file): what opening a cache cost before, every line parsed
  into a dict; then --lookups gets (half stored keys, half absent) and --puts appends (one
  `os.write` each);
- `import`: the one-time import of that JSONL into responses.sqlite (`ResponseCache(path.jsonl)`);
- `sqlite`: opening the imported database, the same gets through `ResponseCache.get`, the same
  puts (one commit each).
Headline: `open_ratio_sqlite_vs_jsonl` (seconds to open; lower is better) and
`peak_rss_ratio_sqlite_vs_jsonl`; lookups and puts per second each way.

Prints one JSON object on its last line and writes it to --out (default bench/results/cache.json).

    .venv/bin/python bench/cache.py [--entries 1000000] [--lookups 200000] [--puts 20000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tracegen.llm.cache import ResponseCache


def key(i: int) -> str:
    return hashlib.sha256(f"sample {i}".encode()).hexdigest()


def text(i: int, chars: int) -> str:
    words = f"Step {i}: 48 / 2 = 24 and 24 + 3 = 27, so the answer is {i % 97}. "
    return (words * (chars // len(words) + 1))[:chars]


def write_jsonl(path: Path, entries: int, chars: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        for i in range(entries):
            f.write(json.dumps({"key": key(i), "model": "weak-1", "text": text(i, chars)}, ensure_ascii=False) + "\n")


def probe_keys(entries: int, lookups: int) -> list[str]:
    draw = random.Random(0)
    return [key(draw.randrange(entries) if n % 2 == 0 else entries + n) for n in range(lookups)]


def role_jsonl(path: Path, entries: int, lookups: int, puts: int, chars: int) -> dict:
    started = time.perf_counter()
    with path.open("rb") as f:  # the loader tracegen had: every record into one dict
        texts = {}
        for raw in f.read().split(b"\n"):
            if raw.strip():
                record = json.loads(raw)
                texts[record["key"]] = record["text"]
    opened = time.perf_counter() - started
    probes = probe_keys(entries, lookups)
    started = time.perf_counter()
    hits = sum(texts.get(k) is not None for k in probes)
    looked = time.perf_counter() - started
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    started = time.perf_counter()
    for i in range(entries + lookups, entries + lookups + puts):
        line = json.dumps({"key": key(i), "model": "weak-1", "text": text(i, chars)}, ensure_ascii=False) + "\n"
        os.write(fd, line.encode())
        texts[key(i)] = text(i, chars)
    put = time.perf_counter() - started
    os.close(fd)
    return {"open_s": opened, "lookups_per_s": lookups / looked, "hits": hits, "puts_per_s": puts / put}


def role_import(path: Path) -> dict:
    started = time.perf_counter()
    cache = ResponseCache(path)
    seconds = time.perf_counter() - started
    return {"import_s": seconds, "entries": len(cache)}


def role_sqlite(path: Path, entries: int, lookups: int, puts: int, chars: int) -> dict:
    started = time.perf_counter()
    cache = ResponseCache(path)
    opened = time.perf_counter() - started
    probes = probe_keys(entries, lookups)
    started = time.perf_counter()
    hits = sum(cache.get(k) is not None for k in probes)
    looked = time.perf_counter() - started
    started = time.perf_counter()
    for i in range(entries + lookups + puts, entries + lookups + 2 * puts):  # keys the JSONL role did not append
        cache.put(key(i), "weak-1", text(i, chars))
    put = time.perf_counter() - started
    return {"open_s": opened, "lookups_per_s": lookups / looked, "hits": hits, "puts_per_s": puts / put}


def in_fresh_process(args: argparse.Namespace, role: str, path: Path) -> dict:
    """One role's result and its peak RSS (MiB), run in a new interpreter."""
    command = [sys.executable, __file__, "--role", role, "--path", str(path)]
    command += ["--entries", str(args.entries), "--lookups", str(args.lookups), "--puts", str(args.puts)]
    command += ["--text-chars", str(args.text_chars)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench/cache.py --role {role} failed")
    return json.loads(output.splitlines()[-1]) | {"peak_rss_mib": usage.ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=200_000)
    parser.add_argument("--puts", type=int, default=20_000)
    parser.add_argument("--text-chars", type=int, default=300, help="characters per response text")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "cache.json")
    parser.add_argument("--role", choices=("jsonl", "import", "sqlite"), help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "jsonl":
        print(json.dumps(role_jsonl(args.path, args.entries, args.lookups, args.puts, args.text_chars)))
        return
    if args.role == "import":
        print(json.dumps(role_import(args.path)))
        return
    if args.role == "sqlite":
        print(json.dumps(role_sqlite(args.path, args.entries, args.lookups, args.puts, args.text_chars)))
        return
    with tempfile.TemporaryDirectory() as scratch:
        legacy = Path(scratch) / "responses.jsonl"
        started = time.perf_counter()
        write_jsonl(legacy, args.entries, args.text_chars)
        written_s = time.perf_counter() - started
        jsonl = in_fresh_process(args, "jsonl", legacy)  # before the import: it appends to the file
        imported = in_fresh_process(args, "import", legacy)
        database = legacy.with_suffix(".sqlite")
        sizes = {"jsonl_mib": legacy.stat().st_size / 2**20, "sqlite_mib": database.stat().st_size / 2**20}
        sqlite = in_fresh_process(args, "sqlite", database)
    result = {
        "bench": "cache",
        "entries": args.entries,
        "text_chars": args.text_chars,
        "open_ratio_sqlite_vs_jsonl": sqlite["open_s"] / jsonl["open_s"],
        "peak_rss_ratio_sqlite_vs_jsonl": sqlite["peak_rss_mib"] / jsonl["peak_rss_mib"],
        "lookups_ratio_sqlite_vs_jsonl": sqlite["lookups_per_s"] / jsonl["lookups_per_s"],
        "puts_ratio_sqlite_vs_jsonl": sqlite["puts_per_s"] / jsonl["puts_per_s"],
        "jsonl": jsonl,
        "sqlite": sqlite,
        "import": imported,
        "files": sizes,
        "write_jsonl_s": written_s,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
