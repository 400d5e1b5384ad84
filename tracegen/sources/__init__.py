"""Problem sources, named by recipes: `gsm8k` (local JSONL or the Hub), `arith` (synthetic, offline) and
`generic` (any dataset with mapped columns, tracegen.sources.generic)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from tracegen.problem import Problem
from tracegen.recipe import SourceConfig
from tracegen.recipe_data import AnswerConfig, StepsConfig


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
    if cfg.name == "generic":
        from tracegen.sources.generic import read_generic

        return islice(read_generic(cfg, split, steps or StepsConfig(), answer or AnswerConfig()), limit)
    if cfg.name == "arith":
        from tracegen.sources.arith import generate_arith

        count = cfg.num_problems if limit is None else min(limit, cfg.num_problems)
        return generate_arith(
            count,
            seed=cfg.seed,
            min_steps=cfg.min_steps,
            max_steps=cfg.max_steps,
            max_number=cfg.max_number,
            split=split,
        )
    from tracegen.sources.gsm8k import read_gsm8k_hub, read_gsm8k_jsonl

    problems = (
        read_gsm8k_jsonl(cfg.path, split)
        if cfg.path is not None
        else read_gsm8k_hub(cfg.hub_id, cfg.hub_config, cfg.split)
    )
    return islice(problems, limit)
