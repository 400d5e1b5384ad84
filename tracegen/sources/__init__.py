"""Problem sources, named by recipes: `gsm8k` (local JSONL or the Hub), `arith` (synthetic, offline) and
`generic` (any dataset with mapped columns, tracegen.sources.generic), and any registered in
`tracegen.stages.SOURCES` (the protocol: tracegen.sources.base)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from tracegen.problem import Problem
from tracegen.recipe import SourceConfig
from tracegen.recipe_data import AnswerConfig, StepsConfig
from tracegen.stages import SOURCES


def split_name(cfg: SourceConfig) -> str:
    """The exported split: the recipe's if it names one, else a local file's stem when that is a standard split."""
    if cfg.path is not None and "split" not in cfg.model_fields_set:
        stem = Path(cfg.path).stem
        if stem in ("train", "test", "validation"):
            return stem
    return cfg.split


def load_problems(
    cfg: SourceConfig, limit: int | None = None, steps: StepsConfig | None = None, answer: AnswerConfig | None = None
) -> list[Problem]:
    """All problems of the source (the first `limit`), validated before any output is written."""
    return list(iter_problems(cfg, limit, steps, answer))


def iter_problems(
    cfg: SourceConfig, limit: int | None = None, steps: StepsConfig | None = None, answer: AnswerConfig | None = None
) -> Iterator[Problem]:
    """The problems of the source (the first `limit`), one at a time: the same every time it is called."""
    split = split_name(cfg)
    source = SOURCES.get(cfg.name)
    return islice(
        source(cfg, split=split, limit=limit, steps=steps or StepsConfig(), answer=answer or AnswerConfig()), limit
    )
