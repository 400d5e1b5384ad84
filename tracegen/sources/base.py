"""What a problem source provides, so that a recipe's `source.name` can name one of a user's own."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from tracegen.problem import Problem
from tracegen.recipe import SourceConfig
from tracegen.recipe_data import AnswerConfig, StepsConfig


class ProblemSource(Protocol):
    """Problems with their gold solutions, the same ones in the same order on every call.

    Registered in `tracegen.stages.SOURCES`. `split` is the exported split's name (also what a
    problem's `source_id` should start with); `limit`, when set, is how many problems are used
    (the caller also cuts the iterable there, so a source may ignore it); `steps` and `answer`
    are the recipe's data format sections.
    """

    def __call__(
        self, cfg: SourceConfig, *, split: str, limit: int | None, steps: StepsConfig, answer: AnswerConfig
    ) -> Iterable[Problem]: ...
