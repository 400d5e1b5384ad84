"""The generic source: mapped columns from JSONL, Parquet or the Hub, and one-line errors on bad input."""

import json
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tracegen.errors import InputError
from tracegen.recipe import Recipe, SourceConfig, load_recipe
from tracegen.recipe_data import AnswerConfig, FieldsConfig, StepsConfig
from tracegen.sources import load_problems

ROWS = [
    {
        "uid": "a",
        "prompt_text": "What is $2 + 3$?",
        "worked": "We add: $2 + 3 = 5$.\n\nSo it is $\\boxed{5}$.",
        "final": "5",
    },
    {
        "uid": "b",
        "prompt_text": "Halve $3$.",
        "worked": "Half of $3$ is $\\frac{3}{2}$.\n\nSo it is $\\boxed{\\frac{3}{2}}$.",
        "final": "1.5",
    },
]
FIELDS = FieldsConfig(question="prompt_text", solution="worked", answer="final", id="uid")
PARAGRAPH, BOXED = StepsConfig(split="paragraph"), AnswerConfig(format="boxed")


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def load(path: Path, fields: FieldsConfig = FIELDS, **source) -> list:
    return load_problems(SourceConfig(name="generic", path=str(path), fields=fields, **source), None, PARAGRAPH, BOXED)


def test_mapped_columns_from_jsonl_and_parquet_give_the_same_problems(tmp_path):
    from_jsonl = load(write_jsonl(tmp_path / "train.jsonl", ROWS))
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "train.parquet")
    assert load(tmp_path / "train.parquet") == from_jsonl
    assert [(p.source_id, p.answer, p.step_split, p.answer_format) for p in from_jsonl] == [
        ("train:a", "5", "paragraph", "boxed"),
        ("train:b", "1.5", "paragraph", "boxed"),
    ]


def test_without_an_answer_column_the_answer_comes_from_the_solution(tmp_path):
    problems = load(write_jsonl(tmp_path / "d.jsonl", ROWS), FieldsConfig(question="prompt_text", solution="worked"))
    assert [p.answer for p in problems] == ["5", "\\frac{3}{2}"] and [p.source_id for p in problems] == [
        "train:1",
        "train:2",
    ]


def test_a_missing_column_names_itself_and_the_columns_there_are(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", ROWS)
    with pytest.raises(InputError) as e:
        load(path, FieldsConfig(question="question", solution="worked"))
    assert (
        str(e.value)
        == f"{path}:1: field 'source.fields.question': no column 'question' (mapped as question); the data has "
        "'uid', 'prompt_text', 'worked', 'final'"
    )
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "d.parquet")
    with pytest.raises(InputError, match=r"d.parquet: field 'source.fields.solution': no column 'answer_text'"):
        load(tmp_path / "d.parquet", FieldsConfig(question="prompt_text", solution="answer_text"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"final": "7"},
            r"d.jsonl:2: field 'final': answer '7' differs from the one the solution states \('\\\\frac\{3\}\{2\}'\)",
        ),
        (
            {"worked": "no box", "final": None},
            r"d.jsonl:2: field 'worked': no final answer in the solution \(answer.format boxed: expected a "
            r"\\boxed\{...\}\)",
        ),
        ({"worked": 3}, r"d.jsonl:2: field 'worked': expected a string, got a number"),
        ({"uid": "a"}, r"d.jsonl:2: field 'uid': id 'a' appears twice \(first on line 1\)"),
        ({"final": [1]}, r"d.jsonl:2: field 'final': expected a string, got an array"),
    ],
)
def test_bad_rows_name_file_line_and_field(tmp_path, change, message):
    path = write_jsonl(tmp_path / "d.jsonl", [ROWS[0], ROWS[1] | change])
    with pytest.raises(InputError, match=message):
        load(path)


def test_a_null_answer_is_read_from_the_solution(tmp_path):
    problems = load(write_jsonl(tmp_path / "d.jsonl", [ROWS[0] | {"final": None}]))
    assert problems[0].answer == "5"


def test_the_hub_is_read_through_datasets(monkeypatch):
    calls = []

    def fake_load_dataset(path, name=None, split=None):
        calls.append((path, name, split))
        return datasets.Dataset.from_list(ROWS)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    problems = load_problems(
        SourceConfig(name="generic", hub_id="org/math", split="test", fields=FIELDS), None, PARAGRAPH, BOXED
    )
    assert calls == [("org/math", None, "test")] and [p.source_id for p in problems] == ["test:a", "test:b"]


def test_a_generic_source_needs_a_file_or_a_hub_id():
    with pytest.raises(InputError, match="needs a file"):
        load_problems(SourceConfig(name="generic", fields=FIELDS), None, PARAGRAPH, BOXED)


def write_recipe(tmp_path: Path, text: str) -> str:
    path = tmp_path / "r.yaml"
    path.write_text(text)
    return str(path)


def test_a_generic_recipe_gets_the_prose_rules_by_default(tmp_path):
    recipe = load_recipe(
        write_recipe(tmp_path, "source: {name: generic}\nsteps: {split: paragraph}\nanswer: {format: boxed}\n")
    )
    assert all(name.startswith("prose_") for name in recipe.deviations.generators)
    gsm8k_shaped = load_recipe(
        write_recipe(tmp_path, "source: {name: generic}\n")
    )  # line steps, '#### x': the annotation rules
    assert not any(name.startswith("prose_") for name in gsm8k_shaped.deviations.generators)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "source: {name: generic}\nsteps: {split: paragraph}\ndeviations: {generators: {arith_slip: 1}}\n",
            "generator 'arith_slip' rewrites calculator annotations",
        ),
        ("deviations: {generators: {arith_slip: 1, prose_wrong_result: 1}}\n", "do not mix"),
        ("steps: {split: paragraph}\n", "steps.split and answer.format are for the generic source"),
        ("source: {name: gsm8k, fields: {question: q}}\n", "format and fields are keys of the generic source"),
        ("source: {name: generic}\nanswer: {format: '(a)(b)'}\n", "exactly one group"),
        ("source: {name: generic}\nsteps: {split: '\\n*'}\n", "matches the empty string"),
    ],
)
def test_inconsistent_recipes_are_refused(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        load_recipe(write_recipe(tmp_path, "name: r\n" + text))


def test_gsm8k_recipe_dumps_leave_the_generic_keys_out():
    """Manifests and fingerprints of existing recipes keep their bytes."""
    dumped = load_recipe("gsm8k").model_dump(mode="json")
    assert "steps" not in dumped and "answer" not in dumped
    assert "format" not in dumped["source"] and "fields" not in dumped["source"]
    math = load_recipe("math")
    assert Recipe.model_validate(math.model_dump(mode="json")) == math
    assert math.model_dump(mode="json")["steps"] == {"split": "paragraph"}
