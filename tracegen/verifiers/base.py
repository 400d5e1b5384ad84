"""What every verifier shares: the first-error record (`Divergence`, its `KINDS`), the `Verifier`
protocol, and `first_errors` for batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

KINDS = ("false_annotation", "unsupported_value", "misread", "wrong_operation", "wrong_final", "dead_end", "judged")
"""What a first error can be (each a property of that one step):

- `false_annotation`: the step's own arithmetic is false: a calculator annotation whose
  expression does not give its result (`<<16*7=102>>`), a number written after it that differs
  from it (`<<40-64=-24>>24`), or a plain equation in the text that does not hold
  (`35 x 20/100 = $5`).
- `unsupported_value`: the step uses a number nothing justifies: not in the question (in digits
  or words: `three`, `half`, `dozen`, `25%`), not a constant of the units the question talks
  about (7 days a week, 60 minutes an hour), not in the gold solution, not computed earlier.
  An invented fact (`5 days` in a week) or a misquoted number that the question never states.
- `misread`: every operand is justified, but the step computes a quantity the gold chain never
  has and nothing later turns into one: it relates the question's quantities wrongly (the
  discount of the whole bill instead of one item, a question number used for another quantity).
- `wrong_operation`: as `misread`, but with one operator changed the step would compute a
  quantity of the gold chain: right values, wrong operation (`96/6` where gold has `6*96`).
- `wrong_final`: no step is wrong, but the solution answers something else: it stops early
  (answers an intermediate quantity), answers a value no step computes, or gives no answer.
  The step is where it concludes: the last step that computes the value it answers, else
  the final line.
- `dead_end` (rollout verifier only): no continuation sampled after the step reaches the gold
  answer; what is wrong with it is not diagnosed.
- `judged` (critic and ensemble verifiers): an LLM judge names the step as the earliest error;
  what is wrong with it is the judge's to say, not diagnosed here.
"""


@dataclass(frozen=True)
class Divergence:
    step_index: int  # 0-based index into solution.split("\n") of the first wrong step
    kind: str  # one of KINDS
    reason: str  # short, for humans: "96/6 divides where 96*6 gives the gold value 576"


class Verifier(Protocol):
    def first_error(self, question: str, gold: str, solution: str) -> Divergence | None:
        """The first wrong step of `solution`; None when its final answer equals the gold answer."""
        ...


def first_errors(verifier: Verifier, items: Sequence[tuple[str, str, str]]) -> list[Divergence | None]:
    """`first_error` of each (question, gold, solution); in one batch where the verifier judges batches
    (critic, ensemble: one concurrent backend run), else one by one."""
    batch = getattr(verifier, "first_errors", None)
    if batch is not None:
        return batch(items)
    return [verifier.first_error(*item) for item in items]
