"""Equations in prose and LaTeX: what is read as arithmetic, what is not, and rewriting numbers."""

import json
from fractions import Fraction

import pytest
from conftest import ROOT

from tracegen.prose_math import carry_values, numbers_outside_equations, read_equations, rewrite_numbers
from tracegen.stepsplit import split_solution

SAMPLE = ROOT / "data" / "math-sample" / "train.jsonl"


def values(text: str) -> list[list[Fraction]]:
    return [[t.value for t in e.numeric] for e in read_equations(text) if e.checkable]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"$\frac{3}{4} \cdot 48 = \frac{144}{4}$", [[36, 36]]),
        (r"$9^2 + 12^2 = 81 + 144 = \boxed{225}$", [[225, 225, 225]]),
        (r"$(3 + 1)(2 + 1) = 4 \cdot 3 = 12$", [[12, 12, 12]]),
        (r"$6 \times \$7.50 = \$45.00$", [[45, 45]]),
        ("The sum is 12 + 7 = 19 cm.", [[19, 19]]),
        (r"$2a = 50 + 14 = 64$", [[64, 64]]),  # 2a is not a number
        (r"$x - 6 = 10$", []),  # "- 6" is no term of its own
        (r"$36\pi = 36$", []),  # glued to \pi
        (r"$5! = 120$", []),
        (r"$\binom{9}{2} = 36$", []),
        (r"$\sqrt{225} = 15$", []),
        (r"$2^10 = 1024$", []),  # LaTeX reads 2^1 then 0
        (r"$2^{10} = 1024$", [[1024, 1024]]),
        (r"$-3 + 5 = 2$", [[2, 2]]),
        (r"$12 + 7 = 20$", [[19, 20]]),
    ],
)
def test_equations_are_read_where_the_arithmetic_is_plain(text, expected):
    assert values(text) == expected


def test_every_equation_of_the_shipped_sample_holds():
    """The sample's solutions were written by hand: each equation the reader finds must hold."""
    checked = 0
    for line in SAMPLE.read_text().splitlines():
        for step in split_solution(json.loads(line)["solution"], "paragraph"):
            for equation in read_equations(step):
                if equation.checkable:
                    assert equation.holds(), step
                    checked += 1
    assert checked > 60


def test_rewriting_an_operand_recomputes_and_rewrites_the_results():
    text = r"The sum is $12 + 7 = 19$ cm, so twice it is $2 \cdot 19 = 38$."
    new, old, result = rewrite_numbers(text, 0, 0, {1: Fraction(9)})
    assert (old, result) == (19, 21)
    assert new == r"The sum is $12 + 9 = 21$ cm, so twice it is $2 \cdot 19 = 38$."
    assert (
        carry_values(r"so twice it is $2 \cdot 19 = 38$, that is $\boxed{38}$.", {Fraction(19): Fraction(21)})
        == r"so twice it is $2 \cdot 21 = 42$, that is $\boxed{42}$."
    )


def test_numbers_outside_equations_skip_words_and_equations():
    text = r"There are $\boxed{36}$ ways, $x2$ and $3 + 4 = 7$."
    assert [v for _, v in numbers_outside_equations(text)] == [36]


def test_decimals_keep_their_style():
    new, _, result = rewrite_numbers(r"$0.3 \times 0.4 = 0.12$", 0, 0, {1: Fraction(1, 2)})
    assert result == Fraction(3, 20) and new == r"$0.3 \times 0.5 = 0.15$"
