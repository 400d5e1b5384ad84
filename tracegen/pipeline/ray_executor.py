"""`tracegen build --executor ray`: a build's chunks as Ray tasks, across a cluster.

The driver (the `tracegen build` process) loads and validates the inputs, samples weak-model
solutions (one response cache, one concurrency limit per server; the calls to a server go out
from client actors spread over the cluster: tracegen.llm.ray_clients), and writes every finished
chunk into the work folder itself: workers need no shared filesystem, and a chunk file is what
a local build writes, so a stopped Ray build resumes locally and the other way round. A task
gets its problems and the tokenizer's files (put once into the object store) and returns the
chunk's row results; rows depend on nothing but their problem (tracegen.pipeline.problem_rows), so the
output is byte-identical to a local build whichever worker ran which chunk.

A worker process that dies mid-task (killed, out of memory, a lost node) is a system failure:
Ray runs the task again, up to MAX_RETRIES times. An exception inside the task is a bug or bad
input and would fail the same way again, so it is not retried.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path

from tracegen.errors import InputError, first_line
from tracegen.pipeline.problem_rows import Chunk, chunk_rows, worker_tools
from tracegen.recipe import Recipe
from tracegen.rows.row import RowResult
from tracegen.stages import handoff, receive

MAX_RETRIES = 3
TASKS_PER_CPU = 2  # chunks in flight per cluster CPU: enough to keep workers busy, few enough to bound driver memory

_loaded: dict[str, tuple] = {}  # per worker process: tokenizer digest -> (tokenizer, row checker), reused across tasks


def _worker_tokenizer(files: dict[str, bytes], name: str, recipe: Recipe):
    digest = hashlib.sha256(
        b"".join(hashlib.sha256(files[k]).digest() for k in sorted(files)) + recipe.model_dump_json().encode()
    ).hexdigest()
    if digest not in _loaded:
        with tempfile.TemporaryDirectory() as folder:
            for file_name, data in files.items():
                (Path(folder) / file_name).write_bytes(data)
            _loaded[digest] = worker_tools(recipe, folder, name)
    return _loaded[digest]


def build_chunk(
    chunk: Chunk, recipe_json: str, stages: dict, tokenizer_files: dict[str, bytes], tokenizer_name: str
) -> tuple[int, list[RowResult]]:
    """One chunk's row results, computed on whichever worker Ray chose (with the stages the recipe names)."""
    receive(stages)
    recipe = Recipe.model_validate_json(recipe_json)
    tok, checker = _worker_tokenizer(tokenizer_files, tokenizer_name, recipe)
    index, items = chunk
    return index, chunk_rows(items, recipe, tok, checker)


def _connect(address: str | None) -> bool:
    """Join the cluster at `address` (None: $RAY_ADDRESS, a cluster running here, or a new local one); True if this
    call started Ray."""
    require_ray()
    import ray

    if ray.is_initialized():
        return False
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    except (ConnectionError, ValueError, RuntimeError) as e:
        raise InputError(f"cannot connect to the Ray cluster: {first_line(e)}", field="ray_address") from None
    return True


@contextmanager
def ray_session(address: str | None, active: bool = True) -> Iterator[None]:
    """Connected to the cluster at `address` for a whole build (sampling, then chunks); a Ray started here is
    shut down after it. Inactive: nothing (a local build)."""
    started = active and _connect(address)
    try:
        yield
    finally:
        if started:
            import ray

            ray.shutdown()


def iter_ray_chunk_results(
    chunks: Iterable[Chunk],
    recipe: Recipe,
    tokenizer_dir: Path,
    tokenizer_name: str,
    *,
    address: str | None = None,
) -> Iterator[tuple[int, list[RowResult]]]:
    """Each chunk's row results as its task finishes (any order), at most TASKS_PER_CPU tasks per cluster CPU in
    flight."""
    started = _connect(address)
    import ray

    running: list = []
    try:
        task = ray.remote(max_retries=MAX_RETRIES, retry_exceptions=False)(build_chunk)
        files = ray.put({p.name: p.read_bytes() for p in sorted(Path(tokenizer_dir).iterdir()) if p.is_file()})
        recipe_json, stages = recipe.model_dump_json(), handoff(recipe)
        limit = max(1, int(ray.cluster_resources().get("CPU", 1) * TASKS_PER_CPU))
        waiting = iter(chunks)
        while True:
            running += [
                task.remote(chunk, recipe_json, stages, files, tokenizer_name)
                for chunk in islice(waiting, limit - len(running))
            ]
            if not running:
                return
            done, running = ray.wait(running, num_returns=1)
            yield ray.get(done[0])
    finally:
        for ref in running:  # stopped early (Ctrl-C, an error): free the cluster's workers
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()


def require_ray() -> None:
    """Refuse `executor="ray"` before any work when Ray is not installed."""
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        raise InputError('Ray is not installed (pip install "tracegen[ray]")', field="executor")
