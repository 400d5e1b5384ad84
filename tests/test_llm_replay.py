"""Replaying the published weak-model solutions: read_replay and the replay backend."""

import json

import pytest
from conftest import GSM8K_DIR

from tracegen.errors import InputError
from tracegen.llm.base import Request
from tracegen.llm.config import BackendConfig
from tracegen.llm.factory import make_backend
from tracegen.llm.replay import read_replay

SOLUTIONS = GSM8K_DIR / "example_model_solutions.jsonl"
MODELS = ["6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification"]


@pytest.fixture(scope="module")
def solutions_file():
    if not SOLUTIONS.exists():
        pytest.skip("../shared/data/gsm8k is not present")
    return SOLUTIONS


def test_reads_the_published_file_as_it_is(solutions_file):
    records = list(read_replay(solutions_file))
    assert len(records) == 1319 and [r.line for r in records[:3]] == [0, 1, 2]
    assert all(list(r.solutions) == MODELS for r in records)
    wrong = sum(not obj[m]["is_correct"] for obj in map(json.loads, solutions_file.open()) for m in MODELS)
    assert wrong == 3275  # the wrong ones are all there (and the right ones: the verifier decides)
    test_questions = {json.loads(line)["question"].strip() for line in (GSM8K_DIR / "test.jsonl").open()}
    assert {r.question for r in records} == test_questions


def test_backend_answers_by_question_with_every_chosen_model(solutions_file):
    first = next(read_replay(solutions_file))
    backend = make_backend(BackendConfig(replay=str(solutions_file), models=["175b_verification", "6b_finetuning"]))
    hit, missing, prefixed = backend.run(
        [
            Request("test:1", f"  {first.question}\n"),
            Request("other", "Not a GSM8K question?"),
            Request("test:1@step1", first.question, prefix="x\n"),
        ]
    )
    assert [(s.model, s.index) for s in hit.samples] == [("6b_finetuning", 0), ("175b_verification", 3)]
    assert hit.samples[0].text == first.solutions["6b_finetuning"] and hit.error is None
    assert missing.samples == [] and missing.error == "question not in replay file"
    assert prefixed.samples == [] and "prefix" in prefixed.error
    assert backend.stats["calls"] == 0 and backend.stats["failures"] == 2


def test_unknown_model_key_is_bad_input(solutions_file):
    with pytest.raises(InputError, match="field 'models': no solutions by 7b_nothing"):
        make_backend(BackendConfig(replay=str(solutions_file), models=["7b_nothing"]))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"ground_truth": "x", "m": {"solution": "a"}}', "2: field 'question': missing"),
        (
            '{"question": "q?", "m": {"is_correct": true, "solution": 7}}',
            "2: field 'm.solution': expected a string, got a number",
        ),
        ('{"question": "q?", "m": {"solution": "  "}}', "2: field 'm.solution': empty"),
        ('{"question": "q?", "ground_truth": "a"}', "2: no model solutions"),
        ('{"question": "q?", "m": {"solution": "a"', "2: not valid JSON"),
    ],
)
def test_malformed_lines_name_file_line_and_field(tmp_path, line, expected):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "fine?", "m": {"is_correct": false, "solution": "a"}}\n' + line + "\n")
    with pytest.raises(InputError) as error:
        list(read_replay(path))
    assert str(error.value).startswith(f"{path}:{expected}")
