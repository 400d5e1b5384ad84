"""The synthetic arith source: GSM8K format, correct arithmetic, deterministic, knobs respected."""

import ast
import operator
import re
from fractions import Fraction

import pytest

from tracegen.problem import Problem
from tracegen.sources.arith import generate_arith

ANNOTATION = re.compile(r"(\S+) = \$?<<([^=<>]+)=([^<>]+)>>(\d+)")
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _evaluate(expr: str) -> Fraction:
    """Exact value of an expression made only of numbers and + - * / (no eval)."""

    def walk(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return Fraction(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        raise ValueError(f"not plain arithmetic: {ast.dump(node)}")

    return walk(ast.parse(expr, mode="eval"))


def test_evaluate_refuses_anything_but_arithmetic():
    assert _evaluate("12/8*2+1-3") == Fraction(1)
    for bad in ("__import__('os')", "x+1", "2**3", "[1][0]"):
        with pytest.raises(ValueError):
            _evaluate(bad)


def _check(problem: Problem, *, min_steps: int, max_steps: int, max_number: int) -> None:
    """Every property a problem must have, with a message that shows the problem when one fails."""
    where = f"\n{problem.question}\n{problem.solution}"
    *steps, final = problem.solution.split("\n")
    assert min_steps <= len(steps) <= max_steps, where
    stated = [int(n) for n in re.findall(r"\d+", problem.question)]
    assert all(1 <= n <= max_number for n in stated), where
    results: list[int] = []
    for line in steps:
        ((shown, expr, value, visible),) = ANNOTATION.findall(line)
        assert shown == expr, where  # the visible calculation is the annotated one
        assert _evaluate(expr) == int(value) == int(visible), where
        operands = [int(n) for n in re.findall(r"\d+", expr)]
        assert all(n in stated or n in results for n in operands), where  # nothing appears from nowhere
        results.append(int(value))
    assert final == f"#### {results[-1]}" and problem.answer == str(results[-1]), where


@pytest.mark.parametrize(
    "knobs",
    [
        {},
        {"min_steps": 1, "max_steps": 1},
        {"min_steps": 5, "max_steps": 8, "max_number": 1000},
        {"min_steps": 3, "max_steps": 6, "max_number": 2},
        {"max_number": 9},
    ],
)
def test_problems_are_correct_and_respect_the_knobs(knobs):
    bounds = {"min_steps": 2, "max_steps": 4, "max_number": 100} | knobs
    problems = list(generate_arith(500, seed=3, **knobs))
    for problem in problems:
        _check(problem, **bounds)
    counts = {len(p.solution.split("\n")) - 1 for p in problems}
    assert counts == set(range(bounds["min_steps"], bounds["max_steps"] + 1))


def test_format_matches_gsm8k():
    problem = next(generate_arith(1, seed=0, split="test"))
    assert problem.source_id == "arith-test:0"
    assert problem.question.endswith("?") and "\n" not in problem.question
    assert re.fullmatch(r"(.+\n)+#### \d+", problem.solution)


def test_same_seed_same_problems_and_other_seed_or_split_differs():
    first = list(generate_arith(50, seed=7))
    assert first == list(generate_arith(50, seed=7))
    assert len({p.question for p in first}) == 50
    assert all(a.question != b.question for a, b in zip(first, generate_arith(50, seed=8)))
    assert all(a.question != b.question for a, b in zip(first, generate_arith(50, seed=7, split="test")))


def test_a_problem_does_not_depend_on_how_many_are_generated():
    assert list(generate_arith(10, seed=1)) == list(generate_arith(1000, seed=1))[:10]
    assert list(generate_arith(0, seed=1)) == []


def test_stories_are_varied():
    problems = list(generate_arith(1000, seed=0))
    ops = {m for p in problems for m in re.findall(r"<<\d+([-+*/])", p.solution)}
    assert ops == {"+", "-", "*", "/"}
    facts = [f for p in problems for f in re.split(r"(?<=\.) ", p.question)[:-1]]
    openings = {re.sub(r"\d+", "N", " ".join(f.split()[1:3])) for f in facts}  # "buys N", "packs all", ...
    assert len(openings) >= 20, openings
    assert len({p.question.split()[0] for p in problems}) >= 10  # many characters
    assert sum("$" in p.question for p in problems) < 700  # money stories do not crowd out the rest


@pytest.mark.parametrize(
    "knobs", [{"min_steps": 0}, {"min_steps": 3, "max_steps": 2}, {"max_number": 1}, {"num_problems": -1}]
)
def test_bad_knobs_are_refused(knobs):
    with pytest.raises(ValueError):
        generate_arith(**({"num_problems": 1, "seed": 0} | knobs))
