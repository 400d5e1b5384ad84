"""A live build as a user gets it wrong or right: secrets and local paths stay out of every file,
a server that refuses everything stops the build early, the cache answers only for its own server,
and identical rows are written once. Over real HTTP against the loopback server."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from loopback_server import Fault, LoopbackServer
from test_weak_live import PROBLEMS, SAMPLES, build_args, replying_with, weak_files  # noqa: F401 (a fixture)
from typer.testing import CliRunner

from tracegen.cli import app

runner = CliRunner()
PASSWORD = "s3cret-Passw0rd"
API_KEY = "sk-test-9f8e7d6c5b4a39281706"


def every_text(folder: Path) -> str:
    """Every file under `folder` as text; parquet files as the JSON of their rows."""
    texts = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            texts.append(json.dumps(pq.read_table(path).to_pylist()))
        else:
            texts.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(texts)


def local_model(root: Path) -> Path:
    folder = root / "home" / "me" / "models" / "tiny-weak"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 32}))
    return folder


def test_no_password_key_or_local_path_reaches_a_file_and_push_guards_the_rest(tmp_path, weak_files, monkeypatch):
    gold, solutions, _ = weak_files
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    model = local_model(tmp_path)
    cache = tmp_path / "cache" / "responses.jsonl"
    with LoopbackServer(reply=replying_with(solutions)) as server:
        url = server.base_url.replace("http://", f"http://alice:{PASSWORD}@")
        args = build_args(gold, url, tmp_path / "out", cache)
        args[args.index("weak-model")] = str(model)
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert server.total_requests > 0
    written = every_text(tmp_path / "out") + every_text(cache.parent)
    for secret in (PASSWORD, API_KEY, "alice:", str(tmp_path), "home/me"):
        assert secret not in written, secret
    assert PASSWORD not in result.output and API_KEY not in result.output
    manifest = json.loads((tmp_path / "out" / "tracegen.json").read_text())
    backend = manifest["recipe"]["deviations"]["weak"]["backend"]
    assert backend["base_url"] == server.base_url and backend["model"].startswith("tiny-weak@")
    rows = pq.read_table(next((tmp_path / "out" / "data").glob("*.parquet"))).to_pylist()
    assert rows and all(d["kind"] == backend["model"].join(["weak:", ""]) for row in rows for d in row["deviations"])

    dry = runner.invoke(app, ["push", str(tmp_path / "out"), "--repo-id", "me/weak", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    card = tmp_path / "out" / "README.md"
    card.write_text(card.read_text() + f"\nserved by http://bob:{PASSWORD}@10.0.0.1/v1\n")
    refused = runner.invoke(app, ["push", str(tmp_path / "out"), "--repo-id", "me/weak", "--dry-run"])
    assert (
        refused.exit_code == 2
        and "README.md" in refused.output
        and "a URL with a user name or password" in refused.output
    )
    assert (
        PASSWORD not in refused.output
        and "Traceback" not in refused.output
        and len(refused.output.strip().splitlines()) == 1
    )


def test_push_finds_a_token_deep_in_the_parquet_strings(tmp_path):
    import pyarrow as pa

    from tracegen.hub.push import _secret_in_parquet

    table = pa.table(
        {"id": ["a", "b"], "deviations": [[{"reason": "fine"}], [{"reason": "token hf_" + "A1b2C3d4" * 4}]]}
    )
    pq.write_table(table, tmp_path / "x.parquet")
    assert _secret_in_parquet(tmp_path / "x.parquet") == "a Hugging Face token (hf_...)"
    pq.write_table(table.slice(0, 1), tmp_path / "y.parquet")
    assert _secret_in_parquet(tmp_path / "y.parquet") is None


@pytest.mark.parametrize(
    ("fault", "status", "flag"),
    [
        (None, "HTTP 404", "--base-url"),
        (Fault("401"), "HTTP 401", "$OPENAI_API_KEY"),
        (Fault("404"), "HTTP 404", "--model"),
    ],
    ids=["no-v1", "bad-key", "unknown-model"],
)
def test_a_server_that_refuses_everything_stops_the_build_within_16_requests(
    tmp_path, weak_files, fault, status, flag
):
    gold, solutions, _ = weak_files
    poison = {"": fault} if fault else {}  # every prompt contains ""
    with LoopbackServer(reply=replying_with(solutions), poison=poison) as server:
        url = server.base_url.removesuffix("/v1") if fault is None else server.base_url
        args = build_args(gold, url, tmp_path / "out", tmp_path / "c.jsonl") + [
            "--set",
            "deviations.weak.backend.concurrency=64",
        ]
        result = runner.invoke(app, args)
        assert 0 < server.total_requests <= 16
    assert result.exit_code == 1 and "Traceback" not in result.output
    [line] = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert status in line and flag in line
    assert (
        "no route /chat/completions" if fault is None else f"injected {fault.kind}"
    ) in line  # the server's own words
    assert not (tmp_path / "out").exists()
    listed = tmp_path / ".out.tracegen-work" / "skipped.jsonl"
    assert str(listed.relative_to(tmp_path)) in line.replace(str(tmp_path) + "/", "")
    failures = [json.loads(entry) for entry in listed.read_text().splitlines()]
    assert failures and all(f["reason"] == "weak:backend_error" and status in f["detail"] for f in failures)


def test_the_cache_answers_only_for_its_own_server_and_refresh_asks_again(tmp_path, weak_files):
    gold, solutions, _ = weak_files
    cache = tmp_path / "c.jsonl"
    with (
        LoopbackServer(reply=replying_with(solutions)) as first,
        LoopbackServer(reply=replying_with(solutions)) as second,
    ):
        assert runner.invoke(app, build_args(gold, first.base_url, tmp_path / "a", cache)).exit_code == 0
        asked = first.total_requests
        assert runner.invoke(app, build_args(gold, first.base_url, tmp_path / "b", cache)).exit_code == 0
        assert first.total_requests == asked  # same server: every answer from the cache
        assert runner.invoke(app, build_args(gold, second.base_url, tmp_path / "c", cache)).exit_code == 0
        assert second.total_requests == asked  # same model name, another server: asked again
        refreshed = runner.invoke(app, build_args(gold, first.base_url, tmp_path / "d", cache) + ["--refresh-cache"])
        assert refreshed.exit_code == 0 and first.total_requests == 2 * asked
    manifests = [(tmp_path / name / "tracegen.json").read_bytes() for name in "abd"]
    assert manifests[0] == manifests[1] == manifests[2]  # refreshing is how it ran, not what it built


def test_identical_rows_are_written_once_and_counted(tmp_path, weak_files):
    gold, solutions, _ = weak_files
    alike = {question: texts[:1] for question, texts in solutions.items()}  # every sample the same solution
    with LoopbackServer(reply=replying_with(alike)) as server:
        args = build_args(gold, server.base_url, tmp_path / "out", tmp_path / "c.jsonl") + [
            "--set",
            "deviations.weak.one_row_per_solution=true",
            "--set",
            "deviations.generators={weak: 1.0}",
        ]
        result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = [
        row
        for path in sorted((tmp_path / "out" / "data").glob("*.parquet"))
        for row in pq.read_table(path).to_pylist()
    ]
    assert rows and len({tuple(row["input_ids"]) for row in rows}) == len(rows)
    manifest = json.loads((tmp_path / "out" / "tracegen.json").read_text())
    duplicates = manifest["dropped"]["duplicate_row"]
    assert duplicates == len(rows) * (SAMPLES - 1)
    skipped = [json.loads(line) for line in (tmp_path / "out" / "skipped.jsonl").read_text().splitlines()]
    assert (
        sum(
            entry["reason"] == "duplicate_row" and entry["detail"].startswith("same input_ids as ")
            for entry in skipped
        )
        == duplicates
    )
    assert manifest["splits"]["test"]["rows"] + len(skipped) == PROBLEMS * SAMPLES
