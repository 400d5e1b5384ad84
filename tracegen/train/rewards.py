"""Rewards for GRPO on undo traces: pure functions of the decoded output.

A rollout is judged by what it *leaves* (the trace with every `<UNDO>` applied), so a mistake
taken back costs nothing but the undos themselves:
- `correct` when the output's final answer equals the gold answer (by value: `#### 1,000` = 1000),
- minus `undo_penalty` (lambda) per `<UNDO>` emitted, so undoing is worth it only when it fixes something,
- minus `unparseable_penalty` when the output states no numeric final answer at all,
- plus `process` times the process score: the share of the output's steps before the first wrong
  step the divergence verifier finds (1 when it finds none), a denser signal than the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from tracegen.steps import parse_number, split_steps
from tracegen.verifiers.answers import final_value, same_value


@dataclass(frozen=True)
class RewardWeights:
    correct: float = 1.0
    undo_penalty: float = 0.01
    unparseable_penalty: float = 0.5
    process: float = 0.0

    def __post_init__(self):
        if min(self.correct, self.undo_penalty, self.unparseable_penalty, self.process) < 0:
            raise ValueError("reward weights are magnitudes: none may be negative")


@dataclass(frozen=True)
class Reward:
    total: float
    correct: bool
    parsed: bool  # the output states a numeric final answer
    undos: int
    process: float | None  # None when the process reward is off


def answer_matches(text: str, gold_answer: str) -> bool | None:
    """Whether the final answer `text` states equals `gold_answer` by value; None when it states none."""
    gold = parse_number(gold_answer)
    if gold is None:
        raise ValueError(f"the gold answer {gold_answer!r} is not a number")
    stated = final_value(text)
    return None if stated is None else same_value(stated, gold)


def process_score(question: str, gold_solution: str, text: str) -> float:
    """The share of `text`'s steps before its first wrong one (divergence verifier); 1.0 when none is wrong."""
    from tracegen.verifiers.divergence import DivergenceVerifier

    divergence = DivergenceVerifier().first_error(question, gold_solution, text)
    if divergence is None:
        return 1.0
    return min(divergence.step_index / max(len(split_steps(text)), 1), 1.0)


def reward(
    text: str,
    undos: int,
    *,
    gold_answer: str,
    weights: RewardWeights = RewardWeights(),
    question: str | None = None,
    gold_solution: str | None = None,
) -> Reward:
    """The reward of one decoded output (`text`: the trace applied) that emitted `undos` `<UNDO>`s."""
    match = answer_matches(text, gold_answer)
    total = (
        weights.correct * bool(match) - weights.undo_penalty * undos - weights.unparseable_penalty * (match is None)
    )
    process = None
    if weights.process:
        if question is None or gold_solution is None:
            raise ValueError("the process reward needs the question and the gold solution")
        process = process_score(question, gold_solution, text)
        total += weights.process * process
    return Reward(total=total, correct=bool(match), parsed=match is not None, undos=undos, process=process)


def group_advantages(rewards: Tensor, eps: float = 1e-4) -> Tensor:
    """GRPO advantages: each reward minus its group's mean, over the group's standard deviation.

    `rewards` is [groups, samples per group]; a group whose samples all score the same gets 0.
    """
    if rewards.dim() != 2 or rewards.shape[1] < 2:
        raise ValueError("rewards must be [groups, samples] with at least two samples per group")
    centred = rewards - rewards.mean(1, keepdim=True)
    return centred / (rewards.std(1, keepdim=True) + eps)
