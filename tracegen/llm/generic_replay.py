"""Pre-sampled solutions in the generic format: one solution per line, matched to problems by id or question.

Each line: `{"id" or "question", "solution", "is_correct" (optional), "model" (optional)}`. `id` is the
dataset's own id (`source.fields.id`; without one, the line number the generic source gives a
problem). `is_correct`, when given, is the verdict (else the answer format decides). Lines of one
problem by one model are that model's samples, in file order. A file whose first line has a top-level
`solution` is read this way; any other is the published per-model format (tracegen.llm.replay).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tracegen.errors import InputError
from tracegen.llm.base import Outcome, Request, Sample, new_stats
from tracegen.llm.config import BackendConfig
from tracegen.llm.replay import ReplayBackend
from tracegen.sources.jsonl import read_jsonl_objects, require_str

DEFAULT_MODEL = "replay"


@dataclass(frozen=True)
class GenericRecord:
    line: int
    key: str | None  # the dataset id, as text
    question: str | None
    solution: str
    model: str
    is_correct: bool | None


def is_generic_replay(path: str | Path) -> bool:
    for _, obj in read_jsonl_objects(path):
        return isinstance(obj.get("solution"), str)
    return False


def read_generic_replay(path: str | Path) -> Iterator[GenericRecord]:
    name = str(path)
    for number, obj in read_jsonl_objects(path):
        solution = require_str(obj, "solution", file=name, line=number)
        key = obj.get("id")
        if key is not None and (isinstance(key, bool) or not isinstance(key, str | int)):
            raise InputError("expected a string or an integer", file=name, line=number, field="id")
        question = require_str(obj, "question", file=name, line=number) if key is None else obj.get("question")
        model = require_str(obj, "model", file=name, line=number) if "model" in obj else DEFAULT_MODEL
        is_correct = obj.get("is_correct")
        if is_correct is not None and not isinstance(is_correct, bool):
            raise InputError("expected true, false or null", file=name, line=number, field="is_correct")
        yield GenericRecord(
            number,
            None if key is None else str(key),
            question.strip() if isinstance(question, str) else None,
            solution,
            model,
            is_correct,
        )


class GenericReplayBackend(ReplayBackend):
    """Answers a whole-solution request with every solution the file has for its problem (by id, else by question)."""

    def __init__(self, path: str | Path, models: list[str] | None = None):  # noqa: D107 (reads its own format)
        self.path = str(path)
        self.stats = new_stats()
        self._by_id: dict[str, list[Sample]] = {}
        self._by_question: dict[str, list[Sample]] = {}
        found: set[str] = set()
        for record in read_generic_replay(path):
            found.add(record.model)
            if models is not None and record.model not in models:
                continue
            table, key = (self._by_id, record.key) if record.key is not None else (self._by_question, record.question)
            samples = table.setdefault(key, [])
            index = sum(s.model == record.model for s in samples)
            samples.append(Sample(record.model, record.solution, index, record.is_correct))
        unknown = [model for model in models or () if model not in found]
        if unknown:
            raise InputError(
                f"no solutions by {', '.join(unknown)} in {self.path} (it has {', '.join(sorted(found))})",
                field="models",
            )

    def _answer(self, request: Request) -> Outcome:
        samples = self._by_id.get(request.id.partition(":")[2])  # source ids are "<split>:<id>"
        if samples and not request.prefix:
            return Outcome(request, list(samples))
        return super()._answer(request)


def replay_backend(path: str | Path, models: list[str] | None = None) -> ReplayBackend:
    """The replay backend for the file's format."""
    if is_generic_replay(path):
        return GenericReplayBackend(path, models)
    return ReplayBackend(path, models=models)


def replay_from_config(cfg: BackendConfig) -> ReplayBackend:
    """The `replay` backend (tracegen.llm.base.BackendFactory): the file's solutions of the chosen models."""
    return replay_backend(cfg.replay, models=cfg.models)
