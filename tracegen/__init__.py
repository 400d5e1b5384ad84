"""tracegen: training traces that teach language models to take back their own mistakes with <UNDO>.

The public names below are imported lazily (PEP 562), so `import tracegen` stays cheap: the CLI and
worker processes do not pay for torch or transformers until a name that needs them is used.
"""

from importlib import import_module

__version__ = "0.1.0"

UNDO_TOKEN = "<UNDO>"

_LAZY = {
    "build": "tracegen.pipeline.build",  # build(recipe, out, ...) -> BuildReport
    "decode": "tracegen.decoding",  # the KV-trimming <UNDO> decoder
    "load_recipe": "tracegen.recipe",  # a built-in recipe name or a YAML path, with dotted overrides
    "open_dataset": "tracegen.dataset.load",  # a built folder or Hub id -> rows, manifest, tokenizer
    "read_manifest": "tracegen.dataset.manifest",  # a built folder's tracegen.json, typed (Manifest)
    "TraceCollator": "tracegen.train.data",  # needs torch
    "TraceTokenizer": "tracegen.tokens",
}

__all__ = ["UNDO_TOKEN", "__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'tracegen' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
