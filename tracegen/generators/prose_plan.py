"""Placing prose rule deviations (tracegen.generators.prose) in solutions of any step split.

The same drawing as the GSM8K planner (tracegen.generators.planner.plan_deviations: steps by
`position`, generators in an order drawn by weight, `mid_step_fraction`, `detected_after`), over
the problem's own steps (`Problem.step_split`), with the prose verdict and carrying. A deviation's
text ends with the separator that followed its last step (a blank line for paragraph steps), unless
that step ends the solution.
"""

from __future__ import annotations

import random
from collections import Counter
from fractions import Fraction

from tracegen.generators.base import Deviation, DeviationPlan, WrongStep
from tracegen.generators.planner import draw_placement, first_verified, plan_at_steps
from tracegen.generators.registry import RuleGenerator, rule_generators
from tracegen.problem import Problem
from tracegen.prose_math import carry_values, numbers_outside_equations, read_equations
from tracegen.recipe import DeviationConfig
from tracegen.recipe_data import PROSE_PREFIX
from tracegen.stepsplit import split_with_separators


def uses_prose_rules(weights: dict[str, float]) -> bool:
    return any(name.startswith(PROSE_PREFIX) and weight > 0 for name, weight in weights.items())


def prose_verdict(gold: str, wrong: str) -> str | None:
    """How a rewritten step is shown wrong: "equation" (one that held turns false), "value" (a stated
    value changed), or None (neither: the rewrite is not a verified mistake)."""
    if wrong == gold:
        return None
    gold_equations, wrong_equations = read_equations(gold), read_equations(wrong)
    if len(gold_equations) == len(wrong_equations):
        for g, w in zip(gold_equations, wrong_equations):
            if g.checkable and g.holds() and w.checkable and not w.holds():
                return "equation"
    if value_changes(gold, wrong):
        return "value"
    return None


def value_changes(gold: str, wrong: str) -> dict[Fraction, Fraction]:
    """Values the wrong step states differently (old -> new): aligned numeric terms, then numbers outside equations."""
    pairs: list[tuple[Fraction | None, Fraction | None]] = []
    gold_equations, wrong_equations = read_equations(gold), read_equations(wrong)
    if len(gold_equations) == len(wrong_equations):
        for g, w in zip(gold_equations, wrong_equations):
            if len(g.terms) == len(w.terms):
                pairs += [(a.value, b.value) for a, b in zip(g.terms, w.terms)]
    gold_outside, wrong_outside = numbers_outside_equations(gold), numbers_outside_equations(wrong)
    if len(gold_outside) == len(wrong_outside):
        pairs += [(a, b) for (_, a), (_, b) in zip(gold_outside, wrong_outside)]
    return {old: new for old, new in pairs if old is not None and new is not None and old != new}


def plan_prose_deviations(problem: Problem, config: DeviationConfig, rng: random.Random) -> DeviationPlan:
    """Up to `config.per_trace` verified prose deviations at distinct steps; why others were dropped."""
    generators = rule_generators(config.generators)
    steps, separators = split_with_separators(problem.solution, problem.step_split)

    def deviation_at(index: int, dropped: Counter) -> Deviation | None:
        make, place = (
            (lambda generator: generator.make(problem, steps, index, rng)),
            (lambda generator, wrong: _place(steps, separators, index, generator, wrong, config, rng)),
        )
        return first_verified(
            generators,
            rng,
            dropped,
            make=make,
            verified=lambda wrong: prose_verdict(steps[index], wrong.text) is not None,
            place=place,
            unverified="unverified",
        )

    return plan_at_steps(len(steps), config, rng, deviation_at)


def _place(
    steps: list[str],
    separators: list[str],
    index: int,
    generator: RuleGenerator,
    wrong: WrongStep,
    config: DeviationConfig,
    rng: random.Random,
) -> Deviation | None:
    """The deviation's start in the step and its text, the wrong values carried k steps on."""
    after, start = draw_placement(steps[index], wrong, len(steps) - 1 - index, generator, config, rng)
    text = wrong.text
    changes = value_changes(steps[index], wrong.text)
    for k in range(index + 1, index + 1 + after):
        carried = carry_values(steps[k], changes) if changes else steps[k]
        if carried is None:
            return None
        changes |= value_changes(steps[k], carried)
        text += separators[k - 1] + carried
    last = index + after
    text = text[start:] + (separators[last] if last < len(steps) - 1 else "")
    return Deviation(generator.name, index, start, text, after, wrong.reason)
