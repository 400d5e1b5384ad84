"""The rule planner: which steps of a problem get deviations, which generator makes each, and how far
the wrong value is carried. The weak path (tracegen.generators.plan, sampling) draws with the same
helpers (`step_weights`, `draw_detected_after`)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

from tracegen.generators.base import Deviation, DeviationPlan, StepGenerator, WrongStep
from tracegen.generators.calcs import OperatorStyle
from tracegen.generators.registry import rule_generators
from tracegen.generators.rewrite import carry
from tracegen.generators.verify import is_wrong, value_changes
from tracegen.problem import Problem
from tracegen.recipe import DeviationConfig
from tracegen.steps import split_steps


def _token_char(text: str, i: int) -> bool:
    """Whether text[i] belongs to a word or number (a `.` before a digit does, a `,` between digits)."""
    if not 0 <= i < len(text):
        return False
    char = text[i]
    if char.isalnum():
        return True
    before_digit = text[i + 1 : i + 2].isdigit()
    return (char == "." and before_digit) or (char == "," and before_digit and i > 0 and text[i - 1].isdigit())


def divergence(gold: str, wrong: str) -> int:
    """Where `wrong` leaves `gold`, moved back to the start of the word or number it falls in."""
    i = next((k for k, (a, b) in enumerate(zip(gold, wrong)) if a != b), min(len(gold), len(wrong)))
    while (
        i > 0
        and (_token_char(gold, i) or _token_char(wrong, i))
        and (_token_char(gold, i - 1) or _token_char(wrong, i - 1))
    ):
        i -= 1
    if (
        i > 0
        and gold[i - 1] == "-"
        and wrong[i : i + 1].isdigit()
        and not (i > 1 and (gold[i - 2].isalnum() or gold[i - 2] == ")"))
    ):
        i -= 1  # a sign belongs to its number
    return i


def _weighted_order(generators: list[tuple[StepGenerator, float]], rng: random.Random) -> list[StepGenerator]:
    """All generators, in an order drawn by weight without replacement."""
    pool = list(generators)
    order = []
    while pool:
        pick = rng.choices(range(len(pool)), weights=[w for _, w in pool])[0]
        order.append(pool.pop(pick)[0])
    return order


def step_weights(candidates: list[int], count: int, position: str) -> list[float]:
    if position == "early":
        return [count - i for i in candidates]
    if position == "late":
        return [i + 1 for i in candidates]
    return [1.0] * len(candidates)


def draw_detected_after(config: DeviationConfig, rng: random.Random) -> int:
    return rng.choice(config.detected_after) if isinstance(config.detected_after, list) else config.detected_after


def plan_deviations(problem: Problem, config: DeviationConfig, rng: random.Random) -> DeviationPlan:
    """Choose up to `config.per_trace` verified deviations for a problem, at distinct steps.

    Steps are drawn without replacement with weights by `config.position` (uniform; early:
    n - i; late: i + 1, for step i of n). At each, every generator is tried once, in an order
    drawn by weight, until one gives a step that `is_wrong` confirms; steps where none does are
    set aside. `plan.dropped` counts accidentally correct rewrites (`<kind>:accidentally_correct`),
    values that could not be carried (`<kind>:cannot_carry`) and deviations wanted but not found
    (`no_applicable_step`, one per missing deviation).
    """
    generators = rule_generators(config.generators)
    steps = split_steps(problem.solution)

    def deviation_at(index: int, dropped: Counter) -> Deviation | None:
        make, place = (
            (lambda generator: generator.generate(problem, steps, index, rng)),
            (lambda generator, wrong: _place(steps, index, generator, wrong, config, rng)),
        )
        return first_verified(
            generators,
            rng,
            dropped,
            make=make,
            verified=lambda wrong: is_wrong(steps[index], wrong.text),
            place=place,
            unverified="accidentally_correct",
        )

    return plan_at_steps(len(steps), config, rng, deviation_at)


def plan_at_steps(
    count: int, config: DeviationConfig, rng: random.Random, deviation_at: Callable[[int, Counter], Deviation | None]
) -> DeviationPlan:
    """Up to `config.per_trace` deviations at distinct steps of `count`, drawn by `config.position`;
    `deviation_at(index, dropped)` gives one at a step, or None (counting why in `dropped`)."""
    plan = DeviationPlan()
    wanted = min(config.per_trace, count)
    candidates = list(range(count))
    chosen: list[Deviation] = []
    while len(chosen) < wanted and candidates:
        index = rng.choices(candidates, weights=step_weights(candidates, count, config.position))[0]
        candidates.remove(index)
        deviation = deviation_at(index, plan.dropped)
        if deviation is not None:
            chosen.append(deviation)
    if len(chosen) < wanted:
        plan.dropped["no_applicable_step"] += wanted - len(chosen)
    plan.deviations = sorted(chosen, key=lambda d: d.step_index)
    return plan


def first_verified(
    generators: list[tuple[StepGenerator, float]],
    rng: random.Random,
    dropped: Counter,
    *,
    make: Callable[[StepGenerator], WrongStep | None],
    verified: Callable[[WrongStep], bool],
    place: Callable[[StepGenerator, WrongStep], Deviation | None],
    unverified: str,
) -> Deviation | None:
    """The first generator, in an order drawn by weight, whose wrong step is verified and placed;
    `<kind>:<unverified>` and `<kind>:cannot_carry` count the others."""
    for generator in _weighted_order(generators, rng):
        wrong = make(generator)
        if wrong is None:
            continue
        if not verified(wrong):
            dropped[f"{generator.name}:{unverified}"] += 1
            continue
        deviation = place(generator, wrong)
        if deviation is None:
            dropped[f"{generator.name}:cannot_carry"] += 1
            continue
        return deviation
    return None


def draw_placement(
    gold: str,
    wrong: WrongStep,
    steps_after: int,
    generator: StepGenerator,
    config: DeviationConfig,
    rng: random.Random,
) -> tuple[int, int]:
    """(steps the wrong value is carried, where in the step the deviation starts), drawn by the recipe."""
    wanted = draw_detected_after(config, rng)
    after = min(wanted, steps_after) if generator.carries else 0
    start = divergence(gold, wrong.text) if rng.random() < config.mid_step_fraction else 0
    return after, 0 if start >= len(wrong.text) else start


def _place(
    steps: list[str],
    index: int,
    generator: StepGenerator,
    wrong: WrongStep,
    config: DeviationConfig,
    rng: random.Random,
) -> Deviation | None:
    """The deviation's start in the step and its text, the wrong value carried k steps on."""
    after, start = draw_placement(steps[index], wrong, len(steps) - 1 - index, generator, config, rng)
    written = [wrong.text]
    changes = value_changes(steps[index], wrong.text)
    style = OperatorStyle(tuple(steps))
    for step in steps[index + 1 : index + 1 + after]:
        carried = carry(step, changes, style)
        if carried is None:
            return None
        step_text, changes = carried
        written.append(step_text)
    last = index + after
    text = "\n".join(written)[start:] + ("\n" if last < len(steps) - 1 else "")
    return Deviation(generator.name, index, start, text, after, wrong.reason)
