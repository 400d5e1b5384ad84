"""Every model response, stored so an interrupted or repeated build makes no repeat calls.

An append-only JSONL file, one record per sample: `{"key", "model", "text"}`. The key is the sha256 of
the backend, the server (its URL without credentials or query: another server with the same model
name is another model), the model, rendered prompt, sampling parameters and sample index. No API
key or password goes into a key or a record, and `model` is the public name (a local folder by
name and config hash, tracegen.public). With `refresh_cache` the stored answers are not read, and
the new ones, appended, win on every later load. Each record is one `os.write` on a file opened with O_APPEND, so a
killed build keeps
every finished sample and several processes can append to one file; a torn last line (a build killed
mid-write) is skipped on load and closed off before the next append.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from tracegen.errors import InputError
from tracegen.llm import prompts
from tracegen.llm.base import Outcome, Request, Sample
from tracegen.llm.config import BackendConfig

FILE_NAME = "responses.jsonl"


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
    so far as the model wrote them (cached raw, so a change to `prompts.clean` applies to old responses)."""

    request: Request
    rendered: dict
    keys: list[str]
    texts: dict[int, str] = field(default_factory=dict)

    def missing(self) -> list[int]:
        return [index for index in range(self.request.n) if index not in self.texts]

    def outcome(self, model: str) -> Outcome:
        return Outcome(
            self.request,
            [Sample(model, prompts.clean(self.request, self.texts[index]), index) for index in range(self.request.n)],
        )


class ResponseCache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._texts: dict[str, str] = {}
        self._fd: int | None = None
        self.damaged = 0  # lines skipped on load: torn by a kill mid-write, asked for again
        if self.path.is_dir():
            raise InputError("is a directory, expected the response cache file", file=str(self.path), field="cache")
        if self.path.exists():
            self._load()

    @classmethod
    def open(cls, path: str | Path | None) -> ResponseCache:
        return cls(default_cache_path() if path is None else path)

    def __len__(self) -> int:
        return len(self._texts)

    def get(self, key: str) -> str | None:
        return self._texts.get(key)

    def lookup(self, backend: str, cfg: BackendConfig, request: Request) -> CachedRequest:
        """The request, rendered for `cfg`, with every sample already in the cache filled in."""
        rendered = prompts.render(request, cfg.endpoint, cfg.prefill)
        keys = [
            sample_key(backend, cfg.server(), cfg.model, rendered, cfg.sampling(), index) for index in range(request.n)
        ]
        job = CachedRequest(request, rendered, keys)
        if cfg.refresh_cache:
            return job
        for index, key in enumerate(keys):
            text = self._texts.get(key)
            if text is not None:
                job.texts[index] = text
        return job

    def put(self, key: str, model: str, text: str) -> None:
        line = json.dumps({"key": key, "model": model, "text": text}, ensure_ascii=False) + "\n"
        os.write(self._writer(), line.encode())
        self._texts[key] = text

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _writer(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            if _ends_torn(self.path):
                os.write(self._fd, b"\n")
        return self._fd

    def _load(self) -> None:
        """Read every record; skip damaged lines (a kill mid-write), but refuse a file that is no cache at all."""
        with self.path.open("rb") as f:
            lines = [raw for raw in f.read().split(b"\n") if raw.strip()]
        for number, raw in enumerate(lines):
            try:
                record = json.loads(raw)
                self._texts[record["key"]] = record["text"]
            except (ValueError, KeyError, TypeError):
                if number == 0 and len(lines) > 1:
                    raise InputError(
                        "not a response cache (first line is no cache record)",
                        file=str(self.path),
                        line=1,
                        field="cache",
                    ) from None
                self.damaged += 1


def _ends_torn(path: Path) -> bool:
    size = path.stat().st_size
    if size == 0:
        return False
    with path.open("rb") as f:
        f.seek(size - 1)
        return f.read(1) != b"\n"
