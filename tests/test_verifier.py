"""The divergence verifier: one hand-made example per kind, correct solutions, corrupted gold solutions."""

import json
import random
from fractions import Fraction

import pytest

from tracegen.annotations import parse_annotations
from tracegen.errors import InputError
from tracegen.steps import split_steps
from tracegen.verifiers.answers import final_value, line_answer, same_value
from tracegen.verifiers.base import KINDS, Divergence
from tracegen.verifiers.calculations import calculations
from tracegen.verifiers.divergence import first_wrong_step
from tracegen.verifiers.expressions import Expression
from tracegen.verifiers.registry import get_verifier
from tracegen.verifiers.values import question_values

EGGS = (
    "Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her "
    "friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. "
    "How much in dollars does she make every day at the farmers' market?"
)
EGGS_GOLD = (
    "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\nShe makes 9 * 2 = $<<9*2=18>>18 every day at "
    "the farmer’s market.\n#### 18"
)


def first_error(solution: str, question: str = EGGS, gold: str = EGGS_GOLD) -> Divergence | None:
    return get_verifier("divergence").first_error(question, gold, solution)


@pytest.mark.parametrize(
    "solution",
    [
        EGGS_GOLD,
        EGGS_GOLD.replace("#### 18", "A: 18"),
        EGGS_GOLD.replace("#### 18", "The answer is $18."),
        # another path: what is used first, then the remainder
        "She uses 3 + 4 = <<3+4=7>>7 eggs.\nShe sells 16 - 7 = <<16-7=9>>9 eggs.\nSo she makes 2 * 9 = "
        "$<<2*9=18.0>>18.00.\nA: 18",
    ],
)
def test_a_correct_solution_has_no_first_error_and_no_false_alarm(solution):
    assert first_error(solution) is None
    body = split_steps(solution)[:-1]
    assert first_wrong_step(EGGS, EGGS_GOLD, body) is None


@pytest.mark.parametrize(
    "solution, step, kind, words",
    [
        # the annotation is false
        (
            "Janet sells 16 - 3 - 4 = <<16-3-4=8>>8 eggs.\nShe makes 8 * 2 = $<<8*2=16>>16.\nA: 16",
            0,
            "false_annotation",
            "is 9, not 8",
        ),
        # the number written after it is not its result
        (
            "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 eggs.\nShe makes 9 * 2 = $<<9*2=18>>16.\nA: 16",
            1,
            "false_annotation",
            "writes 16",
        ),
        # a plain equation of the text is false
        (
            "Janet sells 16 - 3 - 4 = 8 eggs.\nShe makes 8 * 2 = $<<8*2=16>>16.\nA: 16",
            0,
            "false_annotation",
            "is 9, not 8",
        ),
        # 5 eggs for breakfast: the question never says 5
        (
            "She eats 5 and bakes 4, so she sells 16 - 5 - 4 = <<16-5-4=7>>7.\nShe makes 7 * 2 = $<<7*2=14>>14.\nA: "
            "14",
            0,
            "unsupported_value",
            "uses 5",
        ),
        # forgets the muffins: 13 is only a partial result of the gold chain (16-3-4), never completed
        (
            "She sells 16 - 3 = <<16-3=13>>13 eggs.\nShe makes 13 * 2 = $<<13*2=26>>26 every day.\nA: 26",
            0,
            "misread",
            "no later step completes it",
        ),
        # right values, wrong operation: the gold chain multiplies 9 and 2
        (
            "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 eggs.\nShe makes 9 / 2 = $<<9/2=4.5>>4.5.\nA: 4.5",
            1,
            "wrong_operation",
            "computes 9 * 2",
        ),
        # stops early: every step is right, the answer is an intermediate quantity
        ("Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\nA: 9", 0, "wrong_final", "concludes with 9"),
        # answers a value no step computes
        (
            "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 eggs.\nShe makes 9 * 2 = $<<9*2=18>>18.\nA: 20",
            2,
            "wrong_final",
            "answers 20",
        ),
        # no final answer at all
        (
            "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 eggs.\nShe makes 9 * 2 = $<<9*2=18>>18.",
            1,
            "wrong_final",
            "no numeric final answer",
        ),
    ],
)
def test_each_kind_of_first_error(solution, step, kind, words):
    found = first_error(solution)
    assert (found.step_index, found.kind) == (step, kind), found
    assert words in found.reason
    assert found.kind in KINDS


def test_an_error_is_found_before_an_earlier_step_would_be_blamed_for_the_answer():
    solution = (
        "She eats 3 + 4 = <<3+4=7>>7 eggs.\nShe sells 16 - 7 = <<16-7=9>>9.\nShe makes 9 * 3 = $<<9*3=27>>27.\nA: 27"
    )
    found = first_error(solution)
    assert (found.step_index, found.kind) == (2, "misread")


def test_gold_prefix_text_and_step_indices_count_every_line():
    """Indices are into solution.split("\\n"): blank lines and text-only lines count."""
    solution = (
        "Let us see.\n\nShe sells 16 - 3 = <<16-3=13>>13 eggs.\nShe makes 13 * 2 = $<<13*2=26>>26 every day.\nA: 26"
    )
    assert first_error(solution).step_index == 2


def test_question_numbers_in_words_percentages_and_units_are_known():
    values = question_values(
        "Lisa sold three and a half boxes, half a dozen pens at 25% off for twenty-five days in May."
    )
    for value in (3.5, 6, 25, 0.25, 0.75, 1.25, 12, 7, 24, 31, Fraction(1, 2)):
        assert Fraction(value) in values, value
    assert Fraction(28) not in question_values("You may go home.")  # `may` is no month


def test_answers_in_every_final_line_style():
    assert final_value("x\n#### 1,000") == 1000
    assert final_value("x\nA: $26") == 26
    assert final_value("x\nThe answer is 3.5.") == Fraction(7, 2)
    assert final_value("x\nA: 10+John's age") is None
    assert final_value("no final line 7") is None
    assert line_answer("She makes 18 dollars") is None
    assert same_value(Fraction("83.33"), Fraction(1000, 12)) and not same_value(Fraction(14), Fraction(15))
    assert not same_value(Fraction(1, 10**6), Fraction(0))


def test_calculations_read_annotations_shown_results_and_text_equations():
    (annotated,) = calculations("so 130,000*.15 = $<<130000*.15=19500.0>>195,000")
    assert annotated.error() == "writes 195000 for 130000*.15 = 19500"
    assert calculations("It is 1000/12 = <<1000/12=83.33>>83 each")[0].error() is None  # rounded, not false
    (text,) = calculations("Karen would pay $35 x 20/100 = $5.")
    assert (text.operands, text.result, text.shown) == ((35, 20, 100), 5, None)
    assert text.error() == "$35 x 20/100 is 7, not 5"
    assert calculations("3 / 6 = 50% of them")[0].error() is None
    # prose arithmetic: units between the numbers and operators
    (prose,) = calculations("He has 66 fish * 1/3 = 22 fish")
    assert (prose.operands, prose.result, prose.error()) == ((66, 1, 3), 22, None)
    # not equations: algebra, mixed numbers, a chain
    for step in (
        "2s + 30 = 110",
        "3x + 4 = 28",
        "5x+12=341",
        "3 1/2 - 2 = 1 1/2 hours",
        "14 * 1/2 = 14 / 2 = <<14/2=7>>7",
    ):
        assert len(calculations(step)) == len(parse_annotations(step)), step


def test_partial_results_regroup_sums_but_not_products():
    assert {Fraction(7), Fraction(12), Fraction(13), Fraction(9)} <= Expression.parse("16-3-4").partial_results()
    assert Fraction(2500) not in Expression.parse("0.05*.01*50000").partial_results()
    assert Expression.parse("28-2x") is None and Expression.parse("3,650*10/100").value() == 365


def _clean_gold_problems(count: int) -> list[dict]:
    """Test problems whose gold solution itself passes the verifier (GSM8K has a few false annotations)."""
    from conftest import GSM8K_DIR

    path = GSM8K_DIR / "test.jsonl"
    if not path.exists():
        pytest.skip("../shared/data/gsm8k is not present")
    problems = []
    with path.open() as f:
        for line in f:
            row = json.loads(line)
            if (
                parse_annotations(row["answer"])
                and first_wrong_step(row["question"], row["answer"], split_steps(row["answer"])[:-1]) is None
            ):
                problems.append(row)
            if len(problems) == count:
                break
    return problems


def test_gold_solutions_reformatted_are_correct():
    verifier = get_verifier()
    for row in _clean_gold_problems(150):
        gold = row["answer"]
        answer = gold.rsplit("#### ", 1)[1]
        for solution in (
            gold,
            gold.replace("#### ", "A: "),
            gold.replace(f"#### {answer}", f"The answer is {answer}."),
        ):
            assert verifier.first_error(row["question"], gold, solution) is None, solution


def test_gold_with_one_annotation_result_changed_is_a_false_annotation_at_that_step():
    verifier = get_verifier()
    rng = random.Random(0)
    for row in _clean_gold_problems(150):
        gold = row["answer"]
        steps = split_steps(gold)
        annotated = [i for i, step in enumerate(steps) if parse_annotations(step)]
        index = rng.choice(annotated)
        annotation = parse_annotations(steps[index])[0]
        wrong = str(int(float(annotation.result.replace(",", ""))) + rng.randint(1, 9))
        step = steps[index]
        steps[index] = step[: annotation.start] + f"<<{annotation.expr}={wrong}>>" + step[annotation.end :]
        steps[-1] = "#### 123456789"  # the final answer is wrong too, else the solution is correct by definition
        found = verifier.first_error(row["question"], gold, "\n".join(steps))
        assert (found.step_index, found.kind) == (index, "false_annotation"), (steps, found)


def test_unknown_verifier_and_gold_without_answer_are_refused():
    with pytest.raises(InputError, match="unknown verifier .nope."):
        get_verifier("nope")
    with pytest.raises(ValueError, match="no numeric final answer"):
        get_verifier().first_error(EGGS, "no answer here", "A: 3")
