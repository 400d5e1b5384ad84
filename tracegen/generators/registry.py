"""Rule generators in the one generator registry (`tracegen.stages.GENERATORS`): `RuleGenerator`, the `@rule`
decorator that registers one, and `rule_generators`, the rules a recipe's weights name.

A module of rules registers them when imported; `GENERATORS` imports the built-in ones (the GSM8K
rules and the prose rules) before its first lookup, so every rule is known wherever a name is."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from tracegen.generators.base import SolutionGenerator, StepGenerator, WrongStep
from tracegen.generators.calcs import is_final_step
from tracegen.problem import Problem
from tracegen.stages import GENERATORS

Make = Callable[[Problem, list[str], int, random.Random], "WrongStep | None"]


@dataclass(frozen=True)
class RuleGenerator:
    """A named rule that turns gold step `index` into a wrong step, or None if it cannot
    (a `tracegen.generators.base.StepGenerator`).

    `targets_final`: whether it also rewrites the final `#### x` step (a wrong final answer).
    `carries`: whether the wrong value may be carried into later steps (detected_after).
    """

    name: str
    make: Make
    targets_final: bool
    carries: bool

    def generate(self, problem: Problem, steps: list[str], index: int, rng: random.Random) -> WrongStep | None:
        if is_final_step(steps[index]) and not self.targets_final:
            return None
        return self.make(problem, steps, index, rng)


def rule(name: str, targets_final: bool = False, carries: bool = True) -> Callable[[Make], Make]:
    """Register a generator function in `GENERATORS` under `name`, as a `RuleGenerator`."""

    def register(make: Make) -> Make:
        GENERATORS.register(name, RuleGenerator(name, make, targets_final, carries))
        return make

    return register


def rule_generators(weights: dict[str, float]) -> list[tuple[StepGenerator, float]]:
    """The step generators with positive weight, in the recipe's order (those taking model solutions are planned
    apart, by tracegen.generators.plan)."""
    return [
        (generator, weight)
        for name, weight in weights.items()
        if weight > 0 and not isinstance(generator := GENERATORS.get(name), SolutionGenerator)
    ]
