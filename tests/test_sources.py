"""Problem sources: the Hub path (with datasets.load_dataset stubbed: tests never reach the network) and split
names."""

import datasets
import pytest

from tracegen.errors import InputError
from tracegen.recipe import SourceConfig
from tracegen.sources import load_problems, split_name

ROWS = [
    {"question": "Tom has 2 apples and buys 3. How many?", "answer": "2+3=<<2+3=5>>5\n#### 5"},
    {"question": "What is 6 halved?", "answer": "6/2=<<6/2=3>>3\n#### 3"},
]


def test_hub_source_reads_rows_through_datasets(monkeypatch):
    calls = []

    def fake_load_dataset(path, name=None, split=None):
        calls.append((path, name, split))
        return ROWS

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    problems = load_problems(SourceConfig(split="test"))
    assert calls == [("openai/gsm8k", "main", "test")]
    assert [p.source_id for p in problems] == ["test:1", "test:2"]
    assert [p.answer for p in problems] == ["5", "3"]


def test_hub_rows_are_validated_like_files(monkeypatch):
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: [ROWS[0], {"question": "q"}])
    with pytest.raises(InputError, match=r"hf://openai/gsm8k/train:2: field 'answer': missing"):
        load_problems(SourceConfig())


def test_split_name_follows_the_file_unless_the_recipe_names_one():
    assert split_name(SourceConfig(path="data/test.jsonl")) == "test"
    assert split_name(SourceConfig(path="data/mine.jsonl")) == "train"
    assert split_name(SourceConfig(path="data/test.jsonl", split="heldout")) == "heldout"
