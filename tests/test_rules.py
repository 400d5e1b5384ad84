import json
import random
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest
from pydantic import ValidationError

from tracegen.annotations import parse_annotations, tokenize_expression
from tracegen.errors import InputError
from tracegen.generators.base import DeviationPlan, WrongStep
from tracegen.generators.calcs import read_calcs
from tracegen.generators.planner import divergence, plan_deviations
from tracegen.generators.plausible import misquotes
from tracegen.generators.registry import RuleGenerator
from tracegen.generators.rewrite import carry
from tracegen.generators.verify import is_wrong, value_changes
from tracegen.problem import Problem
from tracegen.recipe import DeviationConfig
from tracegen.stages import GENERATORS
from tracegen.steps import annotation_holds, numbers_in, parse_number, split_steps, step_value

TRAIN = Path(__file__).resolve().parents[2] / "shared" / "data" / "gsm8k" / "train.jsonl"
NATALIA = Problem(
    "train:0",
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
    "How many clips did Natalia sell altogether in April and May?",
    "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
    "Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n"
    "#### 72",
    "72",
)
KINDS = ["arith_slip", "digit_swap", "wrong_operator", "wrong_operand", "skip_ahead", "copy_error"]

RULES = {name: rule for name in GENERATORS.names() if isinstance(rule := GENERATORS.get(name), RuleGenerator)}


@pytest.fixture(scope="module")
def train_problems() -> list[Problem]:
    if not TRAIN.exists():
        pytest.skip(f"GSM8K train split not found at {TRAIN}")
    rows = [json.loads(line) for line in TRAIN.read_text(encoding="utf-8").splitlines()[:2000]]
    return [
        Problem(f"train:{i}", r["question"], r["answer"], r["answer"].rsplit("#### ", 1)[-1])
        for i, r in enumerate(rows)
    ]


def wrong_steps(problems: list[Problem], kind: str, seed: int = 0):
    """(problem, steps, index, wrong step) for every step where `kind` applies."""
    rng = random.Random(seed)
    for problem in problems:
        steps = split_steps(problem.solution)
        for index in range(len(steps)):
            wrong = RULES[kind].generate(problem, steps, index, rng)
            if wrong is not None:
                yield problem, steps, index, wrong


def expression_diff(gold: str, wrong: str) -> list[tuple[str, str, str]]:
    """(kind, gold token, wrong token) for each token that differs between two expressions."""
    gold_tokens, wrong_tokens = tokenize_expression(gold), tokenize_expression(wrong)
    assert len(gold_tokens) == len(wrong_tokens), (gold, wrong)
    return [(g.kind, g.text, w.text) for g, w in zip(gold_tokens, wrong_tokens) if g.text != w.text]


def assert_style_kept(gold: str, wrong: str) -> None:
    """Visible results equal their annotations, and visible expressions still match theirs."""
    gold_calcs, wrong_calcs = read_calcs(gold), read_calcs(wrong)
    assert wrong_calcs is not None and len(wrong_calcs) == len(gold_calcs)
    for g, w in zip(gold_calcs, wrong_calcs):
        assert w.editable == g.editable, (gold, wrong)
        assert (g.shown_result is None) == (w.shown_result is None)
        if w.shown_result is not None:
            shown = wrong[w.shown_result[0] : w.shown_result[1]]
            assert parse_number(shown.rstrip("stndrh")) == w.result, wrong
    assert "\n" not in wrong


# --- one test per kind ------------------------------------------------------------------------


def test_arith_slip_writes_a_false_annotation(train_problems):
    count = 0
    for _, steps, index, wrong in wrong_steps(train_problems[:150], "arith_slip"):
        gold = steps[index]
        if gold.startswith("####"):
            assert step_value(wrong.text) != step_value(gold)
            continue
        assert_style_kept(gold, wrong.text)
        gold_annotations, wrong_annotations = parse_annotations(gold), parse_annotations(wrong.text)
        assert [a.expr for a in gold_annotations] == [a.expr for a in wrong_annotations]
        assert not all(annotation_holds(a) for a in wrong_annotations)
        assert (
            gold[: gold_annotations[0].start] == wrong.text[: wrong_annotations[0].start]
        )  # shown expression untouched
        assert (
            step_value(wrong.text) > 0 and step_value(wrong.text).denominator == 1 or step_value(gold).denominator != 1
        )
        count += 1
    assert count > 300


def test_digit_swap_swaps_two_adjacent_digits(train_problems):
    count = 0
    for _, steps, index, wrong in wrong_steps(train_problems[:150], "digit_swap"):
        gold = steps[index]
        if gold.startswith("####"):
            old, new = gold[5:], wrong.text[5:]
        else:
            assert_style_kept(gold, wrong.text)
            (g,), (w,) = parse_annotations(gold), parse_annotations(wrong.text)
            assert g.expr == w.expr and not annotation_holds(w)
            old, new = g.result, w.result
        differ = [i for i, (a, b) in enumerate(zip(old, new)) if a != b]
        assert len(old) == len(new) and len(differ) == 2 and differ[1] == differ[0] + 1
        assert old[differ[0]] == new[differ[1]] and old[differ[1]] == new[differ[0]]
        count += 1
    assert count > 200


def test_wrong_operator_changes_one_operator_and_stays_true(train_problems):
    count = 0
    for _, steps, index, wrong in wrong_steps(train_problems[:150], "wrong_operator"):
        gold = steps[index]
        assert_style_kept(gold, wrong.text)
        (g,), (w,) = parse_annotations(gold), parse_annotations(wrong.text)
        assert annotation_holds(w) and step_value(wrong.text) != step_value(gold)
        [(kind, old, new)] = expression_diff(g.expr, w.expr)
        assert kind == "op" and old != new and {old, new} <= set("+-*/")
        count += 1
    assert count > 300


def test_wrong_operator_updates_the_visible_expression():
    steps = split_steps(NATALIA.solution)
    for seed in range(20):
        wrong = RULES["wrong_operator"].generate(NATALIA, steps, 0, random.Random(seed))
        expr = parse_annotations(wrong.text)[0].expr
        assert wrong.text.startswith(f"Natalia sold {expr} = <<{expr}=") and expr != "48/2"


def test_wrong_operand_uses_another_available_number(train_problems):
    count = 0
    for problem, steps, index, wrong in wrong_steps(train_problems[:150], "wrong_operand"):
        gold = steps[index]
        assert_style_kept(gold, wrong.text)
        (g,), (w,) = parse_annotations(gold), parse_annotations(wrong.text)
        assert annotation_holds(w) and step_value(wrong.text) != step_value(gold)
        [(kind, old, new)] = expression_diff(g.expr, w.expr)
        available = {v for _, _, v in numbers_in(problem.question)} | {step_value(s) for s in steps[:index]}
        assert kind == "number" and Fraction(new) in available and Fraction(new) != Fraction(old)
        count += 1
    assert count > 300


def test_skip_ahead_writes_a_later_step(train_problems):
    count = 0
    for _, steps, index, wrong in wrong_steps(train_problems[:150], "skip_ahead"):
        assert wrong.text in steps[index + 1 : -1]
        assert step_value(wrong.text) != step_value(steps[index])
        count += 1
    assert count > 200
    assert not RULES["skip_ahead"].carries


def test_copy_error_misquotes_an_earlier_number(train_problems):
    count = 0
    for problem, steps, index, wrong in wrong_steps(train_problems[:150], "copy_error"):
        gold = steps[index]
        if gold.startswith("####"):
            old, new = gold[5:], wrong.text[5:]
        else:
            assert_style_kept(gold, wrong.text)
            (g,), (w,) = parse_annotations(gold), parse_annotations(wrong.text)
            assert annotation_holds(w) and step_value(wrong.text) != step_value(gold)
            [(kind, old, new)] = expression_diff(g.expr, w.expr)
            earlier = {v for _, _, v in numbers_in(problem.question)} | {step_value(s) for s in steps[:index]}
            assert kind == "number" and Fraction(old) in earlier
        assert parse_number(new) in {parse_number(text) for text, _ in misquotes(old)}
        count += 1
    assert count > 300


def test_misquotes():
    assert {text for text, _ in misquotes("48")} == {"84", "38", "58", "47", "49"}
    assert {"10", "1000"} <= {text for text, _ in misquotes("100")}
    assert all(not text.startswith("0") for text, _ in misquotes("10"))


def test_final_step_is_targeted_only_by_answer_kinds():
    steps = split_steps(NATALIA.solution)
    for kind, generator in RULES.items():
        if kind.startswith("prose_"):  # tracegen.generators.prose: not for annotated GSM8K steps
            continue
        wrong = generator.generate(NATALIA, steps, 2, random.Random(0))
        assert (wrong is not None) == generator.targets_final == (kind in {"arith_slip", "digit_swap", "copy_error"})
        if wrong is not None:
            assert wrong.text.startswith("#### ") and step_value(wrong.text) not in (None, 72)


def test_generators_do_not_apply_to_steps_without_calculations():
    problem = Problem("p", "Tom has 3 apples.", "Tom has 3 apples and eats none.\n#### 3", "3")
    steps = split_steps(problem.solution)
    assert all(generator.generate(problem, steps, 0, random.Random(0)) is None for generator in RULES.values())


def test_values_keep_the_gold_style():
    problem = Problem(
        "p",
        "A pen costs $1.25 and a book $1,200. She buys 3 pens.",
        "The pens cost 3 x $1.25 = $<<3*1.25=3.75>>3.75.\n"
        "In all she pays $1,200 + $3.75 = $<<1200+3.75=1203.75>>1,203.75.\n"
        "#### 1,203.75",
        "1203.75",
    )
    steps = split_steps(problem.solution)
    for kind in ("arith_slip", "wrong_operand", "copy_error", "wrong_operator"):
        for seed in range(10):
            wrong = RULES[kind].generate(problem, steps, 1, random.Random(seed))
            assert_style_kept(steps[1], wrong.text)
            (w,) = parse_annotations(wrong.text)
            shown = wrong.text[wrong.text.index(">>") + 2 : -1]
            assert len(w.result.partition(".")[2]) == 2 and "," not in w.result
            assert parse_number(shown) == parse_number(w.result) and ("," in shown) == (parse_number(shown) >= 1000)


# --- verification -----------------------------------------------------------------------------


def test_is_wrong():
    gold = "Tom has 2+2 = <<2+2=4>>4 apples."
    assert not is_wrong(gold, gold)
    assert not is_wrong(gold, "Tom has 2*2 = <<2*2=4>>4 apples.")  # a different route to the right value
    assert is_wrong(gold, "Tom has 2+2 = <<2+2=5>>5 apples.")
    assert is_wrong(gold, "Tom has 2+3 = <<2+3=5>>5 apples.")
    assert is_wrong(gold, "Tom has 2+3 = <<2+3=4>>4 apples.")  # value kept, annotation false
    assert is_wrong("#### 4", "#### 5") and not is_wrong("#### 4", "#### 4")


def test_accidentally_correct_deviations_are_dropped():
    """A generator that rewrites 2+2 as 2*2 gives the right value by the wrong route: not a mistake."""

    def same_value(problem, steps, index, rng):
        return WrongStep(steps[index].replace("2+2", "2*2"), "equivalent") if "<<" in steps[index] else None

    GENERATORS.register("equivalent", RuleGenerator("equivalent", same_value, False, True))
    try:
        problem = Problem("p", "Tom has 2 and 2 apples.", "Tom has 2+2 = <<2+2=4>>4 apples.\n#### 4", "4")
        config = DeviationConfig(generators={"equivalent": 1.0})
        plan = plan_deviations(problem, config, random.Random(0))
    finally:
        GENERATORS.unregister("equivalent")
    assert plan.deviations == []
    assert plan.dropped == Counter({"equivalent:accidentally_correct": 1, "no_applicable_step": 1})


def test_no_applicable_step_is_counted():
    problem = Problem("p", "Tom has 3 apples.", "Tom has 3 apples.\n#### 3", "3")
    config = DeviationConfig(generators={"wrong_operator": 1.0, "skip_ahead": 2.0}, per_trace=3)
    plan = plan_deviations(problem, config, random.Random(0))
    assert plan == DeviationPlan([], Counter({"no_applicable_step": 2}))


def test_unknown_generator_is_named():
    known = "arith_slip, copy_error, digit_swap, prose_copy_error, .*, skip_ahead, weak, wrong_operand, wrong_operator"
    with pytest.raises(ValidationError, match=f"unknown generator 'typo_maker' .known: {known}"):
        DeviationConfig(generators={"arith_slip": 1.0, "typo_maker": 1.0})
    with pytest.raises(
        InputError, match=f"field 'deviations.generators': unknown generator 'typo_maker' .known: {known}"
    ):
        GENERATORS.get("typo_maker")


# --- planner ----------------------------------------------------------------------------------


def test_planner_is_deterministic(train_problems):
    config = DeviationConfig(per_trace=2, detected_after=[0, 1, 2])
    for problem in train_problems[:50]:
        first = plan_deviations(problem, config, random.Random(problem.source_id))
        assert first == plan_deviations(problem, config, random.Random(problem.source_id))
    plans = {repr(plan_deviations(train_problems[7], config, random.Random(seed))) for seed in range(20)}
    assert len(plans) > 5


def test_planner_places_distinct_sorted_steps(train_problems):
    config = DeviationConfig(per_trace=3)
    for problem in train_problems[:100]:
        plan = plan_deviations(problem, config, random.Random(1))
        indices = [d.step_index for d in plan.deviations]
        assert indices == sorted(set(indices))
        assert len(indices) + plan.dropped["no_applicable_step"] == min(3, len(split_steps(problem.solution)))


def test_position_biases(train_problems):
    problem = next(p for p in train_problems if len(split_steps(p.solution)) >= 8)
    means = {}
    for position in ("early", "uniform", "late"):
        config = DeviationConfig(generators={"arith_slip": 1.0}, position=position)
        chosen = [
            plan_deviations(problem, config, random.Random(seed)).deviations[0].step_index for seed in range(300)
        ]
        means[position] = sum(chosen) / len(chosen)
    assert means["early"] + 0.5 < means["uniform"] < means["late"] - 0.5


def test_detected_after_carries_the_wrong_value():
    config = DeviationConfig(generators={"arith_slip": 1.0}, detected_after=5, mid_step_fraction=0.0, position="early")
    steps = split_steps(NATALIA.solution)
    plans = [plan_deviations(NATALIA, config, random.Random(seed)) for seed in range(30)]
    deviation = next(p.deviations[0] for p in plans if p.deviations[0].step_index == 0)
    assert deviation.detected_after == 2  # clamped to the steps after step 0
    wrong, second, final = deviation.text.split("\n")
    may = step_value(wrong)
    assert may != 24 and not annotation_holds(parse_annotations(wrong)[0])
    assert second == f"Natalia sold 48+{may} = <<48+{may}={48 + may}>>{48 + may} clips altogether in April and May."
    assert final == f"#### {48 + may}"
    assert not deviation.text.endswith("\n")
    assert steps[0][: deviation.start_in_step] == ""


def test_detected_after_list_and_trailing_newline():
    config = DeviationConfig(generators={"copy_error": 1.0}, detected_after=[0, 1], position="early")
    seen = Counter()
    for seed in range(60):
        deviation = plan_deviations(NATALIA, config, random.Random(seed)).deviations[0]
        seen[deviation.detected_after] += 1
        last = deviation.step_index + deviation.detected_after
        assert deviation.text.endswith("\n") == (last < 2)
        assert deviation.text.count("\n") == deviation.detected_after + (last < 2)
    assert seen[0] and seen[1]


def test_carry_propagates_changes_through_a_chain():
    style = {}
    step = "So he pays 24 x 3 = $<<24*3=72>>72 and then 72 + 8 = $<<72+8=80>>80."
    carried, changes = carry(step, {Fraction(24): Fraction(25)}, style)
    assert carried == "So he pays 25 x 3 = $<<25*3=75>>75 and then 75 + 8 = $<<75+8=83>>83."
    assert changes == {24: 25, 72: 75, 80: 83}
    assert carry("#### 80", changes, style) == ("#### 83", changes)
    assert carry("He is happy.", changes, style) == ("He is happy.", changes)


def test_a_changed_result_is_carried_within_its_step():
    problem = Problem("p", "He buys 2 bags of 3.", "He has 2*3 = <<2*3=6>>6 and 6+1 = <<6+1=7>>7 in all.\n#### 7", "7")
    steps = split_steps(problem.solution)
    firsts = 0
    for seed in range(40):
        wrong = RULES["arith_slip"].generate(problem, steps, 0, random.Random(seed)).text
        first, second = read_calcs(wrong)
        assert_style_kept(steps[0], wrong)
        if first.result != 6:
            firsts += 1
            assert not annotation_holds(first.annotation) and annotation_holds(second.annotation)
            assert second.result == first.result + 1 and second.operands[0].value == first.result
    assert 0 < firsts < 40


def test_value_changes():
    assert value_changes("a <<2*3=6>>6", "a <<2*4=8>>8") == {6: 8}
    assert value_changes("a <<2*3=6>>6", "b <<1+1=2>>2 c <<2+6=8>>8") == {6: 8}
    assert value_changes("#### 6", "#### 9") == {6: 9}


@pytest.mark.parametrize(
    "gold, wrong, start",
    [
        ("sold 24 clips", "sold 26 clips", 5),
        ("sold 24 clips", "sold 2 clips", 5),
        ("sold 24 clips", "sold 240 clips", 5),
        ("costs $2,450 now", "costs $2,460 now", 7),
        ("is 1.25 m", "is 1.35 m", 3),
        ("is 1.25 m", "is 1.2 m", 3),
        ("<<.3*2=.6>>.6", "<<.3*2=.7>>.7", 7),
        ("costs .50 each", "costs .60 each", 6),
        ("x = <<48/2=24>>24", "x = <<48*2=96>>96", 8),
        ("x = <<48+24=72>>72", "x = <<48+24=73>>73", 12),
        ("has -15 left", "has -16 left", 4),
        ("Natalia sold", "Natalie sold", 0),
        ("So 48/2", "Thus 48/2", 0),
    ],
)
def test_divergence_never_splits_a_number(gold, wrong, start):
    assert divergence(gold, wrong) == start


# --- sweep over real data ---------------------------------------------------------------------


def test_sweep_every_kind_over_2000_problems(train_problems, capsys):
    """Every produced deviation is verified wrong and starts where the gold solution leaves off."""
    applicable, dropped = Counter(), Counter()
    for kind in KINDS:
        config = DeviationConfig(generators={kind: 1.0}, mid_step_fraction=0.5, detected_after=[0, 1, 2])
        for problem in train_problems:
            steps = split_steps(problem.solution)
            plan = plan_deviations(problem, config, random.Random(problem.source_id))
            dropped.update(plan.dropped)
            for deviation in plan.deviations:
                i, start = deviation.step_index, deviation.start_in_step
                prefix = "\n".join(steps[:i]) + ("\n" if i else "") + steps[i][:start]
                assert problem.solution.startswith(prefix)
                wrong = steps[i][:start] + deviation.text.split("\n")[0]
                assert is_wrong(steps[i], wrong), (steps[i], wrong)
                assert not any(s < start < e for s, e, _ in numbers_in(steps[i]) + numbers_in(wrong))
                assert deviation.text.endswith("\n") == (i + deviation.detected_after < len(steps) - 1)
            applicable[kind] += bool(plan.deviations)
    with capsys.disabled():
        print("\napplicable (problems of 2000):", ", ".join(f"{k} {applicable[k]}" for k in KINDS))
        print("dropped:", dict(sorted(dropped.items())))
    assert all(applicable[kind] > 1500 for kind in KINDS), applicable
    # A wrong value is not carried through a step whose visible expression does not match its
    # annotation (it would be left stale); such deviations are dropped, rarely.
    assert set(dropped) <= {"no_applicable_step"} | {f"{kind}:cannot_carry" for kind in KINDS}
    assert sum(v for k, v in dropped.items() if k.endswith("cannot_carry")) < 100
