"""The rule-generator registry: `RuleGenerator`, `RULES` and the `@rule` decorator that fills it.

A module of rules registers them when imported; tracegen.generators.catalog imports every one
(the GSM8K rules and the prose rules), so `RULES` is complete wherever it is imported from there."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from tracegen.generators.calcs import is_final_step
from tracegen.problem import Problem


@dataclass(frozen=True)
class WrongStep:
    """A wrong version of a gold step, and what is wrong with it."""

    text: str
    reason: str


Make = Callable[[Problem, list[str], int, random.Random], "WrongStep | None"]


@dataclass(frozen=True)
class RuleGenerator:
    """A named rule that turns gold step `index` into a wrong step, or None if it cannot.

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


RULES: dict[str, RuleGenerator] = {}


def rule(name: str, targets_final: bool = False, carries: bool = True) -> Callable[[Make], Make]:
    """Register a generator function in RULES under `name`."""

    def register(make: Make) -> Make:
        RULES[name] = RuleGenerator(name, make, targets_final, carries)
        return make

    return register
