"""Training to parity: each trace variant also trains until it is as good as clean SFT on clean tokens.

At an equal token budget a trace variant sees fewer clean tokens than clean SFT (part of each row
is a deviation and its undos), so it may lag on the task for that reason alone. To separate the
two, every trace variant's run goes on past the budget until its *clean-token loss* (mean loss
on the held-out problems' clean solutions, teacher-forced: what clean SFT minimises, and what a
model that puts probability on `<UNDO>` at correct states pays for) is at most clean SFT's mean
over seeds, or until `PARITY_CAP` times the budget. One run gives both reports: the equal-token
evaluation at the budget step (the learning-rate schedule reaches its minimum there, exactly as
in a run of that length, and stays at the minimum after), and the parity evaluation where it
stops. The clean-token loss is checked every `1 / CHECKS_PER_BUDGET` of the budget.
"""

from __future__ import annotations

from collections.abc import Callable

from tracegen.dataset.load import TraceDataset
from tracegen.train.data import TraceCollator
from tracegen.train.evaluate import teacher_forced
from tracegen.validate.plan import CHECKS_PER_BUDGET, PARITY_CAP

PARITY_WEIGHT = 1.75
"""What the budget planner expects one parity run to cost, in equal-token runs (between 1 and PARITY_CAP)."""


def clean_token_loss(model, clean: TraceDataset, batch_size: int = 32) -> float:
    """Mean loss per labelled token on `clean` (a held-out dataset built with loss=clean: every label a clean
    token)."""
    collate = TraceCollator(clean.tok.undo_id)
    return teacher_forced(
        model, clean.rows, collate, undo_id=clean.tok.undo_id, step_ends=clean.tok.delimiters, batch_size=batch_size
    )["eval_loss"]


class ParityWatch:
    """The trainer's `on_eval` for one trace-variant run: the equal-token evaluation at `budget_steps`, then stop at
    parity or the cap."""

    def __init__(
        self, *, budget_steps: int, target_loss: float, clean: TraceDataset, measure: Callable[[object], dict]
    ):
        self.budget_steps, self.target_loss, self.clean, self.measure = budget_steps, target_loss, clean, measure
        self.cap_steps = PARITY_CAP * budget_steps
        self.equal: dict = {}
        self.parity: dict = {}

    def __call__(self, model, step: int, trainer_metrics: dict) -> bool:
        if step < self.budget_steps:
            return False
        loss = clean_token_loss(model, self.clean)
        if step == self.budget_steps:
            self.equal = {"metrics": self.measure(model), "train": dict(trainer_metrics), "clean_token_loss": loss}
        reached = loss <= self.target_loss
        if not reached and step < self.cap_steps:
            return False
        metrics = self.equal["metrics"] if step == self.budget_steps else self.measure(model)
        self.parity = {
            "reached": reached,
            "steps": step,
            "budget_multiple": step / self.budget_steps,
            "clean_token_loss": loss,
            "metrics": metrics,
        }
        return True

    def steps_per_check(self) -> int:
        return max(1, self.budget_steps // CHECKS_PER_BUDGET)
