"""The dataset contract: one typed manifest, written and read by the same model, with errors that name the field."""

import json

import pytest

from tracegen import build, load_recipe, open_dataset
from tracegen.dataset.layout import MANIFEST
from tracegen.dataset.load import dataset_folder
from tracegen.dataset.manifest import Manifest, parse_manifest, read_manifest
from tracegen.errors import InputError


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("manifest") / "out"
    build(load_recipe("arith", {"limit": 12, "export.context_mode": "hard"}), out)
    return out


def written(out) -> dict:
    return json.loads((out / MANIFEST).read_text(encoding="utf-8"))


def test_reading_and_writing_a_manifest_gives_back_its_bytes(built, tmp_path):
    manifest = read_manifest(built)
    assert manifest.to_json() == (built / MANIFEST).read_text(encoding="utf-8")
    manifest.write(tmp_path)
    assert (tmp_path / MANIFEST).read_bytes() == (built / MANIFEST).read_bytes()


def test_the_manifest_is_read_by_attribute(built):
    manifest = read_manifest(built)
    data = written(built)
    assert manifest.recipe.export.context_mode == "hard" == data["recipe"]["export"]["context_mode"]
    assert manifest.tokenizer.undo_id == data["tokenizer"]["undo_id"]
    assert manifest.rows == data["splits"]["train"]["rows"] == 12
    assert manifest.files == data["splits"]["train"]["files"]
    assert manifest.recipe.step_split == "line" and manifest.recipe.answer_format == "gsm8k"  # the dump omits both
    assert isinstance(open_dataset(str(built)).manifest, Manifest)


def test_keys_of_a_newer_tracegen_are_kept_not_refused(built):
    data = written(built)
    data["provenance"] = {"host_count": 4}
    data["recipe"]["export"]["new_option"] = [1, 2]
    data["splits"]["train"]["bytes"] = 123
    manifest = parse_manifest(data)
    assert manifest.recipe.export.context_mode == "hard"
    assert json.loads(manifest.to_json()) == data


@pytest.mark.parametrize(
    "change,field,what",
    [
        (lambda m: m.pop("splits"), "splits", "missing"),
        (lambda m: m.update(splits={}), "splits", "at least 1 item"),
        (lambda m: m["splits"]["train"].update(rows="12"), "splits.train.rows", "valid integer"),
        (lambda m: m["recipe"]["export"].update(context_mode="sideways"), "recipe.export.context_mode", "'soft'"),
        (lambda m: m["tokenizer"].pop("undo_id"), "tokenizer.undo_id", "missing"),
    ],
)
def test_a_broken_manifest_is_one_line_naming_file_and_field(built, tmp_path, change, field, what):
    data = written(built)
    change(data)
    (tmp_path / MANIFEST).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_manifest(tmp_path, shown="me/data")
    message = str(caught.value)
    assert message.startswith(f"me/data/{MANIFEST}: field '{field}': not a valid tracegen manifest")
    assert what in message and "\n" not in message and str(tmp_path) not in message


def test_a_manifest_that_is_not_json_names_the_file(tmp_path):
    (tmp_path / MANIFEST).write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match=f"{MANIFEST}: not a valid tracegen manifest \\(JSONDecodeError"):
        read_manifest(tmp_path)


def test_a_folder_without_a_manifest_is_not_a_dataset(tmp_path):
    with pytest.raises(InputError, match="not a tracegen dataset folder"):
        dataset_folder(str(tmp_path))
    with pytest.raises(InputError, match="not a tracegen dataset folder"):
        read_manifest(tmp_path)
