"""The weak solutions of every problem: requests -> model backend (cached) -> verifier.

This runs once, in the main process, before rows are built: model calls are I/O bound and
batched by the backend (concurrent, retried, cached), and a rollout verifier needs the backend
too. Rows are then built from the verdicts alone, in any number of processes.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tracegen.errors import InputError
from tracegen.generators.planner import step_weights
from tracegen.generators.weak_generic import generic_verdict, is_generic
from tracegen.generators.weak_solution import WeakSolution
from tracegen.llm.base import Backend, Outcome, Request
from tracegen.llm.factory import make_backend
from tracegen.problem import Problem
from tracegen.recipe import DeviationConfig
from tracegen.stepsplit import split_with_separators
from tracegen.verifiers.answers import answer_text
from tracegen.verifiers.base import Divergence, Verifier, first_errors
from tracegen.verifiers.registry import get_verifier


def gold_prefix(problem: Problem, config: DeviationConfig, seed: int) -> str:
    """Prefix mode: the gold steps the model is given before it writes its own (chosen by `position`)."""
    steps, separators = split_with_separators(problem.solution, problem.step_split)
    rng = random.Random(f"{seed}:{problem.source_id}:prefix")
    candidates = list(range(len(steps)))
    at = rng.choices(candidates, weights=step_weights(candidates, len(steps), config.position))[0]
    return "".join(step + separator for step, separator in zip(steps[:at], separators))


def requests_for(problems: Sequence[Problem], config: DeviationConfig, seed: int) -> list[Request]:
    weak = config.weak
    return [
        Request(
            id=problem.source_id,
            question=problem.question,
            prefix=gold_prefix(problem, config, seed) if weak.mode == "prefix" else "",
            n=weak.samples,
        )
        for problem in problems
    ]


def verifier_options(weak, backend: Backend) -> dict:
    """What the configured verifier is built with: the weak backend for rollouts, the critic's own backend for critic
    and ensemble."""
    if weak.verifier == "rollout":
        return {"backend": backend, "m": weak.rollouts}
    if weak.verifier in ("critic", "ensemble"):
        if weak.critic is None:
            raise InputError(
                f"verifier '{weak.verifier}' needs 'critic', the backend of its judge (kind, model, base_url, ...)",
                field="deviations.weak.critic",
            )
        return {"backend": make_backend(weak.critic)}
    return {}


def _verdicts(problem: Problem, outcome: Outcome, verifier: Verifier) -> list[WeakSolution]:
    if outcome.error is not None:
        return [WeakSolution(model="", text="", variant="", skip="weak:backend_error", note=outcome.error)]
    seen: Counter = Counter()
    verdicts = []
    for sample in outcome.samples:
        variant = f"{sample.model}:{seen[sample.model]}"
        seen[sample.model] += 1
        text = outcome.request.prefix + sample.text
        if is_generic(problem):
            verdicts.append(generic_verdict(problem, sample, text, variant, outcome.request.prefix))
            continue
        given = outcome.request.prefix.count("\n")
        lines = [i for i, line in enumerate(text.split("\n")) if line.strip()]
        if len(lines) <= given:
            verdicts.append(WeakSolution(sample.model, text, variant, skip="weak:empty_sample"))
            continue
        error = verifier.first_error(problem.question, problem.solution, text)
        if error is not None and error.step_index < given:
            verdicts.append(
                WeakSolution(sample.model, text, variant, skip="weak:error_in_gold_prefix", note=error.reason)
            )
            continue
        truncated = answer_text(text.split("\n")[lines[-1]]) is None
        if error is not None and truncated and error.step_index >= lines[-1]:
            verdicts.append(
                WeakSolution(
                    sample.model,
                    text,
                    variant,
                    skip="weak:truncated",
                    note="the sample stops mid-line; its first error is the cut line",
                )
            )
            continue
        verdicts.append(WeakSolution(sample.model, text, variant, error=error, given_steps=given))
    return verdicts


def collect_weak_solutions(
    problems: Sequence[Problem],
    config: DeviationConfig,
    seed: int,
    *,
    on_start: Callable[[int], None] = lambda total: None,
    on_advance: Callable[[int], None] = lambda n: None,
    backend: Backend | None = None,
) -> tuple[dict[str, list[WeakSolution]], Backend]:
    """Every problem's weak solutions with their verdicts, keyed by source_id; and the backend (for its stats).

    `backend` samples instead of the one the config names (the same config, calls made elsewhere: on
    a Ray cluster). Raises `tracegen.llm.base.BackendDown` when the server is unreachable; what was
    sampled before is in the response cache, so rerunning the build resumes.
    """
    backend = backend or make_backend(config.weak.backend)
    verifier = get_verifier(config.weak.verifier, **verifier_options(config.weak, backend))
    requests = requests_for(problems, config, seed)
    on_start(len(requests))
    outcomes = backend.run(requests, on_outcome=lambda outcome: on_advance(1))
    by_id = {problem.source_id: problem for problem in problems}
    if hasattr(
        verifier, "first_errors"
    ):  # critic, ensemble: judge every solution in one concurrent run, not one call at a time
        items = [
            (by_id[o.request.id].question, by_id[o.request.id].solution, o.request.prefix + sample.text)
            for o in outcomes
            if o.error is None
            for sample in o.samples
        ]
        verifier = _Judged(dict(zip(items, first_errors(verifier, items))))
    return {
        outcome.request.id: _verdicts(by_id[outcome.request.id], outcome, verifier) for outcome in outcomes
    }, backend


@dataclass(frozen=True)
class _Judged:
    """A verifier whose verdicts were all computed in one batch."""

    found: dict[tuple[str, str, str], Divergence | None]

    def first_error(self, question: str, gold: str, solution: str) -> Divergence | None:
        return self.found[(question, gold, solution)]
