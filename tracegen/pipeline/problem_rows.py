"""The rows of each problem, built and proven in any number of processes.

Every random choice about a row comes from `random.Random(f"{seed}:{source_id}")`, so a row
does not depend on the rows before it or on how work is split across processes or machines.
"""

from __future__ import annotations

import multiprocessing
import random
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from tracegen.dataset.check_rows import RowContext, RowError, check_row
from tracegen.generators.base import Deviation, DeviationPlan, Skipped, SolutionGenerator, solution_generators
from tracegen.generators.plan import plan_problem
from tracegen.generators.planner import draw_detected_after
from tracegen.generators.weak_solution import WeakSolution
from tracegen.problem import Problem
from tracegen.recipe import Recipe
from tracegen.rows.row import RowResult, build_row
from tracegen.stages import GENERATORS, handoff, receive
from tracegen.stepsplit import use_step_split
from tracegen.tokens import TraceTokenizer, from_pretrained


def make_rows(
    problem: Problem, solutions: list[WeakSolution], recipe: Recipe, tok: TraceTokenizer, checker: RowContext
) -> list[RowResult]:
    """The rows of one problem: one, or with `weak.one_row_per_solution` one per weak solution."""
    row_id = f"{recipe.name}:{problem.source_id}"
    devs = recipe.deviations
    if devs.weak is not None and devs.weak.one_row_per_solution and recipe.plans_deviations:
        rng = random.Random(f"{recipe.seed}:{problem.source_id}")
        detected_after = [draw_detected_after(devs, rng) for _ in solutions]
        generator = GENERATORS.get(next(iter(solution_generators(devs.generators))))
        return [
            _weak_row(
                generator,
                problem,
                solution,
                after,
                recipe,
                tok,
                checker,
                f"{row_id}:{solution.variant}" if solution.variant else row_id,
            )
            for solution, after in zip(solutions, detected_after)
        ]
    rng = random.Random(f"{recipe.seed}:{problem.source_id}")
    plan = DeviationPlan()
    if recipe.plans_deviations and rng.random() >= devs.clean_fraction:
        plan = plan_problem(problem, devs, solutions, rng)
    result = proven_row(problem, plan.deviations, recipe, tok, checker, row_id)
    result.dropped.update(plan.dropped)
    return [result]


def _weak_row(
    generator: SolutionGenerator,
    problem: Problem,
    solution: WeakSolution,
    detected_after: int,
    recipe: Recipe,
    tok: TraceTokenizer,
    checker: RowContext,
    row_id: str,
) -> RowResult:
    deviation = generator.deviation(problem, solution, detected_after)
    if isinstance(deviation, Skipped):
        return RowResult(row=None, row_id=row_id, note=solution.note).skip(deviation.reason)
    result = proven_row(problem, [deviation], recipe, tok, checker, row_id)
    if (
        result.row is not None and not result.row["deviations"]
    ):  # why placement failed: tokenizer_boundary, deviation_prefix_of_clean, ...
        result.skip(f"weak:{next(iter(result.dropped), 'deviation_not_placed')}")
    return result


def proven_row(
    problem: Problem,
    deviations: list[Deviation],
    recipe: Recipe,
    tok: TraceTokenizer,
    checker: RowContext,
    row_id: str,
) -> RowResult:
    """One row, proven before it is kept: a row breaking an invariant is dropped and counted, never written."""
    result = build_row(problem, deviations, tok, recipe.export, row_id=row_id)
    if result.row is not None:
        try:
            check_row(result.row, checker)
        except RowError as e:
            result.skip(f"failed_check:{e.rule}")
    return result


def row_checker(recipe: Recipe, tok: TraceTokenizer) -> RowContext:
    return RowContext.for_export(tok, recipe.export, recipe.answer.format)


CHUNKS_IN_FLIGHT_PER_PROCESS = 4
_worker: tuple[Recipe, TraceTokenizer, RowContext] | None = None
Chunk = tuple[int, list[tuple[Problem, list[WeakSolution]]]]  # chunk index, its problems with their weak solutions


def worker_tools(recipe: Recipe, tokenizer_dir: str | Path, tokenizer_name: str) -> tuple[TraceTokenizer, RowContext]:
    """What a worker process builds rows with: the build's saved tokenizer (with the recipe's step split) and its row
    checker."""
    tok = TraceTokenizer(from_pretrained(tokenizer_dir), tokenizer_name)
    use_step_split(tok, recipe.steps.split, recipe.export.undo_unit)
    return tok, row_checker(recipe, tok)


def _init_worker(recipe_json: str, stages: dict, tokenizer_dir: str, tokenizer_name: str) -> None:
    global _worker
    receive(stages)
    recipe = Recipe.model_validate_json(recipe_json)
    _worker = (recipe, *worker_tools(recipe, tokenizer_dir, tokenizer_name))


def chunk_rows(
    items: list[tuple[Problem, list[WeakSolution]]], recipe: Recipe, tok: TraceTokenizer, checker: RowContext
) -> list[RowResult]:
    """The rows of a chunk's problems, their prompts and solutions encoded in one batch first."""
    export = recipe.export
    if not export.chat_template:
        tok.prefetch(
            text
            for problem, _ in items
            for text in (tok.prompt_text(problem.question, export.prompt_template, False), problem.solution)
        )
    return [result for problem, solutions in items for result in make_rows(problem, solutions, recipe, tok, checker)]


def _work(chunk: Chunk) -> tuple[int, list[RowResult]]:
    recipe, tok, checker = _worker
    index, items = chunk
    return index, chunk_rows(items, recipe, tok, checker)


def iter_chunk_results(
    chunks: Iterable[Chunk], recipe: Recipe, tok: TraceTokenizer, tokenizer_dir: Path, num_proc: int
) -> Iterator[tuple[int, list[RowResult]]]:
    """Each chunk's row results, in chunk order, computed in `num_proc` processes."""
    if num_proc <= 1:
        checker = row_checker(recipe, tok)
        for index, items in chunks:
            yield index, chunk_rows(items, recipe, tok, checker)
        return
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(
        num_proc,
        initializer=_init_worker,
        initargs=(recipe.model_dump_json(), handoff(recipe), str(tokenizer_dir), tok.name),
    ) as pool:
        pending = iter(chunks)
        # a few chunks per process at a time: Pool.imap would read every chunk into its queue at once
        while window := list(islice(pending, CHUNKS_IN_FLIGHT_PER_PROCESS * num_proc)):
            yield from pool.imap(_work, window)


DUPLICATE_ROW = "duplicate_row"


def drop_duplicate_rows(results: list[RowResult]) -> None:
    """Skip every row whose `input_ids` an earlier row of the chunk already has (counted as `duplicate_row`).

    Identical rows come from samples a model wrote alike (a weak model answering every sample the
    same way); training on copies only reweights them. All rows of a problem are in one chunk, so
    the outcome does not depend on how the build was split, resumed or merged.
    """
    first_with: dict[tuple[int, ...], str] = {}
    for result in results:
        if result.row is None:
            continue
        key = tuple(result.row["input_ids"])
        if key in first_with:
            result.note = f"same input_ids as {first_with[key]}"
            result.skip(DUPLICATE_ROW)
        else:
            first_with[key] = result.row_id


def summarize(results: list[RowResult], problems: int) -> tuple[list[dict], dict]:
    """A chunk's rows, and what the manifest needs to know of it (counts, and every row not written with its
    reason)."""
    drop_duplicate_rows(results)
    rows, deviations, dropped, skipped = [], Counter(), Counter(), []
    for result in results:
        dropped.update(result.dropped)
        if result.row is None:
            entry = {"id": result.row_id, "reason": result.skip_reason}
            skipped.append(entry | {"detail": result.note} if result.note else entry)
        else:
            rows.append(result.row)
            deviations.update(result.kinds)
    summary = {
        "problems": problems,
        "rows": len(rows),
        "traces_with_deviations": sum(bool(row["deviations"]) for row in rows),
        "deviations": dict(deviations),
        "dropped": dict(dropped),
        "skipped": skipped,
    }
    return rows, summary
