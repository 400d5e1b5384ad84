"""The rollout verifier against a fake backend: no network, no model."""

import pytest

from tracegen.llm.base import Outcome, Request, Sample
from tracegen.verifiers.registry import get_verifier

QUESTION = "Janet has 16 eggs, eats 3 and bakes with 4. She sells the rest at $2. How much does she make?"
GOLD = "She sells 16 - 3 - 4 = <<16-3-4=9>>9 eggs.\nShe makes 9 * 2 = $<<9*2=18>>18.\n#### 18"
WRONG = "She has 16 eggs.\nShe sells 16 - 3 = <<16-3=13>>13 eggs.\nShe makes 13 * 2 = $<<13*2=26>>26.\nA: 26"


class FakeBackend:
    """Continues a prefix with the right answer while it has at most `good_steps` steps; can fail some prefixes."""

    def __init__(self, good_steps: int, failing: frozenset[int] = frozenset()):
        self.good_steps = good_steps
        self.failing = failing
        self.requests: list[Request] = []

    def run(self, requests, on_outcome=None):
        self.requests.extend(requests)
        outcomes = []
        for request in requests:
            steps = request.prefix.count("\n")
            if steps - 1 in self.failing:
                outcomes.append(Outcome(request, [], error="timed out"))
                continue
            answer = 18 if steps <= self.good_steps else 26
            # one continuation in m reaching the gold answer is enough for a step to be right
            texts = [f"So she makes ${answer}.\nA: {answer}"] + ["A: 7"] * (request.n - 1)
            outcomes.append(Outcome(request, [Sample("fake", text, i) for i, text in enumerate(texts)]))
        return outcomes


def test_first_step_after_which_no_continuation_reaches_the_gold_answer():
    backend = FakeBackend(good_steps=1)
    found = get_verifier("rollout", backend=backend, m=3).first_error(QUESTION, GOLD, WRONG)
    assert (found.step_index, found.kind) == (1, "dead_end")
    assert "none of 3 continuations" in found.reason
    # one request per step before the final line, each with its prefix of whole lines
    assert [r.prefix for r in backend.requests] == [
        "She has 16 eggs.\n",
        "She has 16 eggs.\nShe sells 16 - 3 = <<16-3=13>>13 eggs.\n",
        "\n".join(WRONG.split("\n")[:3]) + "\n",
    ]
    assert {(r.question, r.n) for r in backend.requests} == {(QUESTION, 3)}
    assert len({r.id for r in backend.requests}) == 3


def test_a_correct_solution_needs_no_rollouts():
    backend = FakeBackend(good_steps=0)
    assert (
        get_verifier("rollout", backend=backend, m=2).first_error(QUESTION, GOLD, GOLD.replace("####", "A:")) is None
    )
    assert backend.requests == []


def test_when_every_prefix_still_reaches_gold_the_conclusion_is_wrong():
    found = get_verifier("rollout", backend=FakeBackend(good_steps=10), m=2).first_error(QUESTION, GOLD, WRONG)
    assert (found.step_index, found.kind) == (3, "wrong_final")


def test_a_failed_request_does_not_blame_its_step():
    found = get_verifier("rollout", backend=FakeBackend(good_steps=0, failing=frozenset({0})), m=2).first_error(
        QUESTION, GOLD, WRONG
    )
    assert (found.step_index, found.kind) == (1, "dead_end")


def test_m_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        get_verifier("rollout", backend=FakeBackend(good_steps=0), m=0)
