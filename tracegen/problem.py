"""The unit every stage passes along: a problem with its gold solution."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """A prompt with its gold (clean) solution.

    `solution` is in GSM8K's format: steps separated by "\\n", calculator annotations like
    `<<48/2=24>>`, and a last step `#### <answer>`. `source_id` is stable across runs
    (e.g. "train:17" for line 17 of train.jsonl) and seeds everything random about the row.
    A problem of the generic source says what its steps are (`step_split`, tracegen.stepsplit)
    and where its final answer sits (`answer_format`, tracegen.answer_format).
    """

    source_id: str
    question: str
    solution: str
    answer: str
    step_split: str = "line"
    answer_format: str = "gsm8k"
