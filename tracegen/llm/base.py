"""The one interface every model backend implements: requests in, outcomes out, in request order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tracegen.llm.config import BackendConfig


@dataclass(frozen=True)
class Request:
    id: str  # the caller's key, unique within one run (e.g. "test:17" or "test:17@step2")
    question: str
    prefix: str = ""  # gold solution text already written; "" = sample a whole solution
    n: int = 1  # samples wanted
    # "solve": question is a problem to solve; "judge": question is the whole prompt of another task (a critic's), sent
    # as is
    task: str = "solve"


@dataclass(frozen=True)
class Sample:
    model: str  # who wrote it: the model name (openai, hf) or the solution key (replay)
    text: str  # the whole solution (prefix "") or the continuation after the prefix
    index: int  # sample index 0..n-1 (replay: position among the file's models)
    # a verdict the source states (generic replay's is_correct); None: the verifier decides
    correct: bool | None = None


@dataclass
class Outcome:
    request: Request
    samples: list[Sample]
    error: str | None = None  # one-line reason when the request failed for good; samples are then []


class BackendDown(Exception):
    """The server stopped answering, or refuses every request: the build stops instead of failing every item.

    `failures` are the requests that had failed for good when it stopped, for the caller to list.
    """

    def __init__(self, message: str, failures: Sequence[Outcome] = ()):
        super().__init__(message)
        self.failures = list(failures)


OnOutcome = Callable[[Outcome], None]


class Backend(Protocol):
    name: str
    # calls: model calls made (openai: HTTP requests, retries included; hf: sequences generated; replay: 0),
    # cache_hits and samples: samples; retries: calls repeated; failures: requests that ended with an error
    stats: dict

    def run(self, requests: Sequence[Request], on_outcome: OnOutcome | None = None) -> list[Outcome]:
        """Outcomes in request order; `on_outcome` is called as each one finishes."""
        ...


class BackendFactory(Protocol):
    """What a registered backend is (tracegen.stages.BACKENDS): a recipe's `backend:` section in, a backend out.
    Sampling settings a backend cannot honour should be refused here, as one-line `InputError`s."""

    def __call__(self, cfg: BackendConfig) -> Backend: ...


def new_stats() -> dict:
    return {"calls": 0, "cache_hits": 0, "retries": 0, "failures": 0, "samples": 0}


def check_requests(requests: Sequence[Request]) -> None:
    """Reject what is a caller's bug, not a model's failure: duplicate ids, n < 1."""
    seen: set[str] = set()
    for request in requests:
        if request.id in seen:
            raise ValueError(f"duplicate request id {request.id!r}")
        if request.n < 1:
            raise ValueError(f"request {request.id!r}: n must be at least 1, got {request.n}")
        seen.add(request.id)


@dataclass
class OutcomeLog:
    """Collects outcomes as they finish, counts them into stats, and returns them in request order."""

    requests: Sequence[Request]
    stats: dict
    on_outcome: OnOutcome | None = None
    _done: dict[str, Outcome] = field(default_factory=dict)

    def finish(self, outcome: Outcome) -> None:
        if outcome.error is not None:
            self.stats["failures"] += 1
        self.stats["samples"] += len(outcome.samples)
        self._done[outcome.request.id] = outcome
        if self.on_outcome is not None:
            self.on_outcome(outcome)

    def failures(self) -> list[Outcome]:
        """The outcomes that failed, so far, in request order."""
        return [
            outcome
            for request in self.requests
            if (outcome := self._done.get(request.id)) is not None and outcome.error is not None
        ]

    def in_order(self) -> list[Outcome]:
        return [self._done[request.id] for request in self.requests]
