import json
import re
import time
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracegen.annotations import Annotation, parse_annotations
from tracegen.steps import (
    UnsafeExpression,
    annotation_holds,
    evaluate,
    final_answer,
    format_number,
    numbers_in,
    parse_number,
    split_steps,
    step_value,
)

TRAIN = Path(__file__).resolve().parents[2] / "shared" / "data" / "gsm8k" / "train.jsonl"
NATALIA = (
    "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
    "Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n"
    "#### 72"
)


def test_split_steps_round_trips():
    steps = split_steps(NATALIA)
    assert len(steps) == 3 and steps[-1] == "#### 72"
    assert "\n".join(steps) == NATALIA
    assert split_steps("a\n\nb") == ["a", "", "b"]


def test_parse_annotations_spans_and_last_equals():
    step = "Natalia sold 48/2 = <<48/2=24>>24 clips, then <<a=b=7>>7."
    first, second = parse_annotations(step)
    assert first == Annotation("48/2", "24", step.index("<<"), step.index(">>") + 2)
    assert step[first.start : first.end] == "<<48/2=24>>"
    assert (second.expr, second.result) == ("a=b", "7")
    assert parse_annotations("no annotation 3 + 4 = 7") == []


def test_final_answer_and_step_value():
    assert final_answer(NATALIA) == "72"
    assert final_answer("x\n#### 1,000 \n") == "1,000"
    assert final_answer("no answer here") is None
    assert step_value("Natalia sold 48/2 = <<48/2=24>>24 clips") == 24
    assert step_value("a <<1+1=2>>2 then <<2*.5=1.0>>1.0") == 1
    assert step_value("So she is happy.") is None
    assert step_value("#### 1,250") == 1250


@pytest.mark.parametrize(
    "expr, value",
    [
        ("48/2", 24),
        ("12/60", Fraction(1, 5)),
        ("0.1+0.2", Fraction(3, 10)),
        (".5*10", 5),
        ("2.*3", 6),
        ("71+-3", 68),
        ("(-17)+43", 26),
        ("560//10", 56),
        ("7//2", 3),
        ("7%4", 3),
        ("2**10", 1024),
        ("2**-2", Fraction(1, 4)),
        ("007+1", 8),
        (" 3 * ( 4 + 5 ) ", 27),
        ("100-50-30-15", 5),
    ],
)
def test_evaluate_exact(expr, value):
    result = evaluate(expr)
    assert result == value and isinstance(result, Fraction)


@pytest.mark.parametrize(
    "expr",
    [
        "__import__('os').system('echo pwned')",
        "().__class__",
        "().__class__.__bases__[0].__subclasses__()",
        "x + 1",
        "abs(-3)",
        "'a' * 3",
        "[1, 2]",
        "1, 000",
        "1,000",
        "lambda: 1",
        "1 if 1 else 2",
        "True + 1",
        "1e5",
        "0x10",
        "1_000",
        "2j",
        "3 +",
        "50%",
        "9**9**9",
        "2**0.5",
        "10**100000",
        "1" * 600,
        "\x00",
    ],
)
def test_evaluate_rejects_non_arithmetic(expr):
    with pytest.raises(UnsafeExpression):
        evaluate(expr)


def test_evaluate_never_executes(tmp_path, capsys):
    marker = tmp_path / "pwned"
    for expr in (f"__import__('os').system('touch {marker}')", f"open('{marker}', 'w')", "print('pwned')"):
        with pytest.raises(UnsafeExpression):
            evaluate(expr)
    assert not marker.exists()
    assert capsys.readouterr().out == ""


def test_evaluate_huge_power_is_refused_fast():
    started = time.perf_counter()
    for expr in ("9**9**9", "(10**1000)**1000", "2**100000"):
        with pytest.raises(UnsafeExpression):
            evaluate(expr)
    assert time.perf_counter() - started < 0.5


def test_unsafe_expression_is_a_value_error():
    assert issubclass(UnsafeExpression, ValueError)
    with pytest.raises(ZeroDivisionError):
        evaluate("1/0")
    with pytest.raises(ZeroDivisionError):
        evaluate("5//(2-2)")


@pytest.mark.parametrize(
    "text, value",
    [
        ("72", 72),
        ("1,000", 1000),
        ("1,234,567", 1234567),
        ("$5", 5),
        ("-$5", -5),
        ("$-5", -5),
        ("5.50", Fraction(11, 2)),
        ("$1,250.50", Fraction(2501, 2)),
        ("50%", 50),
        ("-7", -7),
        ("3/4", Fraction(3, 4)),
        (".5", Fraction(1, 2)),
        ("2.", 2),
        ("  18 ", 18),
    ],
)
def test_parse_number(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["", "abc", "$", "1,00", "12,34", "3/0", "--5", "1.2.3", "five", "²", "1e5", "3 4"])
def test_parse_number_rejects(text):
    assert parse_number(text) is None


@pytest.mark.parametrize(
    "value, like, text",
    [
        (Fraction(24), None, "24"),
        (Fraction(24), "72", "24"),
        (Fraction(6), "5.50", "6.00"),
        (Fraction(9), "9.00", "9.00"),
        (Fraction(13, 2), "5.50", "6.50"),
        (Fraction(1, 8), "5.50", "0.125"),
        (Fraction(1, 4), ".5", ".25"),
        (Fraction(3, 2), ".5", "1.5"),
        (Fraction(1234567), "1,000", "1,234,567"),
        (Fraction(999), "1,000", "999"),
        (Fraction(8, 3), None, "2.67"),
        (Fraction(1, 3), "0.125", "0.333"),
        (Fraction(-5), "3", "-5"),
        (Fraction(-1, 1000), None, "-0.001"),
        (Fraction(7), "$1,000.50", "7.00"),
    ],
)
def test_format_number(value, like, text):
    assert format_number(value, like) == text


def test_numbers_in():
    text = "Natalia sold 48/2 = <<48/2=24>>24 clips in May."
    assert [(text[s:e], v) for s, e, v in numbers_in(text)] == [
        ("48", 48),
        ("2", 2),
        ("48", 48),
        ("2", 2),
        ("24", 24),
        ("24", 24),
    ]
    found = [(t[s:e], v) for t in ["It costs $1,250.50, or 50% off -7 .5 kg"] for s, e, v in numbers_in(t)]
    assert found == [("1,250.50", Fraction(2501, 2)), ("50", 50), ("-7", -7), (".5", Fraction(1, 2))]
    assert [v for _, _, v in numbers_in("48-24 71+-3 (-17) x=-4")] == [48, 24, 71, -3, -17, -4]
    assert [v for _, _, v in numbers_in("-7: it was -7, so 34 -12 = 22 and 5% -1")] == [-7, -7, 34, 12, 22, 5, 1]
    assert [v for _, _, v in numbers_in("version x2, the 3rd and 21st, 15x2, 5kg at 5pm.")] == [15, 2, 5, 5]
    assert [v for _, _, v in numbers_in("It is 24. Then")] == [24]


# --- properties ------------------------------------------------------------------------------

LIKES = st.sampled_from([None, "3", "1,000", "5.50", ".5", "0.125", "2.", "$1,250.00"])
TERMINATING = st.builds(lambda n, k: Fraction(n, 10**k), st.integers(-(10**12), 10**12), st.integers(0, 6))


@given(TERMINATING, LIKES)
def test_format_parse_round_trip(value, like):
    text = format_number(value, like)
    assert parse_number(text) == value
    assert [(s, e, v) for s, e, v in numbers_in(text)] == [(0, len(text), value)]


@given(st.fractions(max_denominator=1000), LIKES)
def test_format_never_writes_junk(value, like):
    text = format_number(value, like)
    parsed = parse_number(text)
    assert parsed is not None and abs(parsed - value) <= Fraction(1, 200)
    assert "e" not in text and not text.endswith(".")


@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=6), st.lists(st.booleans(), min_size=5, max_size=5))
def test_evaluate_matches_integer_sums(numbers, minus):
    expr = str(numbers[0]) + "".join(f"{'-' if m else '+'}{n}" for m, n in zip(minus, numbers[1:]))
    assert evaluate(expr) == numbers[0] + sum(-n if m else n for m, n in zip(minus, numbers[1:]))


@given(st.integers(-(10**6), 10**6), st.integers(1, 10**6), st.integers(-(10**6), 10**6))
def test_evaluate_division_is_exact(a, b, c):
    assert evaluate(f"{a}/{b}*{c}") == Fraction(a, b) * c
    assert evaluate(f"({a})//{b}") == a // b


@given(st.text(alphabet="0123456789+-*/%().e_ abcxyz'\"[]", max_size=40))
def test_evaluate_only_ever_returns_a_fraction_or_raises_value_errors(expr):
    try:
        assert isinstance(evaluate(expr), Fraction)
    except (ValueError, ZeroDivisionError):
        pass


# --- real data -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def train_rows():
    if not TRAIN.exists():
        pytest.skip(f"GSM8K train split not found at {TRAIN}")
    return [json.loads(line) for line in TRAIN.read_text(encoding="utf-8").splitlines()]


def test_every_gsm8k_annotation_parses_and_holds(train_rows):
    assert len(train_rows) == 7473
    annotations = []
    for row in train_rows:
        solution = row["answer"]
        assert "\n".join(split_steps(solution)) == solution
        assert split_steps(solution)[-1].startswith("#### ")
        assert parse_number(final_answer(solution)) is not None
        for step in split_steps(solution):
            found = parse_annotations(step)
            assert len(found) == step.count("<<") == step.count(">>")
            annotations += found
    for annotation in annotations:
        evaluate(annotation.expr)  # raises if any is not plain arithmetic
        assert parse_number(annotation.result) is not None
    holding = sum(annotation_holds(a) for a in annotations)
    # In this copy of GSM8K train every annotation is exactly true (23,716 of 23,716).
    assert (len(annotations), holding) == (23716, 23716)


def test_visible_results_follow_annotations(train_rows):
    """After `>>` GSM8K writes the same number (8 times as an ordinal: `6th`); generators update it."""
    ordinals = 0
    for row in train_rows:
        for step in split_steps(row["answer"]):
            for annotation in parse_annotations(step):
                shown = re.match(r"-?[0-9.,]*[0-9](st|nd|rd|th)?", step[annotation.end :])
                assert shown and parse_number(shown.group().removesuffix(shown.group(1) or "")) == parse_number(
                    annotation.result
                )
                ordinals += shown.group(1) is not None
    assert ordinals == 8
