"""Stages of one's own: a source and a verifier registered from outside the package, named by a recipe, built with.

The one registry (tracegen.registry, tracegen.stages) is what a recipe's names are checked against,
so a registered name is as good as a built-in one, and an unknown one is refused naming the known.
"""

import json

import pytest

from tracegen import build, load_recipe, open_dataset
from tracegen.errors import InputError
from tracegen.problem import Problem
from tracegen.registry import Registry
from tracegen.stages import SOURCES, VERIFIERS
from tracegen.verifiers.base import Divergence

APPLES = [(3, 4), (5, 6), (12, 30)]


def apple_source(cfg, *, split, limit, steps, answer):
    """A ProblemSource: GSM8K-shaped problems made in memory."""
    for i, (a, b) in enumerate(APPLES):
        solution = (
            f"Tom has {a}+{b}=<<{a}+{b}={a + b}>>{a + b} apples.\nHe eats 1: {a + b}-1=<<{a + b}-1={a + b - 1}>>"
        )
        solution += f"{a + b - 1}.\n#### {a + b - 1}"
        question = f"Tom has {a} apples and buys {b} more. He eats one. How many are left?"
        yield Problem(f"{split}:{i + 1}", question, solution, str(a + b - 1))


class FirstLineVerifier:
    """A Verifier: every wrong solution goes wrong on its first line (and says who judged)."""

    calls: list[str] = []

    def first_error(self, question, gold, solution):
        FirstLineVerifier.calls.append(question)
        if solution.strip().endswith(gold.strip().rsplit(" ", 1)[-1]):
            return None
        return Divergence(0, "judged", "the apple verifier says so")


@pytest.fixture
def registered():
    SOURCES.register("apples", apple_source)
    VERIFIERS.register("first_line", FirstLineVerifier)
    yield
    SOURCES.unregister("apples")
    VERIFIERS.unregister("first_line")


def write_recipe(tmp_path, replay_path, source="apples", verifier="first_line"):
    recipe = tmp_path / "apples.yaml"
    recipe.write_text(
        f"source: {{name: {source}}}\n"
        "deviations:\n"
        "  generators: {weak: 1.0}\n"
        "  clean_fraction: 0.0\n"
        f"  weak: {{backend: {{kind: replay, replay: {json.dumps(str(replay_path))}}}, verifier: {verifier}}}\n",
        encoding="utf-8",
    )
    return recipe


def test_a_registered_source_and_verifier_build_a_dataset(registered, tmp_path):
    replay = tmp_path / "weak.jsonl"
    with replay.open("w", encoding="utf-8") as f:
        for a, b in APPLES:  # the weak model adds one too many, then carries on
            question = f"Tom has {a} apples and buys {b} more. He eats one. How many are left?"
            wrong = f"Tom has {a}+{b}=<<{a}+{b}={a + b + 1}>>{a + b + 1} apples.\n"
            wrong += f"He eats 1: {a + b + 1}-1=<<{a + b + 1}-1={a + b}>>{a + b}.\n#### {a + b}"
            f.write(json.dumps({"question": question, "weak": {"is_correct": False, "solution": wrong}}) + "\n")
    FirstLineVerifier.calls.clear()

    recipe = load_recipe(str(write_recipe(tmp_path, replay)))
    assert (recipe.source.name, recipe.deviations.weak.verifier) == ("apples", "first_line")
    report = build(recipe, tmp_path / "out", num_proc=2)  # the worker processes learn the names from the build

    data = open_dataset(str(tmp_path / "out"))
    assert report.rows == len(data.rows) == len(APPLES)
    assert len(FirstLineVerifier.calls) == len(APPLES)  # the registered verifier judged every weak solution
    assert [row["source_id"] for row in data.rows] == ["train:1", "train:2", "train:3"]  # the registered source's
    assert all(FirstLineVerifier.calls[i] in row["prompt"] for i, row in enumerate(data.rows))
    deviations = [deviation for row in data.rows for deviation in row["deviations"]]
    assert len(deviations) == len(APPLES)  # every row carries the weak model's mistake, where the verifier put it
    assert all(d["reason"] == "judged: the apple verifier says so" and d["step_index"] == 0 for d in deviations)


def test_an_unknown_stage_name_names_the_recipe_key_and_the_known_names(registered, tmp_path):
    replay = tmp_path / "weak.jsonl"
    replay.write_text('{"question": "q", "weak": {"is_correct": false, "solution": "#### 1"}}\n', encoding="utf-8")
    with pytest.raises(InputError) as error:
        load_recipe(str(write_recipe(tmp_path, replay, source="pears")))
    assert error.value.field == "source.name"
    assert "unknown source (known: apples, arith, generic, gsm8k) (got 'pears')" in str(error.value)
    with pytest.raises(InputError) as error:
        load_recipe(str(write_recipe(tmp_path, replay, verifier="last_line")))
    assert error.value.field == "deviations.weak.verifier"
    assert "known: critic, divergence, ensemble, first_line, rollout" in str(error.value)


def test_a_registry_imports_a_lazy_stage_only_when_it_is_used():
    stages = Registry("thing", "things.name")
    stages.register("json_dumps", "json:dumps")
    stages.register("missing", "tracegen.no_such_module:thing")
    assert stages.names() == ["json_dumps", "missing"]  # naming a stage imports nothing
    assert stages.get("json_dumps") is json.dumps
    with pytest.raises(InputError, match=r"field 'things.name': unknown thing 'other' \(known: json_dumps, missing\)"):
        stages.get("other")
    with pytest.raises(ModuleNotFoundError):
        stages.get("missing")
