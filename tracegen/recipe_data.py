"""Recipe sections for bringing any reasoning dataset: field mapping, step splitting, answer format.

`source.fields` maps tracegen's names to the dataset's columns; `steps.split` says what a step is
(tracegen.stepsplit); `answer.format` where the final answer sits (tracegen.answer_format). GSM8K
recipes leave all three at their defaults, and a recipe's dump (manifest, card, fingerprint) then
leaves them out, so existing datasets keep their bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from tracegen.answer_format import GSM8K, check_format
from tracegen.generators.base import solution_generators
from tracegen.stepsplit import LINE, check_split


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class FieldsConfig(_Section):
    """The dataset's column names for what tracegen reads."""

    question: str = Field("question", min_length=1)
    solution: str = Field("solution", min_length=1)
    answer: str | None = Field(
        None,
        min_length=1,
        description="a column with the final answer; unset: taken from the solution by answer.format",
    )
    id: str | None = Field(
        None, min_length=1, description="a column with a stable id; unset: the split and the row number"
    )


def _checked_by(check: Callable[[str], None]) -> AfterValidator:
    """A validator running `check` (which raises ValueError on a bad value)."""

    def validate(value: str) -> str:
        check(value)
        return value

    return AfterValidator(validate)


class StepsConfig(_Section):
    split: Annotated[str, _checked_by(check_split)] = Field(
        LINE, min_length=1, description="line | paragraph (blank-line separated) | a regex matching the separator"
    )


class AnswerConfig(_Section):
    format: Annotated[str, _checked_by(check_format)] = Field(
        GSM8K, min_length=1, description="gsm8k (#### x) | boxed (\\boxed{x}) | last_number | a regex with one group"
    )


PROSE_GENERATORS = {
    "prose_wrong_result": 1.0,
    "prose_digit_swap": 0.5,
    "prose_wrong_operand": 1.0,
    "prose_copy_error": 1.0,
}
"""What a recipe whose data is not GSM8K-shaped gets when it names no generators (tracegen.generators.prose)."""

PROSE_PREFIX = "prose_"
GSM8K_SHAPED = (LINE, GSM8K)


def is_gsm8k_shaped(steps: StepsConfig, answer: AnswerConfig) -> bool:
    """Line steps and `#### x` answers: the calculator-annotation rules apply."""
    return (steps.split, answer.format) == GSM8K_SHAPED


def default_generators(data: dict) -> None:
    """A recipe dict naming no generators gets those that fit its data format (before validation)."""
    steps, answer = data.get("steps") or {}, data.get("answer") or {}
    if not isinstance(steps, dict) or not isinstance(answer, dict):
        return
    if (steps.get("split", LINE), answer.get("format", GSM8K)) == GSM8K_SHAPED:
        return
    deviations = data.setdefault("deviations", {})
    if isinstance(deviations, dict) and "generators" not in deviations:
        deviations["generators"] = dict(PROSE_GENERATORS)


def annotation_rules(generators: dict[str, float]) -> list[str]:
    """The calculator-annotation rules a recipe names (not those taking model solutions, not prose)."""
    from_models = solution_generators(generators)
    return [
        name
        for name, weight in generators.items()
        if weight > 0 and name not in from_models and not name.startswith(PROSE_PREFIX)
    ]
