"""`tracegen build --recipe gsm8k-weak --backend openai` over real HTTP, against a loopback server that misbehaves.

The server answers with real weak-model solutions (replayed from the shared file) and injects
429s with Retry-After, 500s, malformed bodies, dropped connections and stalls past the client
timeout; one problem is refused for good. The build must finish, every problem must end as
rows or as listed skips with a reason, and a rerun must be served from the cache with no calls.
"""

import json

import pyarrow.parquet as pq
import pytest
from loopback_server import Fault, LoopbackServer
from typer.testing import CliRunner

from tracegen.cli import app
from tracegen.dataset.check import check_dataset

PROBLEMS = 12
SAMPLES = 3
runner = CliRunner()


@pytest.fixture(scope="module")
def weak_files(tmp_path_factory):
    from conftest import GSM8K_DIR

    if not (GSM8K_DIR / "example_model_solutions.jsonl").exists():
        pytest.skip("../shared/data/gsm8k is not present")
    root = tmp_path_factory.mktemp("live")
    with (GSM8K_DIR / "test.jsonl").open() as src:
        (root / "test.jsonl").write_text("".join(line for _, line in zip(range(PROBLEMS), src)))
    with (GSM8K_DIR / "example_model_solutions.jsonl").open() as src:
        records = [json.loads(line) for _, line in zip(range(PROBLEMS), src)]
    solutions = {r["question"]: [v["solution"] for v in r.values() if isinstance(v, dict)] for r in records}
    return root / "test.jsonl", solutions, [r["question"] for r in records]


def replying_with(solutions):
    def reply(prompt: str, index: int) -> str:
        question = next(q for q in solutions if q in prompt)
        return solutions[question][index % len(solutions[question])]

    return reply


def build_args(gold, base_url, out, cache):
    return [
        "build", "--recipe", "gsm8k-weak", "--source", str(gold), "--out", str(out),
        "--backend", "openai", "--base-url", base_url, "--model", "weak-model",
        "--set", f"deviations.weak.samples={SAMPLES}",
        "--set", f"deviations.weak.backend.cache={cache}",
        "--set", "deviations.weak.backend.timeout_s=0.5",
        "--set", "deviations.weak.backend.backoff_base_s=0.01",
        "--set", "deviations.weak.backend.concurrency=4",
    ]  # fmt: skip


def test_build_survives_a_faulty_server_lists_every_failure_and_reruns_from_cache(tmp_path, weak_files):
    gold, solutions, questions = weak_files
    script = [
        Fault("429", retry_after=0.05),
        Fault("500"),
        Fault("malformed"),
        Fault("drop"),
        Fault("stall", stall_s=2),
        Fault("503", retry_after=0.05, in_ms=True),
    ]
    refused = questions[3]
    cache = tmp_path / "responses.jsonl"
    with LoopbackServer(reply=replying_with(solutions), script=script, poison={refused[:60]: Fault("400")}) as server:
        result = runner.invoke(app, build_args(gold, server.base_url, tmp_path / "first", cache))
        assert result.exit_code == 0, result.output
        first_calls = server.total_requests
        assert sum(server.faults.values()) == len(script) + 1  # every scripted fault was met, and the refusal

        rows = [json.loads(line) for line in (tmp_path / "first" / "skipped.jsonl").read_text().splitlines()]
        assert check_dataset(tmp_path / "first").failure is None
        manifest = json.loads((tmp_path / "first" / "tracegen.json").read_text())
        written = manifest["splits"]["test"]["rows"]
        failures = [r for r in rows if r["reason"] == "weak:backend_error"]
        assert len(failures) == 1 and failures[0]["id"] == "gsm8k-weak:test:4" and "400" in failures[0]["detail"]
        assert written + len(rows) == (PROBLEMS - 1) * SAMPLES + 1  # nothing silently dropped
        assert written > 0

        again = runner.invoke(app, build_args(gold, server.base_url, tmp_path / "second", cache))
        assert again.exit_code == 0, again.output
        assert server.total_requests == first_calls + 1  # only the refused problem is asked again
    first = sorted((tmp_path / "first" / "data").glob("*.parquet"))
    second = sorted((tmp_path / "second" / "data").glob("*.parquet"))
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_unreachable_server_stops_the_build_with_one_line_and_writes_nothing(tmp_path, weak_files):
    gold, _, _ = weak_files
    with LoopbackServer(reply=lambda prompt, index: "") as server:
        base_url = server.base_url
    result = runner.invoke(
        app,
        build_args(gold, base_url, tmp_path / "out", tmp_path / "c.jsonl")
        + ["--set", "deviations.weak.backend.breaker_failures=3"],
    )
    assert result.exit_code == 1
    assert "error:" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_prefix_mode_places_the_models_step_where_the_gold_prefix_stops(tmp_path, weak_files):
    """Prefix mode: the model continues the gold solution's first i steps; its wrong step lands at gold step i."""
    from tracegen.generators.sampling import gold_prefix
    from tracegen.recipe import load_recipe
    from tracegen.sources import load_problems

    gold, _, _ = weak_files
    with LoopbackServer(
        reply=lambda prompt, index: f"So the answer is {700001 + index}.\n#### {700001 + index}"
    ) as server:
        args = build_args(gold, server.base_url, tmp_path / "out", tmp_path / "cache.jsonl") + [
            "--set",
            "deviations.weak.mode=prefix",
        ]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        prompts = [json.dumps(body) for body in server.bodies]
    assert check_dataset(tmp_path / "out").failure is None
    recipe = load_recipe("gsm8k-weak", {"source.path": str(gold), "deviations.weak.backend.replay": "unused"})
    problems = {p.source_id: p for p in load_problems(recipe.source)}
    rows = [
        row
        for path in sorted((tmp_path / "out" / "data").glob("*.parquet"))
        for row in pq.read_table(path).to_pylist()
    ]
    assert len(rows) == PROBLEMS * SAMPLES
    for row in rows:
        prefix = gold_prefix(problems[row["source_id"]], recipe.deviations, recipe.seed)
        (deviation,) = row["deviations"]
        assert deviation["step_index"] == prefix.count("\n")
        assert "70000" in deviation["weak_solution"] and deviation["weak_solution"].startswith(prefix)
        assert any(json.dumps(prefix)[1:-1] in body for body in prompts)
