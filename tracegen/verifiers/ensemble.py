"""The ensemble verifier: the rule verifier, an LLM critic and (when configured) rollouts, combined.

Decision rule, for one wrong solution, with r the rule verifier's step (tracegen.verifiers.divergence),
c the step the critic names (None when it names none) and d the rollout verifier's `dead_end`
step (only with `rollout_backend`; None when every prefix still reaches the gold answer):

1. Hard evidence bounds the answer. When the rule verifier shows the step is wrong on its face
   (`false_annotation`: false arithmetic; `unsupported_value`: a number nothing justifies), the
   first error is at r or before it: c when the critic names an earlier step, else r.
2. Agreement wins. Otherwise a step named by two of the judges (r, c, d) is the answer.
3. Meaning over values. Otherwise c, when the critic names a step: a value-tracking rule cannot
   read what a step means (a true side fact, a value given to the wrong quantity), a judge can;
   else r.

The kind and reason are the rule verifier's when the answer is r, else `judged` (or `dead_end`
for a step only the rollouts name) with the critic's note. All critic requests of a batch go
to the backend in one run (`first_errors`), as do the rollouts of one solution.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from tracegen.verifiers.base import Divergence
from tracegen.verifiers.critic import CriticVerifier
from tracegen.verifiers.divergence import DivergenceVerifier
from tracegen.verifiers.rollout import RolloutVerifier

HARD_KINDS = ("false_annotation", "unsupported_value")


class EnsembleVerifier:
    """`backend`: the critic's backend; `votes`: critic samples per solution; `rollout_backend`, `m`: the optional
    rollouts."""

    def __init__(self, backend, votes: int = 1, reference: bool = True, rollout_backend=None, m: int = 4):
        self.rule = DivergenceVerifier()
        self.critic = CriticVerifier(backend, votes=votes, reference=reference)
        self.rollout = RolloutVerifier(rollout_backend, m=m) if rollout_backend is not None else None

    def first_error(self, question: str, gold: str, solution: str) -> Divergence | None:
        return self.first_errors([(question, gold, solution)])[0]

    def first_errors(self, items: Sequence[tuple[str, str, str]]) -> list[Divergence | None]:
        judgements = self.critic.judge(items)
        found = []
        for (question, gold, solution), judgement in zip(items, judgements):
            rule = self.rule.first_error(question, gold, solution)
            if rule is None:
                found.append(None)
                continue
            rollout = self.rollout.first_error(question, gold, solution) if self.rollout is not None else None
            dead_end = rollout.step_index if rollout is not None and rollout.kind == "dead_end" else None
            found.append(decide(rule, judgement.step, judgement.note, dead_end))
        return found

    def flag_steps(self, items: Sequence[tuple[str, str, str]]) -> list[int | None]:
        """The step the ensemble blames in each solution whatever its answer (None: none): the decision
        rule over what the rule verifier and the critic flag (rollouts are not asked about correct solutions)."""
        rules = self.rule.flag_steps(items)
        critics = self.critic.judge(items, every=True)
        flagged = []
        for rule, judgement in zip(rules, critics):
            if rule is None or judgement.step is None:
                flagged.append(judgement.step if rule is None else rule)
            else:
                flagged.append(min(rule, judgement.step))
        return flagged


def decide(rule: Divergence, critic: int | None, note: str, dead_end: int | None = None) -> Divergence:
    """The decision rule above: `rule` the rule verifier's finding, `critic` and `dead_end` steps or None."""
    judged = Divergence(critic, "judged", note) if critic is not None else None
    if rule.kind in HARD_KINDS:
        return judged if judged is not None and critic < rule.step_index else rule
    named = Counter(step for step in (rule.step_index, critic, dead_end) if step is not None)
    agreed = [step for step, count in named.items() if count >= 2]
    if agreed:
        step = agreed[0]
        if step == rule.step_index:
            return rule
        return (
            judged
            if step == critic
            else Divergence(step, "dead_end", "no rollout after this step reaches the gold answer")
        )
    return judged if judged is not None else rule
