"""`from tracegen import ...`: the public names, imported lazily."""

import subprocess
import sys

import pytest


def test_public_names_import_from_the_package():
    from tracegen import TraceCollator, TraceTokenizer
    from tracegen.tokens import TraceTokenizer as defined_tokenizer
    from tracegen.train.data import TraceCollator as defined_collator

    assert TraceCollator is defined_collator and TraceTokenizer is defined_tokenizer
    import tracegen

    assert {"TraceCollator", "TraceTokenizer"} <= set(tracegen.__all__) <= set(dir(tracegen))


def test_the_library_entry_points_are_the_functions_not_their_modules():
    import tracegen.decoding
    import tracegen.pipeline.build
    from tracegen import build, decode, load_recipe, open_dataset
    from tracegen.dataset.load import open_dataset as defined_open
    from tracegen.recipe import load_recipe as defined_load

    assert build is tracegen.pipeline.build.build and decode is tracegen.decoding.decode
    assert open_dataset is defined_open and load_recipe is defined_load
    assert {"build", "decode", "load_recipe", "open_dataset"} <= set(tracegen.__all__)


def test_a_python_caller_builds_and_opens_a_dataset_without_the_cli(tmp_path):
    from tracegen import build, load_recipe, open_dataset

    report = build(load_recipe("arith", {"limit": 20}), tmp_path / "out")
    data = open_dataset(str(tmp_path / "out"))
    assert len(data.rows) == report.rows == 20
    assert data.tok.decode(data.rows[0]["input_ids"]).startswith(data.rows[0]["prompt"])


def test_importing_the_package_loads_no_torch():
    code = "import sys, tracegen; assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_unknown_name_is_an_attribute_error():
    import tracegen

    with pytest.raises(AttributeError, match="no attribute 'Collator'"):
        tracegen.Collator  # noqa: B018
