"""What a deviation generator is (the two protocols a recipe's generator names are looked up as) and what
it produces: a text-level plan of one mistake.

The trace core (tracegen.trace) turns plans into tokens; generators never see tokens.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from tracegen.problem import Problem
from tracegen.stages import GENERATORS

if TYPE_CHECKING:
    from tracegen.generators.weak_solution import WeakSolution


@dataclass(frozen=True)
class Deviation:
    """One mistake, placed in a gold solution.

    The deviation starts at character `start_in_step` of gold step `step_index` (the text of the
    step before that point is shared with the gold step). `text` is what the model writes from
    there on: the rest of the wrong step and, when `detected_after` = k > 0, the k following
    steps carrying the wrong value. `text` ends with "\\n" unless its last step is the solution's
    final step. `reason` says in a few words what is wrong (for humans and the card).
    `weak_solution` is the whole solution a weak model wrote, for deviations taken from one.
    """

    kind: str
    step_index: int
    start_in_step: int
    text: str
    detected_after: int = 0
    reason: str = ""
    weak_solution: str = ""


@dataclass
class DeviationPlan:
    """The deviations chosen for one problem (sorted by step, at most one per step) and why others were dropped."""

    deviations: list[Deviation] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)


@dataclass(frozen=True)
class WrongStep:
    """A wrong version of a gold step, and what is wrong with it."""

    text: str
    reason: str


@dataclass(frozen=True)
class Skipped:
    """Why a model's solution gives no deviation (counted in the card as `reason`, e.g. `weak:same_as_gold`)."""

    reason: str


class StepGenerator(Protocol):
    """A rule: a wrong version of one gold step, verified and placed by tracegen.generators.planner.

    `targets_final`: whether it also rewrites the final `#### x` step; `carries`: whether the wrong
    value may be carried into later steps (`detected_after`). `@rule` (tracegen.generators.registry)
    makes one from a function.
    """

    name: str
    targets_final: bool
    carries: bool

    def generate(self, problem: Problem, steps: list[str], index: int, rng: random.Random) -> WrongStep | None: ...


@runtime_checkable
class SolutionGenerator(Protocol):
    """Deviations taken from whole solutions a model wrote (the `weak` generator): naming one makes the build
    sample solutions first (the recipe's `deviations.weak`), and a trace carries at most one such deviation."""

    name: str

    def deviation(self, problem: Problem, solution: WeakSolution, detected_after: int) -> Deviation | Skipped: ...


def solution_generators(weights: dict[str, float]) -> dict[str, float]:
    """The generators with positive weight that take model solutions, with their weights."""
    return {
        name: weight
        for name, weight in weights.items()
        if weight > 0 and isinstance(GENERATORS.get(name), SolutionGenerator)
    }
