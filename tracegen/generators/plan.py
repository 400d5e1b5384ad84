"""One problem's deviations, drawn from rule generators and weak-model solutions by weight.

A trace carries either one weak-model deviation (a model's first real mistake; later ones
would follow a wrong prefix the trace never shows) or up to `per_trace` rule-made ones. The
family is drawn by weight: `weak`'s weight (of every generator taking model solutions,
tracegen.generators.base.SolutionGenerator) against the sum of all weights. A problem drawn for
`weak` that has no usable wrong solution falls back to the rules (counted as
`weak:no_usable_solution`) when the recipe has any.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from tracegen.generators.base import DeviationPlan, Skipped, SolutionGenerator, solution_generators
from tracegen.generators.planner import draw_detected_after, plan_deviations
from tracegen.generators.prose_plan import plan_prose_deviations, uses_prose_rules
from tracegen.generators.weak_solution import WeakSolution
from tracegen.problem import Problem
from tracegen.recipe import DeviationConfig
from tracegen.stages import GENERATORS


def solution_generator(from_models: dict[str, float], rng: random.Random) -> SolutionGenerator:
    """The generator taking model solutions for one trace: the only one (no draw), or one drawn by weight."""
    names = list(from_models)
    name = names[0] if len(names) == 1 else rng.choices(names, weights=list(from_models.values()))[0]
    return GENERATORS.get(name)


def plan_weak(
    problem: Problem,
    solutions: Sequence[WeakSolution],
    config: DeviationConfig,
    rng: random.Random,
    generator: SolutionGenerator,
) -> DeviationPlan:
    """The first usable wrong solution, in an order drawn at random, as `generator` places it; why the others were
    not used."""
    plan = DeviationPlan()
    order = list(solutions)
    rng.shuffle(order)
    detected_after = draw_detected_after(config, rng)
    for solution in order:
        deviation = generator.deviation(problem, solution, detected_after)
        if isinstance(deviation, Skipped):
            plan.dropped[deviation.reason] += 1
            continue
        plan.deviations = [deviation]
        return plan
    plan.dropped["weak:no_usable_solution"] += 1
    return plan


def plan_problem(
    problem: Problem, config: DeviationConfig, solutions: Sequence[WeakSolution], rng: random.Random
) -> DeviationPlan:
    weights = config.generators
    from_models = solution_generators(weights)
    weak_weight = sum(from_models.values())
    rule_weight = sum(w for name, w in weights.items() if name not in from_models)
    if weak_weight > 0 and rng.random() * (weak_weight + rule_weight) < weak_weight:
        plan = plan_weak(problem, solutions, config, rng, solution_generator(from_models, rng))
        if plan.deviations or rule_weight == 0:
            return plan
        fallback = plan_rules(problem, config, rng)
        fallback.dropped.update(plan.dropped)
        return fallback
    return plan_rules(problem, config, rng)


def plan_rules(problem: Problem, config: DeviationConfig, rng: random.Random) -> DeviationPlan:
    """Rule deviations: prose rules (any data) or calculator-annotation rules (GSM8K-shaped data); recipes never mix
    them."""
    if uses_prose_rules(config.generators):
        return plan_prose_deviations(problem, config, rng)
    return plan_deviations(problem, config, rng)
