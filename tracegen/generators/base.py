"""What every deviation generator produces: a text-level plan of one mistake.

The trace core (tracegen.trace) turns plans into tokens; generators never see tokens.
"""

from collections import Counter
from dataclasses import dataclass, field

WEAK_GENERATOR = "weak"  # the generator name that takes deviations from a weak model's solutions


@dataclass(frozen=True)
class Deviation:
    """One mistake, placed in a gold solution.

    The deviation starts at character `start_in_step` of gold step `step_index` (the text of the
    step before that point is shared with the gold step). `text` is what the model writes from
    there on: the rest of the wrong step and, when `detected_after` = k > 0, the k following
    steps carrying the wrong value. `text` ends with "\\n" unless its last step is the solution's
    final step. `reason` says in a few words what is wrong (for humans and the card).
    `weak_solution` is the whole solution a weak model wrote, for deviations taken from one.
    """

    kind: str
    step_index: int
    start_in_step: int
    text: str
    detected_after: int = 0
    reason: str = ""
    weak_solution: str = ""


@dataclass
class DeviationPlan:
    """The deviations chosen for one problem (sorted by step, at most one per step) and why others were dropped."""

    deviations: list[Deviation] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)
