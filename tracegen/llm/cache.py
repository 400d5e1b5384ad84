"""Every model response, stored so an interrupted or repeated build makes no repeat calls.

A sqlite database (`responses.sqlite`, stdlib sqlite3) with one row per sample: `(key, model, text)`.
The key is the sha256 of the backend, the server (its URL without credentials or query: another
server with the same model name is another model), the model, rendered prompt, sampling parameters
and sample index. No API key or password goes into a key or a row, and `model` is the public name (a
local folder by name and config hash, tracegen.public).

Why sqlite and not a file read into a dict: a lookup is one indexed query, so opening a cache of
millions of responses costs milliseconds and no memory grows with it. Each sample is committed as it
arrives (a killed build keeps every finished one). WAL mode lets readers go on while one process
writes, and `busy_timeout` makes concurrent writers (several shard processes, a pool on one node)
wait for each other instead of failing; `INSERT OR IGNORE` keeps the first answer stored for a key,
so every process reads the same one. With `refresh_cache` the stored answers are not read and the
new ones replace them. WAL needs a local disk (not NFS): see the README's Slurm section.

A `responses.jsonl` next to the database (the format of earlier versions) is imported once, and
again only if it changed; it is left in place.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tracegen.errors import InputError
from tracegen.llm import prompts
from tracegen.llm.base import Outcome, OutcomeLog, Request, Sample
from tracegen.llm.config import BackendConfig

FILE_NAME = "responses.sqlite"
LEGACY_SUFFIX = ".jsonl"  # earlier versions' append-only file, imported once
BUSY_TIMEOUT_MS = 120_000  # how long a writer waits for another process's transaction before failing
IMPORT_BATCH = 10_000  # legacy records per executemany: bounded memory for a file of millions

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, model TEXT NOT NULL, text TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def default_cache_path() -> Path:
    root = os.environ.get("TRACEGEN_CACHE_DIR") or Path.home() / ".cache" / "tracegen"
    return Path(root) / FILE_NAME


def sample_key(backend: str, server: str | None, model: str, prompt: dict, sampling: dict, index: int) -> str:
    identity = {
        "backend": backend,
        "server": server,
        "model": model,
        "prompt": prompt,
        "sampling": sampling,
        "index": index,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass
class CachedRequest:
    """One request as a backend works on it: its rendered prompt, each sample's cache key, and the texts
    so far as the model wrote them (cached raw, so a change to `prompts.clean` applies to old responses).
    `refresh`: asked again whatever is stored, and the new texts replace the stored ones."""

    request: Request
    rendered: dict
    keys: list[str]
    texts: dict[int, str] = field(default_factory=dict)
    refresh: bool = False

    def missing(self) -> list[int]:
        return [index for index in range(self.request.n) if index not in self.texts]

    def outcome(self, model: str) -> Outcome:
        return Outcome(
            self.request,
            [Sample(model, prompts.clean(self.request, self.texts[index]), index) for index in range(self.request.n)],
        )


def cached_request(backend: str, cfg: BackendConfig, request: Request) -> CachedRequest:
    """The request rendered for `cfg`, with its samples' cache keys and nothing filled in yet."""
    rendered = prompts.render(request, cfg.endpoint, cfg.prefill)
    keys = [
        sample_key(backend, cfg.server(), cfg.model, rendered, cfg.sampling(), index) for index in range(request.n)
    ]
    return CachedRequest(request, rendered, keys, refresh=cfg.refresh_cache)


class ResponseCache:
    """The response store at `path` (a `.jsonl` path names the `.sqlite` beside it, importing the file)."""

    def __init__(self, path: str | Path):
        given = Path(path)
        if given.is_dir():
            raise InputError("is a directory, expected the response cache file", file=str(given), field="cache")
        self.path = given.with_suffix(".sqlite") if given.suffix == LEGACY_SUFFIX else given
        self.damaged = 0  # legacy lines skipped on import: torn by a kill mid-write
        self._lock = threading.Lock()  # one connection, usable from any thread of the process
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(
                f"cannot create the response cache's folder ({e.strerror})", file=str(self.path)
            ) from None
        self._db = _connect(self.path)
        legacy = self.path.with_suffix(LEGACY_SUFFIX)
        if legacy.is_file():
            self._import(legacy)

    @classmethod
    def open(cls, path: str | Path | None) -> ResponseCache:
        return cls(default_cache_path() if path is None else path)

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM responses").fetchone()[0]

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT text FROM responses WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def lookup(self, backend: str, cfg: BackendConfig, request: Request) -> CachedRequest:
        """The request, rendered for `cfg`, with every sample already in the cache filled in."""
        job = cached_request(backend, cfg, request)
        if job.refresh:
            return job
        marks = ",".join("?" * len(job.keys))
        with self._lock:
            found = dict(self._db.execute(f"SELECT key, text FROM responses WHERE key IN ({marks})", job.keys))
        job.texts.update({index: found[key] for index, key in enumerate(job.keys) if key in found})
        return job

    def unanswered(
        self, backend: str, cfg: BackendConfig, requests: Sequence[Request], log: OutcomeLog, model: str
    ) -> list[CachedRequest]:
        """Look every request up: finish in `log` those the cache answers in full (counting its hits) and return
        the others, their stored samples filled in."""
        pending = []
        for request in requests:
            job = self.lookup(backend, cfg, request)
            log.stats["cache_hits"] += len(job.texts)
            if job.missing():
                pending.append(job)
            else:
                log.finish(job.outcome(model))
        return pending

    def put(self, key: str, model: str, text: str, *, replace: bool = False) -> None:
        """Store one sample, committed at once; an answer already stored wins unless `replace`."""
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        with self._lock, self._db:
            self._db.execute(f"{verb} INTO responses (key, model, text) VALUES (?, ?, ?)", (key, model, text))

    def store(self, job: CachedRequest, index: int, model: str, text: str) -> None:
        """A sample of `job` as it arrives: stored (replacing the old answer when the job refreshes) and filled in."""
        self.put(job.keys[index], model, text, replace=job.refresh)
        job.texts[index] = text

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _import(self, legacy: Path) -> None:
        """Copy the records of an earlier version's JSONL cache in, once per version of that file.

        Within the file a later record of a key (a refresh) wins, as it did on load; an answer the
        database already holds wins over the file. Damaged lines (a kill mid-write) are skipped and
        counted; a file that is no cache at all is refused."""
        stat = legacy.stat()
        stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")  # one importer at a time; the others then see the stamp
            seen = self._db.execute("SELECT value FROM meta WHERE name = 'imported_jsonl'").fetchone()
            if seen is not None and seen[0] == stamp:
                return
            self._db.execute("CREATE TEMP TABLE legacy (key TEXT PRIMARY KEY, model TEXT, text TEXT) WITHOUT ROWID")
            batch = []
            for record in self._legacy_records(legacy):
                batch.append(record)
                if len(batch) == IMPORT_BATCH:
                    self._db.executemany("INSERT OR REPLACE INTO legacy VALUES (?, ?, ?)", batch)
                    batch = []
            self._db.executemany("INSERT OR REPLACE INTO legacy VALUES (?, ?, ?)", batch)
            self._db.execute("INSERT OR IGNORE INTO responses SELECT key, model, text FROM legacy")
            self._db.execute("DROP TABLE legacy")
            self._db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('imported_jsonl', ?)", (stamp,))

    def _legacy_records(self, legacy: Path) -> Iterator[tuple[str, str, str]]:
        first_damaged = False
        with legacy.open("rb") as f:
            for number, raw in enumerate((line for line in f if line.strip()), start=1):
                if number == 2 and first_damaged:
                    raise InputError(
                        "not a response cache (first line is no cache record)", file=str(legacy), line=1, field="cache"
                    )
                try:
                    record = json.loads(raw)
                    yield record["key"], record.get("model", ""), record["text"]
                except (ValueError, KeyError, TypeError, AttributeError):
                    first_damaged = number == 1
                    self.damaged += 1


def _connect(path: Path) -> sqlite3.Connection:
    """A connection in WAL mode that waits for other writers; refuses a file that is not a database."""
    try:
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")  # in WAL: a commit survives a killed process, fsync per checkpoint
        db.executescript(SCHEMA)
    except sqlite3.OperationalError as e:  # unreadable, read-only, locked past the timeout
        raise InputError(f"cannot open the response cache ({e})", file=str(path), field="cache") from None
    except sqlite3.DatabaseError as e:
        raise InputError(f"not a response cache ({e})", file=str(path), field="cache") from None
    return db
