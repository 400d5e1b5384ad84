"""Prose/LaTeX rule deviations: each rule's mistakes are verified wrong, written in the step's style, and placed."""

import random
from collections import Counter

import pytest
from conftest import ROOT

from tracegen.generators.plan import plan_rules
from tracegen.generators.prose_plan import plan_prose_deviations, prose_verdict
from tracegen.problem import Problem
from tracegen.prose_math import read_equations
from tracegen.recipe import DeviationConfig, SourceConfig
from tracegen.recipe_data import PROSE_GENERATORS, AnswerConfig, FieldsConfig, StepsConfig
from tracegen.sources.generic import read_generic
from tracegen.stages import GENERATORS
from tracegen.stepsplit import split_with_separators

SAMPLE = ROOT / "data" / "math-sample" / "train.jsonl"


@pytest.fixture(scope="module")
def problems() -> list[Problem]:
    cfg = SourceConfig(name="generic", path=str(SAMPLE), fields=FieldsConfig(question="problem", solution="solution"))
    return list(read_generic(cfg, "train", StepsConfig(split="paragraph"), AnswerConfig(format="boxed")))


PROBLEM = Problem(
    "t:1",
    "A rectangle has length 12 cm and width 7 cm. What is its perimeter?",
    "The sum of the length and width is $12 + 7 = 19$ cm.\n\nSo the perimeter is $2 \\cdot 19 = \\boxed{38}$ "
    "centimeters.",
    "38",
    "paragraph",
    "boxed",
)


@pytest.mark.parametrize("name", list(PROSE_GENERATORS))
def test_each_rule_makes_verified_mistakes(name, problems):
    made = 0
    for problem in problems:
        steps, _ = split_with_separators(problem.solution, problem.step_split)
        for index in range(len(steps)):
            wrong = GENERATORS.get(name).make(problem, steps, index, random.Random(index))
            if wrong is None:
                continue
            made += 1
            assert wrong.text != steps[index] and wrong.reason
            assert prose_verdict(steps[index], wrong.text) is not None, (steps[index], wrong.text)
    assert made >= 20, made


def test_a_wrong_result_breaks_the_equation_and_is_carried_in_its_step():
    steps = ["We have $12 + 7 = 19$, and twice that is $2 \\cdot 19 = 38$."]
    problem = Problem("t:2", "12 and 7", steps[0], "38", "paragraph", "boxed")
    wrong = GENERATORS.get("prose_wrong_result").make(problem, steps, 0, random.Random(1))
    first = read_equations(wrong.text)[0]
    assert not first.holds()  # 12 + 7 = <slip>
    assert read_equations(wrong.text)[1].holds()  # the carried use is recomputed: 2 * <slip> = ...
    assert prose_verdict(steps[0], wrong.text) == "equation"


def test_a_wrong_operand_keeps_the_equation_true_and_changes_the_value():
    steps, _ = split_with_separators(PROBLEM.solution, "paragraph")
    wrong = GENERATORS.get("prose_wrong_operand").make(PROBLEM, steps, 0, random.Random(3))
    assert all(e.holds() for e in read_equations(wrong.text))
    assert prose_verdict(steps[0], wrong.text) == "value"


def test_the_final_answer_is_a_target_where_no_equation_gives_it():
    problem = Problem(
        "t:3",
        "What is 6 times 6?",
        "We get $6 \\cdot 6 = 36$.\n\nSo there are $\\boxed{36}$ ways.",
        "36",
        "paragraph",
        "boxed",
    )
    steps, _ = split_with_separators(problem.solution, "paragraph")
    wrong = GENERATORS.get("prose_digit_swap").make(problem, steps, 1, random.Random(0))
    assert (
        wrong is not None
        and wrong.text == "So there are $\\boxed{63}$ ways."
        and wrong.reason.startswith("final answer")
    )


def test_plans_place_deviations_with_paragraph_separators(problems):
    config = DeviationConfig(generators=dict(PROSE_GENERATORS), detected_after=[0, 1])
    kinds, placed = Counter(), 0
    for problem in problems:
        plan = plan_rules(problem, config, random.Random(problem.source_id))
        steps, separators = split_with_separators(problem.solution, problem.step_split)
        for dev in plan.deviations:
            placed += 1
            kinds[dev.kind] += 1
            last = dev.step_index + dev.detected_after
            assert dev.text.endswith(separators[last]) if last < len(steps) - 1 else not dev.text.endswith("\n")
            assert (
                steps[dev.step_index][: dev.start_in_step] + dev.text
                != problem.solution[len("".join(s + p for s, p in zip(steps[: dev.step_index], separators))) :]
            )
    assert placed >= 0.8 * len(problems)
    assert len(kinds) == len(PROSE_GENERATORS)


def test_unverifiable_rewrites_are_dropped_with_a_reason():
    problem = Problem("t:4", "q", "There is no arithmetic here.", "x", "paragraph", "boxed")
    plan = plan_prose_deviations(problem, DeviationConfig(generators=dict(PROSE_GENERATORS)), random.Random(0))
    assert plan.deviations == [] and plan.dropped == Counter({"no_applicable_step": 1})
