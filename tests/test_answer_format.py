"""Final answers of any format, and the normalised comparison generic sources and checks rely on."""

import pytest

from tracegen.answer_format import (
    answer_matches,
    answer_span,
    check_format,
    extract_answer,
    normalize_answer,
    same_answer,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (r"\frac{3}{2}", "1.5"),
        (r"\dfrac{3}{2}", "3/2"),
        (r"\tfrac32", r"\frac{3}{2}"),
        (r"\$45", "45.00"),
        ("1,000", "1000"),
        (r"50\%", "50"),
        (r"5\text{ cm}", "5"),
        ("38 centimeters", "38"),
        (r"90^\circ", "90"),
        ("x = 5", "5"),
        (r"\boxed{7}", "7"),
        (r"-\frac{1}{2}", "-0.5"),
        (r"\text{Monday}", "monday"),
        (r"36\pi", r"36 \pi"),
    ],
)
def test_equal_answers_normalise_alike(a, b):
    assert same_answer(a, b), (normalize_answer(a), normalize_answer(b))


@pytest.mark.parametrize(
    ("a", "b"), [("3/2", "2/3"), ("1,000", "100"), (r"36\pi", "36"), ("0.33", r"\frac{1}{3}"), ("(1,2)", "(2,1)")]
)
def test_different_answers_stay_different(a, b):
    assert not same_answer(a, b)


def test_each_format_finds_the_last_answer():
    boxed = r"First $\boxed{2}$ is wrong.\n\nSo the answer is $\boxed{\frac{1}{2}}$."
    assert extract_answer(boxed, "boxed") == r"\frac{1}{2}"
    assert extract_answer(boxed[: boxed.index("$\\boxed{\\frac")], "boxed") == "2"
    assert extract_answer("So 3 + 4 = 7.\n#### 7", "gsm8k") == "7"
    assert extract_answer("We get 12 apples, then 1,250 pears.", "last_number") == "1,250"
    assert extract_answer("The answer is: 42\nThe answer is: 43", r"The answer is: (\S+)") == "43"
    assert extract_answer("no answer here", "boxed") is None
    assert extract_answer("text", "last_number") is None


def test_the_answer_span_points_inside_the_braces():
    text = r"So it is $\boxed{\frac{3}{2}}$."
    start, end = answer_span(text, "boxed")
    assert text[start:end] == r"\frac{3}{2}"


def test_gsm8k_answers_still_compare_exactly():
    """The check of GSM8K rows is unchanged: '#### 5.0' does not state answer '5'."""
    assert answer_matches("2+3=5\n#### 5", "5", "gsm8k")
    assert not answer_matches("2+3=5\n#### 5.0", "5", "gsm8k")
    assert answer_matches(r"so $\boxed{5.0}$", "5", "boxed")
    assert not answer_matches(r"so $\boxed{6}$", "5", "boxed")
    assert answer_matches("no box: the answer came from a column", "5", "boxed")


@pytest.mark.parametrize(
    ("fmt", "message"),
    [("(a)(b)", "exactly one group"), ("(", "not a regular expression"), ("no groups", "exactly one group")],
)
def test_bad_formats_are_refused(fmt, message):
    with pytest.raises(ValueError, match=message):
        check_format(fmt)
