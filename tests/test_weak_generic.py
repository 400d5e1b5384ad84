"""Weak-model solutions of generic problems: verdicts (stated or computed), gold prefixes, placement."""

from tracegen.generators.sampling import gold_prefix
from tracegen.generators.weak import weak_deviation
from tracegen.generators.weak_generic import generic_verdict
from tracegen.llm.base import Sample
from tracegen.problem import Problem
from tracegen.recipe import DeviationConfig

PROBLEM = Problem(
    "train:1",
    "A rectangle has length $12$ cm and width $7$ cm. What is its perimeter?",
    "The perimeter is twice the sum of the sides.\n\nThe sum is $12 + 7 = 19$ cm.\n\nSo the perimeter is $2 \\cdot "
    "19 = \\boxed{38}$.",
    "38",
    "paragraph",
    "boxed",
)


def test_the_stated_verdict_wins_and_the_answer_format_decides_otherwise():
    right = "The sum is $12 + 7 = 19$.\n\nSo it is $\\boxed{38}$."
    wrong = "The sum is $12 + 7 = 20$.\n\nSo it is $2 \\cdot 20 = \\boxed{40}$."
    assert generic_verdict(PROBLEM, Sample("m", right, 0), right, "m:0").error is None
    assert generic_verdict(PROBLEM, Sample("m", right, 0, correct=False), right, "m:0").skip == "weak:no_error_found"
    verdict = generic_verdict(PROBLEM, Sample("m", wrong, 0), wrong, "m:0")
    assert (verdict.error.step_index, verdict.error.kind) == (0, "false_annotation")
    assert generic_verdict(PROBLEM, Sample("m", wrong, 0, correct=True), wrong, "m:0").error is None


def test_a_wrong_paragraph_replaces_the_gold_one_with_a_blank_line_after_it():
    wrong = (
        "The perimeter is twice the sum.\n\nThe sum is $12 + 7 = 20$ cm.\n\nSo the perimeter is $2 \\cdot 20 = "
        "\\boxed{40}$."
    )
    verdict = generic_verdict(PROBLEM, Sample("m", wrong, 0), wrong, "m:0")
    deviation = weak_deviation(PROBLEM, verdict, detected_after=0)
    assert deviation.step_index == 1 and deviation.text.endswith("20$ cm.\n\n")
    assert "The sum is $12 + 7 = "[: deviation.start_in_step] + deviation.text == "The sum is $12 + 7 = 20$ cm.\n\n"
    carried = weak_deviation(PROBLEM, verdict, detected_after=1)
    assert carried.detected_after == 1 and carried.text.endswith("\\boxed{40}$.")


def test_prefix_mode_gives_whole_paragraphs_and_blames_no_gold_step():
    prefixes = {gold_prefix(PROBLEM, DeviationConfig(), seed) for seed in range(30)}
    assert prefixes == {
        "",
        "The perimeter is twice the sum of the sides.\n\n",
        "The perimeter is twice the sum of the sides.\n\nThe sum is $12 + 7 = 19$ cm.\n\n",
    }
    # a (hypothetically) wrong gold step
    prefix = "The perimeter is twice the sum of the sides.\n\nThe sum is $12 + 7 = 20$ cm.\n\n"
    text = prefix + "So the perimeter is $2 \\cdot 20 = \\boxed{40}$."
    assert (
        generic_verdict(PROBLEM, Sample("m", text[len(prefix) :], 0), text, "m:0", prefix).skip
        == "weak:error_in_gold_prefix"
    )
    assert generic_verdict(PROBLEM, Sample("m", "", 0), prefix, "m:0", prefix).skip == "weak:empty_sample"
