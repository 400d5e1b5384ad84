"""Pre-sampled solutions replayed from JSONL (no model runs): `read_replay` and the `replay` backend.

The file is read as published (`example_model_solutions.jsonl`): each line has a `question` and, per
weak model, an object `{"is_correct": bool, "solution": str}` under the model's key. Any key whose
value is an object with a `solution` is a model; other keys (`ground_truth`, ...) are ignored.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tracegen.errors import InputError
from tracegen.llm.base import OnOutcome, Outcome, OutcomeLog, Request, Sample, check_requests, new_stats
from tracegen.sources.jsonl import read_jsonl_objects, require_str


@dataclass(frozen=True)
class ReplayRecord:
    line: int  # 0-based line in the file
    question: str
    solutions: dict[str, str]  # model key -> solution text, in file order


def read_replay(path: str | Path) -> Iterator[ReplayRecord]:
    """Yield one record per non-blank line; raise InputError naming file:line and field on bad input."""
    name = str(path)
    for number, obj in read_jsonl_objects(path):
        question = require_str(obj, "question", file=name, line=number)
        solutions = {}
        for key, value in obj.items():
            if isinstance(value, dict) and "solution" in value:
                solutions[key] = _solution(value, key, file=name, line=number)
        if not solutions:
            raise InputError("no model solutions (expected objects with a string 'solution')", file=name, line=number)
        yield ReplayRecord(line=number - 1, question=question.strip(), solutions=solutions)


class ReplayBackend:
    """Answers a whole-solution request with every model's solution to that question (correct or not:
    the verifier decides). Sample.index is the model's position in the file's line, whatever `models` keeps."""

    name = "replay"

    def __init__(self, path: str | Path, models: list[str] | None = None):
        self.path = str(path)
        self.stats = new_stats()
        self._by_question: dict[str, list[Sample]] = {}
        found: set[str] = set()
        for record in read_replay(path):
            found.update(record.solutions)
            samples = [
                Sample(model, text, index)
                for index, (model, text) in enumerate(record.solutions.items())
                if models is None or model in models
            ]
            self._by_question.setdefault(record.question, samples)
        unknown = [model for model in models or () if model not in found]
        if unknown:
            raise InputError(
                f"no solutions by {', '.join(unknown)} in {self.path} (it has {', '.join(sorted(found))})",
                field="models",
            )

    def run(self, requests: Sequence[Request], on_outcome: OnOutcome | None = None) -> list[Outcome]:
        check_requests(requests)
        log = OutcomeLog(requests, self.stats, on_outcome)
        for request in requests:
            log.finish(self._answer(request))
        return log.in_order()

    def _answer(self, request: Request) -> Outcome:
        if request.prefix:
            return Outcome(
                request, [], error="replay has no prefix-conditioned samples (use the openai or hf backend)"
            )
        samples = self._by_question.get(request.question.strip())
        if samples is None:
            return Outcome(request, [], error="question not in replay file")
        if not samples:
            return Outcome(request, [], error="replay file has no solution by the chosen models for this question")
        return Outcome(request, list(samples))


def _solution(value: dict, model: str, *, file: str, line: int) -> str:
    """The model's solution text; errors name the field as `model.solution`."""
    try:
        return require_str(value, "solution", file=file, line=line)
    except InputError as e:
        raise InputError(e.reason, file=file, line=line, field=f"{model}.solution") from None
