"""`from tracegen import ...`: the public names, imported lazily."""

import subprocess
import sys

import pytest


def test_public_names_import_from_the_package():
    from tracegen import TraceCollator, TraceTokenizer
    from tracegen.export.tokenizer import TraceTokenizer as defined_tokenizer
    from tracegen.train.data import TraceCollator as defined_collator

    assert TraceCollator is defined_collator and TraceTokenizer is defined_tokenizer
    import tracegen

    assert {"TraceCollator", "TraceTokenizer"} <= set(tracegen.__all__) <= set(dir(tracegen))


def test_importing_the_package_loads_no_torch():
    code = "import sys, tracegen; assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_unknown_name_is_an_attribute_error():
    import tracegen

    with pytest.raises(AttributeError, match="no attribute 'Collator'"):
        tracegen.Collator  # noqa: B018
