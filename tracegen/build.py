"""`tracegen build`: source -> deviation plans -> traces -> token columns -> dataset folder.

Every random choice about a row comes from `random.Random(f"{seed}:{source_id}")`, so a row
does not depend on the rows before it or on how work is split across processes: same recipe +
seed + inputs gives byte-identical files.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tracegen import __version__
from tracegen.errors import InputError
from tracegen.check import RowContext, RowError, check_row
from tracegen.export.card import write_card
from tracegen.export.rows import RowResult, build_row
from tracegen.export.tokenizer import TraceTokenizer
from tracegen.export.writer import MANIFEST, TOKENIZER_DIR, SplitWriter, staged_output
from tracegen.generators.rules import check_generators, plan_deviations
from tracegen.problem import Problem
from tracegen.recipe import Recipe
from tracegen.sources import load_problems, split_name

CHUNK = 64


@dataclass
class BuildReport:
    out: Path
    split: str
    problems: int = 0
    rows: int = 0
    traces_with_deviations: int = 0
    deviations: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)
    files: list[str] = field(default_factory=list)
    seconds: float = 0.0


def make_row(problem: Problem, recipe: Recipe, tok: TraceTokenizer, checker: RowContext) -> RowResult:
    """One row, proven before it is kept: a row breaking an invariant is dropped and counted, never written."""
    rng = random.Random(f"{recipe.seed}:{problem.source_id}")
    deviations, dropped = [], Counter()
    if recipe.export.loss != "clean" and rng.random() >= recipe.deviations.clean_fraction:
        plan = plan_deviations(problem, recipe.deviations, rng)
        deviations, dropped = plan.deviations, plan.dropped
    result = build_row(problem, deviations, tok, recipe.export, row_id=f"{recipe.name}:{problem.source_id}")
    result.dropped.update(dropped)
    if result.row is not None:
        try:
            check_row(result.row, checker)
        except RowError as e:
            result.dropped[f"failed_check:{e.rule}"] += 1
            result.row = None
    return result


def row_checker(recipe: Recipe, tok: TraceTokenizer) -> RowContext:
    export = recipe.export
    return RowContext.of(tok, export.undo_unit, export.context_mode, export.loss, export.chat_template)


_worker: tuple[Recipe, TraceTokenizer, RowContext] | None = None


def _init_worker(recipe_json: str, tokenizer_dir: str, tokenizer_name: str) -> None:
    from transformers import AutoTokenizer

    global _worker
    recipe = Recipe.model_validate_json(recipe_json)
    tok = TraceTokenizer(AutoTokenizer.from_pretrained(tokenizer_dir), tokenizer_name)
    _worker = (recipe, tok, row_checker(recipe, tok))


def _work(problems: list[Problem]) -> list[RowResult]:
    recipe, tok, checker = _worker
    return [make_row(p, recipe, tok, checker) for p in problems]


def iter_results(problems: list[Problem], recipe: Recipe, tok: TraceTokenizer, tokenizer_dir: Path, num_proc: int) -> Iterator[RowResult]:
    """Row results in problem order, computed in `num_proc` processes."""
    if num_proc <= 1:
        checker = row_checker(recipe, tok)
        for problem in problems:
            yield make_row(problem, recipe, tok, checker)
        return
    chunks = [problems[i : i + CHUNK] for i in range(0, len(problems), CHUNK)]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(num_proc, initializer=_init_worker, initargs=(recipe.model_dump_json(), str(tokenizer_dir), tok.name)) as pool:
        for results in pool.imap(_work, chunks):
            yield from results


def build(
    recipe: Recipe,
    out: Path,
    *,
    num_proc: int = 1,
    overwrite: bool = False,
    on_start: Callable[[int], None] = lambda total: None,
    on_advance: Callable[[int], None] = lambda n: None,
) -> BuildReport:
    """Build the dataset described by `recipe` into `out`; inputs are validated before anything is written."""
    started = time.perf_counter()
    check_generators(recipe.deviations.generators)
    problems = load_problems(recipe.source, recipe.limit)
    tok = TraceTokenizer.load(recipe.export.tokenizer)
    tok.require_roundtrip([text for p in problems[:100] for text in (p.question, p.solution)])
    if recipe.export.chat_template:
        tok.prompt_text("", recipe.export.prompt_template, chat=True)  # fail now if there is no template
    report = BuildReport(out=Path(out), split=split_name(recipe.source), problems=len(problems))
    on_start(len(problems))
    with staged_output(Path(out), overwrite=overwrite) as staging:
        tokenizer_sha = tok.save(staging / TOKENIZER_DIR)
        writer = SplitWriter(staging, report.split, rows_per_file=recipe.export.rows_per_file, jsonl=recipe.export.format == "jsonl")
        for result in iter_results(problems, recipe, tok, staging / TOKENIZER_DIR, num_proc):
            report.dropped.update(result.dropped)
            if result.row is not None:
                writer.add(result.row)
                report.deviations.update(result.kinds)
                report.traces_with_deviations += bool(result.row["deviations"])
            on_advance(1)
        report.rows = writer.rows
        if report.rows == 0:
            reasons = ", ".join(f"{reason} {count}" for reason, count in report.dropped.most_common(3))
            raise InputError(f"no rows to write: every one of {report.problems} problems was dropped ({reasons})", file=str(out))
        report.files = writer.close()
        manifest = _manifest(recipe, tok.info(tokenizer_sha), report)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        write_card(staging, manifest)
    report.seconds = time.perf_counter() - started
    return report


def _manifest(recipe: Recipe, tokenizer: dict, report: BuildReport) -> dict:
    """Everything needed to reproduce and check the dataset; no timestamps, so builds stay byte-identical."""
    return {
        "tracegen_version": __version__,
        "recipe": recipe.model_dump(mode="json"),
        "seed": recipe.seed,
        "tokenizer": tokenizer,
        "splits": {report.split: {"rows": report.rows, "problems": report.problems, "files": report.files}},
        "deviations_by_kind": dict(sorted(report.deviations.items())),
        "dropped": dict(sorted(report.dropped.items())),
        "traces_with_deviations": report.traces_with_deviations,
    }
