"""The rollout verifier (Math-Shepherd style): a step is wrong when no continuation from it reaches
the gold answer.

For each prefix of the solution (steps 0..k, k over every step before the final line) the backend
samples `m` continuations; the first error is the first step k after which none of them reaches
the gold final answer. All prefixes go to the backend in one `run`, so a concurrent backend
samples them in parallel (m x steps samples per solution). The backend is any object with
`run(requests)` returning `tracegen.llm.base.Outcome`s in request order.

A prefix whose request failed (`Outcome.error`) is not blamed: it says nothing about the step.
It cannot tell what is wrong with a step, so its kind is `dead_end`; when every prefix still
reaches the gold answer the wrong answer is the conclusion's fault (`wrong_final`).
"""

from __future__ import annotations

from tracegen.llm.base import Request
from tracegen.verifiers.answers import WrongSolution, final_value, same_value
from tracegen.verifiers.base import Divergence
from tracegen.verifiers.calculations import plain


class RolloutVerifier:
    def __init__(self, backend, m: int = 4):
        if m < 1:
            raise ValueError(f"m (continuations per prefix) must be at least 1, got {m}")
        self.backend = backend
        self.m = m

    def first_error(self, question: str, gold: str, solution: str) -> Divergence | None:
        wrong = WrongSolution.of(gold, solution)
        if wrong is None:
            return None
        steps, body, final, answer, gold_answer = wrong.steps, wrong.body, wrong.final, wrong.answer, wrong.gold_answer
        prefixes = ["".join(step + "\n" for step in body[: k + 1]) for k in range(len(body))]
        requests = [
            Request(id=f"rollout@{k}", question=question, prefix=prefix, n=self.m) for k, prefix in enumerate(prefixes)
        ]
        outcomes = self.backend.run(requests) if requests else []
        for k, (prefix, outcome) in enumerate(zip(prefixes, outcomes)):
            if outcome.error is not None or not outcome.samples:
                continue
            reached = [final_value(prefix + sample.text) for sample in outcome.samples]
            if not any(value is not None and same_value(value, gold_answer) for value in reached):
                return Divergence(
                    k, "dead_end", f"none of {len(reached)} continuations after this step reaches {plain(gold_answer)}"
                )
        last = final if final is not None else len(steps) - 1
        return Divergence(
            last,
            "wrong_final",
            f"continuations from every step reach {plain(gold_answer)}, but it answers "
            f"{'nothing' if answer is None else plain(answer)}",
        )
