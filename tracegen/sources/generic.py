"""Any reasoning dataset as problems: a JSONL or Parquet file, or a Hub dataset, with mapped columns.

`source.fields` names the columns holding the question, the solution and, optionally, the final
answer and a stable id. Without an answer column the answer is read from the solution
(`answer.format`); with one, the solution must state the same answer (after normalisation) when it
states one at all, and a null answer is read from the solution. Rows are reported by their 1-based line (JSONL) or row
number (Parquet, Hub).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from tracegen.answer_format import BOXED, GSM8K, LAST_NUMBER, extract_answer, same_answer
from tracegen.errors import InputError, first_line
from tracegen.problem import Problem
from tracegen.recipe import SourceConfig
from tracegen.recipe_data import AnswerConfig, FieldsConfig, StepsConfig
from tracegen.sources.jsonl import read_jsonl_objects, require_str

_SUFFIX_FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}
_WHERE_ANSWER = {GSM8K: "a last line '#### <answer>'", BOXED: "a \\boxed{...}", LAST_NUMBER: "a number"}


def read_generic(cfg: SourceConfig, split: str, steps: StepsConfig, answer: AnswerConfig) -> Iterator[Problem]:
    """The problems of a generic source, validated one record at a time."""
    fields = cfg.fields or FieldsConfig()
    fmt = source_format(cfg)
    if fmt == "jsonl":
        records: Iterable[tuple[int, dict]] = read_jsonl_objects(cfg.path)
        name = cfg.path
    else:
        name, columns, records = _table_records(cfg, fmt, split)
        _require_columns(fields, columns, file=name)
    seen_ids: dict[str, int] = {}
    for line, record in records:
        problem = problem_from_record(record, fields, split=split, steps=steps, answer=answer, file=name, line=line)
        first = seen_ids.setdefault(problem.source_id, line)
        if first != line:
            raise InputError(
                f"id {problem.source_id.partition(':')[2]!r} appears twice (first on line {first})",
                file=name,
                line=line,
                field=fields.id,
            )
        yield problem


def source_format(cfg: SourceConfig) -> str:
    if cfg.format is not None:
        return cfg.format
    if cfg.path is None:
        return "hf"
    return _SUFFIX_FORMATS.get(Path(cfg.path).suffix.lower(), "hf" if Path(cfg.path).is_dir() else "jsonl")


def problem_from_record(
    record: dict, fields: FieldsConfig, *, split: str, steps: StepsConfig, answer: AnswerConfig, file: str, line: int
) -> Problem:
    _require_columns(fields, list(record), file=file, line=line)
    question = _text(record, fields.question, file=file, line=line)
    solution = _text(record, fields.solution, file=file, line=line).replace("\r\n", "\n").strip()
    stated = extract_answer(solution, answer.format)
    if fields.answer is None or record[fields.answer] is None:  # no answer column, or none on this row
        if stated is None:
            where = _WHERE_ANSWER.get(answer.format, f"a match of {answer.format!r}")
            raise InputError(
                f"no final answer in the solution (answer.format {answer.format}: expected {where})",
                file=file,
                line=line,
                field=fields.solution,
            )
        final = stated
    else:
        final = _scalar(record, fields.answer, file=file, line=line)
        if stated is not None and not same_answer(stated, final):
            raise InputError(
                f"answer {final!r} differs from the one the solution states ({stated!r})",
                file=file,
                line=line,
                field=fields.answer,
            )
        if answer.format == GSM8K and stated != final:
            raise InputError(
                f"the solution has no '#### {final}' line (answer.format gsm8k)",
                file=file,
                line=line,
                field=fields.solution,
            )
    key = _scalar(record, fields.id, file=file, line=line) if fields.id is not None else str(line)
    return Problem(f"{split}:{key}", question, solution, final, steps.split, answer.format)


def _require_columns(fields: FieldsConfig, columns: list[str], *, file: str, line: int | None = None) -> None:
    """A mapped column missing from the data names itself and the columns there are."""
    for role in ("question", "solution", "answer", "id"):
        column = getattr(fields, role)
        if column is not None and column not in columns:
            there = ", ".join(repr(c) for c in columns[:20]) or "none"
            raise InputError(
                f"no column {column!r} (mapped as {role}); the data has {there}",
                file=file,
                line=line,
                field=f"source.fields.{role}",
            )


def _text(record: dict, column: str, *, file: str, line: int) -> str:
    return require_str(record, column, file=file, line=line)


def _scalar(record: dict, column: str, *, file: str, line: int) -> str:
    """An answer or id: a string, or a number written as text."""
    value = record[column]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return _text(record, column, file=file, line=line)  # raises, naming the type
    text = str(value).strip()
    if not text:
        raise InputError("empty", file=file, line=line, field=column)
    return text


def _table_records(cfg: SourceConfig, fmt: str, split: str) -> tuple[str, list[str], Iterator[tuple[int, dict]]]:
    """(name for errors, column names, (row number, record) pairs) of a Parquet file or a Hub dataset."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        path = Path(cfg.path)
        if not path.is_file():
            raise InputError("no such file", file=cfg.path)
        try:
            table = pq.read_table(path)
        except Exception as e:  # not parquet, truncated
            raise InputError(
                f"cannot read as Parquet ({type(e).__name__}: {str(e).strip()[:120]})", file=cfg.path
            ) from None
        return cfg.path, table.column_names, enumerate(table.to_pylist(), start=1)
    from datasets import load_dataset

    location = cfg.path if cfg.path is not None else cfg.hub_id
    if cfg.path is None and "hub_id" not in cfg.model_fields_set:
        raise InputError(
            "the generic source needs a file (source.path or --source) or a Hub dataset (source.hub_id)",
            field="source",
        )
    config = cfg.hub_config if "hub_config" in cfg.model_fields_set else None
    name = f"hf://{location}/{split}" if cfg.path is None else location
    try:
        rows = load_dataset(location, config, split=cfg.split)
    except Exception as e:  # offline, unknown repo, unknown split...
        raise InputError(
            f"cannot load the dataset ({first_line(e)}); pass --source PATH to a local JSONL or Parquet file",
            file=name,
        ) from None
    return name, list(rows.column_names), enumerate(rows, start=1)


def generic_source(
    cfg: SourceConfig, *, split: str, limit: int | None, steps: StepsConfig, answer: AnswerConfig
) -> Iterator[Problem]:
    """The `generic` source (tracegen.sources.base.ProblemSource): any dataset, its columns mapped by `fields`."""
    return read_generic(cfg, split, steps, answer)
