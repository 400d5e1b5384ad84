"""`tracegen build` and `tracegen merge`: source -> weak solutions -> rows, chunk by chunk -> dataset folder.

Rows do not depend on each other (tracegen.pipeline.problem_rows) and the dataset is assembled from
finished chunks (tracegen.pipeline.chunks): same recipe + seed + inputs gives byte-identical
files whether the build ran in one go, was killed and resumed, or was split across machines
and merged.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from tracegen import __version__
from tracegen.dataset.layout import CHUNKS_DIR, SHARD_MANIFEST, SKIPPED, TOKENIZER_DIR
from tracegen.dataset.manifest import Manifest
from tracegen.errors import InputError
from tracegen.generators.base import solution_generators
from tracegen.generators.sampling import collect_weak_solutions
from tracegen.generators.weak_solution import WeakSolution
from tracegen.hub.card import contamination_warning, write_card
from tracegen.llm.base import BackendDown
from tracegen.llm.ray_clients import ray_sampling_backend
from tracegen.pipeline.chunks import (
    CHUNK_PROBLEMS,
    WorkFolder,
    chunk_count,
    chunk_name,
    open_work_folder,
    read_chunk,
    read_summary,
    write_chunk,
)
from tracegen.pipeline.problem_rows import iter_chunk_results, summarize
from tracegen.pipeline.ray_executor import iter_ray_chunk_results, ray_session, require_ray
from tracegen.pipeline.writer import (
    SplitWriter,
    check_output_folder,
    staged_output,
    write_skipped,
)
from tracegen.problem import Problem
from tracegen.public import public_recipe
from tracegen.recipe import Recipe
from tracegen.rows.branches import branch_table, layout_schema
from tracegen.sources import iter_problems, split_name
from tracegen.stepsplit import use_step_split
from tracegen.tokens import TraceTokenizer

EXECUTORS = ("local", "ray")


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
    skipped_rows: int = 0  # rows not written, each listed with its reason in skipped.jsonl
    model_calls: dict = field(default_factory=dict)  # the model backend's stats (calls, cache hits, retries...)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)  # what a user must know before training on it (test-set rows)
    resumed_chunks: int = 0  # chunks a previous, stopped run of the same build had finished

    def add(self, summary: dict) -> None:
        """Count one finished chunk (tracegen.pipeline.problem_rows.summarize)."""
        self.deviations.update(summary["deviations"])
        self.dropped.update(summary["dropped"])
        self.skipped_rows += len(summary["skipped"])
        self.traces_with_deviations += summary["traces_with_deviations"]


def uses_weak_models(recipe: Recipe) -> bool:
    return recipe.plans_deviations and bool(solution_generators(recipe.deviations.generators))


def build(
    recipe: Recipe,
    out: Path,
    *,
    num_proc: int | None = 1,
    overwrite: bool = False,
    shard: tuple[int, int] = (0, 1),
    executor: str = "local",
    ray_address: str | None = None,
    on_phase: Callable[[str, int], None] = lambda description, total: None,
    on_advance: Callable[[int], None] = lambda n: None,
) -> BuildReport:
    """Build the dataset described by `recipe` into `out`; inputs are validated before anything is written.

    Finished chunks of work are kept next to `out` (tracegen.pipeline.chunks) until the dataset is
    complete: rerunning a stopped build resumes where it stopped. With `shard=(i, n)` only every
    n-th chunk from the i-th is built, and `out` receives a shard for `merge`. With weak-model
    deviations, the problems' solutions are sampled (or replayed) and verified first; model
    responses are cached, so resuming repeats no calls. `num_proc=None` uses every available CPU
    core; `executor="ray"` runs the chunks as tasks on the Ray cluster at `ray_address`
    (tracegen.pipeline.ray_executor) instead of local processes.
    """
    started = time.perf_counter()
    shard_index, num_shards = shard
    if executor not in EXECUTORS:
        raise InputError(f"unknown executor {executor!r} (known: {', '.join(EXECUTORS)})", field="executor")
    if executor == "ray":
        require_ray()
    elif ray_address is not None:
        raise InputError("a Ray address needs executor 'ray'", field="ray_address")
    if not 0 <= shard_index < num_shards:
        raise InputError(f"shard index {shard_index} is not in 0..{num_shards - 1}", field="shard")

    def problems() -> Iterator[Problem]:  # read again each time, never held in memory
        return iter_problems(recipe.source, recipe.limit, recipe.steps, recipe.answer)

    count, problems_sha256 = _scan(problems())  # every problem validated, none kept
    tok = TraceTokenizer.load(recipe.export.tokenizer)
    use_step_split(tok, recipe.steps.split, recipe.export.undo_unit)
    tok.require_roundtrip([text for p in islice(problems(), 100) for text in (p.question, p.solution)])
    if recipe.export.chat_template:
        tok.prompt_text("", recipe.export.prompt_template, chat=True)  # fail now if there is no template
    check_output_folder(Path(out), overwrite=overwrite)
    with tempfile.TemporaryDirectory() as scratch:
        tokenizer_sha = tok.save(Path(scratch))
    fingerprint = {
        "tracegen_version": __version__,
        "recipe": public_recipe(recipe.model_dump(mode="json")),  # no password, key or local path reaches a file
        "tokenizer": tok.info(tokenizer_sha),
        "split": split_name(recipe.source),
        "problems": count,
        "problems_sha256": problems_sha256,
    }
    fingerprint = json.loads(
        json.dumps(fingerprint, sort_keys=True)
    )  # as a shard stores it, so merged cards list keys alike
    mine = [k for k in range(chunk_count(count)) if k % num_shards == shard_index]
    with open_work_folder(Path(out), fingerprint) as (work, _), ray_session(ray_address, executor == "ray"):
        tok.save(work.path / TOKENIZER_DIR)
        todo = [k for k in mine if k not in work.done()]
        report = BuildReport(
            out=Path(out), split=fingerprint["split"], problems=count, resumed_chunks=len(mine) - len(todo)
        )
        sizes = {k: min(CHUNK_PROBLEMS, count - k * CHUNK_PROBLEMS) for k in todo}
        chunks = _chunks(problems(), sizes)
        solutions: dict[str, list[WeakSolution]] = {}
        if uses_weak_models(recipe):  # sampling batches requests across problems: these chunks are held in memory
            chunks = list(chunks)
            try:
                solutions = _weak_solutions(
                    recipe, [p for _, chunk in chunks for p in chunk], report, on_phase, on_advance, executor
                )
            except BackendDown as down:
                entries = [
                    {"id": f"{recipe.name}:{o.request.id}", "reason": "weak:backend_error", "detail": o.error}
                    for o in down.failures
                ]
                raise BackendDown(f"{down}{_failures_listed(work, Path(out), entries)}") from None
        on_phase(f"building {recipe.name}", sum(sizes.values()))
        items = ((k, [(p, solutions.get(p.source_id, [])) for p in chunk]) for k, chunk in chunks)
        if executor == "ray":
            results_by_chunk = iter_ray_chunk_results(
                items, recipe, work.path / TOKENIZER_DIR, tok.name, address=ray_address
            )
        else:
            processes = min(available_cores() if num_proc is None else num_proc, len(todo))
            results_by_chunk = iter_chunk_results(items, recipe, tok, work.path / TOKENIZER_DIR, processes)
        for index, results in results_by_chunk:
            rows, summary = summarize(results, problems=sizes[index])
            write_chunk(work.chunk_path(index), rows, summary)
            on_advance(summary["problems"])
        if num_shards > 1:
            _publish_shard(work, fingerprint, shard, mine, Path(out), overwrite)
        else:
            assemble(
                [work.chunk_path(k) for k in mine],
                fingerprint,
                work.path / TOKENIZER_DIR,
                Path(out),
                overwrite,
                report,
                work=work,
            )
    work.remove()
    report.seconds = time.perf_counter() - started
    return report


def available_cores() -> int:
    """The CPU cores this process may run on (a Slurm or container limit, not the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _scan(problems: Iterable[Problem]) -> tuple[int, str]:
    """How many problems there are and the sha256 of their content, reading each once."""
    digest, count = hashlib.sha256(), 0
    for p in problems:
        digest.update(json.dumps([p.source_id, p.question, p.solution, p.answer]).encode())
        count += 1
    return count, digest.hexdigest()


def _chunks(problems: Iterator[Problem], sizes: dict[int, int]) -> Iterator[tuple[int, list[Problem]]]:
    """The chunks named in `sizes` (index -> problems), in index order, read from the problems one chunk at a time."""
    for k in range(max(sizes, default=-1) + 1):
        chunk = list(islice(problems, CHUNK_PROBLEMS))
        if k in sizes:
            yield k, chunk


def _weak_solutions(
    recipe: Recipe, problems: list[Problem], report: BuildReport, on_phase, on_advance, executor: str
) -> dict[str, list[WeakSolution]]:
    if not uses_weak_models(recipe) or not problems:
        return {}
    on_phase(f"sampling ({recipe.deviations.weak.backend.kind})", len(problems))
    on_cluster = ray_sampling_backend(recipe.deviations.weak.backend) if executor == "ray" else None
    solutions, backend = collect_weak_solutions(
        problems, recipe.deviations, recipe.seed, on_advance=on_advance, backend=on_cluster
    )
    report.model_calls = dict(backend.stats)
    return solutions


def _failures_listed(work: WorkFolder, out: Path, entries: Iterable[dict]) -> str:
    """Write a failed build's list of failures into its work folder (kept: it is where a rerun resumes); say where."""
    if not entries:
        return ""
    write_skipped(work.path / SKIPPED, entries)
    shown = (
        out.parent / work.path.name / SKIPPED
    )  # as the user named the output, never an absolute path they did not type
    return f" Every failure is listed, with its reason, in {shown}"


def assemble(
    chunk_files: list[Path],
    fingerprint: dict,
    tokenizer_dir: Path,
    out: Path,
    overwrite: bool,
    report: BuildReport,
    work: WorkFolder | None = None,
) -> None:
    """The finished dataset, from chunk files alone (so resumed, one-go and merged builds write the same bytes).

    With no row to write, a build's list of skipped rows is left in its work folder `work`."""
    recipe = Recipe.model_validate(fingerprint["recipe"])
    with staged_output(out, overwrite=overwrite) as staging:
        shutil.copytree(tokenizer_dir, staging / TOKENIZER_DIR)
        branches = recipe.export.layout == "branches"
        schema = layout_schema(recipe.export.layout)
        writer = SplitWriter(
            staging,
            report.split,
            rows_per_file=recipe.export.rows_per_file,
            jsonl=recipe.export.format == "jsonl",
            schema=schema,
        )
        for path in chunk_files:
            table, summary = read_chunk(path)  # chunks hold packed rows whatever the layout
            writer.add(branch_table(table, undo_id=fingerprint["tokenizer"]["undo_id"]) if branches else table)
            report.add(summary)
        report.rows = writer.rows
        if report.rows == 0:
            reasons = ", ".join(f"{reason} {count}" for reason, count in report.dropped.most_common(3))
            listed = ""
            if work is not None and report.skipped_rows:
                listed = _failures_listed(work, out, _skipped(chunk_files))
            raise InputError(
                f"no rows to write: every one of {report.problems} problems was dropped ({reasons}).{listed}",
                file=str(out),
            )
        report.files = writer.close()
        write_skipped(staging / SKIPPED, _skipped(chunk_files))
        manifest = _manifest(fingerprint, report)
        manifest.write(staging)
        write_card(staging, manifest)
        report.warnings = [warning] if (warning := contamination_warning(manifest)) else []


def _skipped(chunk_files: list[Path]) -> Iterator[dict]:
    """The skipped rows' entries, read again from the chunks' summaries: never all held at once."""
    for path in chunk_files:
        yield from read_summary(path)["skipped"]


def _publish_shard(
    work: WorkFolder, fingerprint: dict, shard: tuple[int, int], chunks: list[int], out: Path, overwrite: bool
) -> None:
    with staged_output(out, overwrite=overwrite) as staging:
        shutil.copytree(work.path / TOKENIZER_DIR, staging / TOKENIZER_DIR)
        (staging / CHUNKS_DIR).mkdir()
        for k in chunks:
            shutil.copy2(work.chunk_path(k), staging / CHUNKS_DIR / chunk_name(k))
        info = {"fingerprint": fingerprint, "shard_index": shard[0], "num_shards": shard[1], "chunks": chunks}
        (staging / SHARD_MANIFEST).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def merge(shards: list[Path], out: Path, *, overwrite: bool = False) -> BuildReport:
    """Join the outputs of `build --num-shards N --shard-index i` (i = 0..N-1) into the dataset one build would have
    made."""
    started = time.perf_counter()
    infos = []
    for folder in shards:
        path = Path(folder) / SHARD_MANIFEST
        if not path.is_file():
            raise InputError(
                f"not a shard written by tracegen build --num-shards (no {SHARD_MANIFEST})", file=str(folder)
            )
        infos.append(json.loads(path.read_text(encoding="utf-8")))
    fingerprint = infos[0]["fingerprint"]
    for folder, info in zip(shards, infos):
        if info["fingerprint"] != fingerprint:
            raise InputError(f"was built from another recipe, input or tokenizer than {shards[0]}", file=str(folder))
    owner = {}
    for folder, info in zip(shards, infos):
        for k in info["chunks"]:
            if k in owner:
                raise InputError(
                    f"holds chunk {k}, which {owner[k]} holds too (the same shard given twice?)", file=str(folder)
                )
            owner[k] = folder
    expected = chunk_count(fingerprint["problems"])
    if missing := [k for k in range(expected) if k not in owner]:
        num_shards = infos[0]["num_shards"]
        raise InputError(
            f"shard {missing[0] % num_shards} of {num_shards} is missing (chunk {missing[0]} of {expected})",
            field="shards",
        )
    check_output_folder(Path(out), overwrite=overwrite)
    report = BuildReport(out=Path(out), split=fingerprint["split"], problems=fingerprint["problems"])
    chunk_files = [Path(owner[k]) / CHUNKS_DIR / chunk_name(k) for k in range(expected)]
    assemble(chunk_files, fingerprint, Path(shards[0]) / TOKENIZER_DIR, Path(out), overwrite, report)
    report.seconds = time.perf_counter() - started
    return report


def _manifest(fingerprint: dict, report: BuildReport) -> Manifest:
    return Manifest.model_validate(
        {
            "tracegen_version": fingerprint["tracegen_version"],
            "recipe": fingerprint["recipe"],
            "seed": fingerprint["recipe"]["seed"],
            "tokenizer": fingerprint["tokenizer"],
            "splits": {report.split: {"rows": report.rows, "problems": report.problems, "files": report.files}},
            "deviations_by_kind": dict(sorted(report.deviations.items())),
            "dropped": dict(sorted(report.dropped.items())),
            "skipped_rows": report.skipped_rows,
            "traces_with_deviations": report.traces_with_deviations,
        }
    )
