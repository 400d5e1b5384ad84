"""A weak model's solution with its verdict: what the weak generators (gold-format and generic) read."""

from __future__ import annotations

from dataclasses import dataclass

from tracegen.verifiers.base import Divergence

MAX_DEVIATION_CHARS = 2_000


@dataclass(frozen=True)
class WeakSolution:
    """A solution a weak model wrote for one problem, with its verdict.

    `text` is the whole solution (in prefix mode: the gold prefix the model was given plus its
    continuation). `variant` tells apart the rows made from several solutions of one problem.
    `error` is None for a solution whose final answer is right; `skip` says why a solution can
    not be used at all (the backend failed, no final answer...), and `note` the details.
    """

    model: str
    text: str
    variant: str
    error: Divergence | None = None
    skip: str | None = None
    note: str = ""
    given_steps: int = 0  # prefix mode: the gold steps the model was given (the first lines of `text`)
