"""GSM8K problems from a local JSONL file (`question`/`answer`) or from the Hub (`openai/gsm8k`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from tracegen.annotations import parse_annotations
from tracegen.errors import InputError, first_line
from tracegen.problem import Problem
from tracegen.recipe import SourceConfig
from tracegen.recipe_data import AnswerConfig, StepsConfig
from tracegen.sources.jsonl import read_jsonl_objects, require_str
from tracegen.steps import UnsafeExpression, evaluate, final_answer, parse_number


def problem_from_record(record: dict, *, source_id: str, file: str, line: int) -> Problem:
    question = require_str(record, "question", file=file, line=line)
    solution = require_str(record, "answer", file=file, line=line)
    answer = final_answer(solution)
    if answer is None:
        raise InputError("no final answer (a last line '#### <answer>')", file=file, line=line, field="answer")
    if parse_number(answer) is None:
        raise InputError(f"final answer {_short(answer)!r} is not a number", file=file, line=line, field="answer")
    for annotation in parse_annotations(solution):
        try:
            evaluate(annotation.expr)
        except UnsafeExpression:
            raise InputError(
                f"calculator annotation <<{_short(annotation.expr)}=...>> is not plain arithmetic",
                file=file,
                line=line,
                field="answer",
            ) from None
        except ZeroDivisionError:
            pass  # wrong arithmetic, not code: the rule generators leave such a step alone
    # a trailing newline would make an empty last step
    return Problem(source_id=source_id, question=question, solution=solution.rstrip("\n"), answer=answer)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def read_gsm8k_jsonl(path: str, split: str) -> Iterator[Problem]:
    for line, record in read_jsonl_objects(path):
        yield problem_from_record(record, source_id=f"{split}:{line}", file=path, line=line)


def read_gsm8k_hub(hub_id: str, config: str, split: str) -> Iterator[Problem]:
    """Rows of a Hub dataset with GSM8K's fields; row i is reported as line i+1."""
    from datasets import load_dataset

    try:
        rows: Iterable[dict] = load_dataset(hub_id, config, split=split)
    except Exception as e:  # offline, unknown repo, unknown split...
        raise InputError(
            f"cannot load from the Hub ({first_line(e)}); pass --source PATH to a local JSONL file",
            file=f"hf://{hub_id}",
        ) from None
    for index, record in enumerate(rows):
        yield problem_from_record(
            record, source_id=f"{split}:{index + 1}", file=f"hf://{hub_id}/{split}", line=index + 1
        )


def gsm8k_source(
    cfg: SourceConfig, *, split: str, limit: int | None, steps: StepsConfig, answer: AnswerConfig
) -> Iterator[Problem]:
    """The `gsm8k` source (tracegen.sources.base.ProblemSource): a local JSONL file, else the Hub."""
    if cfg.path is not None:
        return read_gsm8k_jsonl(cfg.path, split)
    return read_gsm8k_hub(cfg.hub_id, cfg.hub_config, cfg.split)
