"""`tracegen build --executor ray` on a local Ray cluster (127.0.0.1 only, started here): the same bytes as a
local build, a worker killed mid-task retried by Ray, and chunks shared with local builds both ways; weak-model
sampling from client actors against a loopback OpenAI-compatible server, within its concurrency limit."""

import hashlib
import json
import os
import re
import signal
import threading
import time
from pathlib import Path

import pytest
from loopback_server import Fault, LoopbackServer
from typer.testing import CliRunner

from tracegen.cli import app
from tracegen.llm.base import BackendDown, Request
from tracegen.llm.cache import ResponseCache
from tracegen.llm.config import BackendConfig
from tracegen.llm.ray_clients import RayOpenAIBackend
from tracegen.pipeline import ray_executor
from tracegen.pipeline.build import build
from tracegen.pipeline.chunks import CHUNK_PROBLEMS, work_folder_for
from tracegen.recipe import load_recipe

ray = pytest.importorskip("ray")
PROBLEMS = 3 * CHUNK_PROBLEMS


@pytest.fixture(scope="module")
def cluster():
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
        configure_logging=False,
    )
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("local") / "out"
    build(recipe(), out)
    return digest(out)


def recipe():
    return load_recipe("arith", {"limit": PROBLEMS})


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_ray_build_writes_the_bytes_of_a_local_build(cluster, reference, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["build", "--recipe", "arith", "--limit", str(PROBLEMS), "--out", str(out), "--executor", "ray"]
    )
    assert result.exit_code == 0, result.output
    assert digest(out) == reference


def test_a_worker_killed_mid_task_is_retried_and_the_build_completes(cluster, reference, tmp_path, monkeypatch):
    pid_file = tmp_path / "worker.pid"
    original = ray_executor.build_chunk

    def killed_once(chunk, *args):  # runs in a Ray worker; pickled by value
        if chunk[0] == 1 and not pid_file.exists():
            pid_file.write_text(str(os.getpid()))
            time.sleep(600)  # the test kills this process meanwhile
        return original(chunk, *args)

    def kill_the_worker():
        deadline = time.monotonic() + 120
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)  # polling for the moment to kill
        os.kill(int(pid_file.read_text()), signal.SIGKILL)

    monkeypatch.setattr(ray_executor, "build_chunk", killed_once)
    killer = threading.Thread(target=kill_the_worker)
    killer.start()
    out = tmp_path / "out"
    report = build(recipe(), out, executor="ray")
    killer.join()
    assert int(pid_file.read_text()) != os.getpid() and report.rows > 0
    assert digest(out) == reference


class Stop(Exception):
    pass


def stop_after_first_chunk(n: int) -> None:
    raise Stop  # like Ctrl-C once the first chunk is written


@pytest.mark.parametrize(("first", "then"), [("ray", "local"), ("local", "ray")])
def test_chunks_of_a_stopped_build_are_reused_by_the_other_executor(cluster, reference, tmp_path, first, then):
    out = tmp_path / "out"
    with pytest.raises(Stop):
        build(recipe(), out, executor=first, on_advance=stop_after_first_chunk)
    assert len(list((work_folder_for(out) / "chunks").glob("chunk-*.parquet"))) == 1
    report = build(recipe(), out, executor=then)
    assert report.resumed_chunks == 1
    assert digest(out) == reference


def test_a_ray_address_needs_the_ray_executor(tmp_path):
    result = CliRunner().invoke(
        app,
        ["build", "--recipe", "arith", "--limit", "8", "--out", str(tmp_path / "o"), "--ray-address", "127.0.0.1:1"],
    )
    assert result.exit_code == 2 and "--ray-address" in result.output and not (tmp_path / "o").exists()


def sum_problems(folder: Path, count: int) -> Path:
    """GSM8K-style problems `a + b` whose weak answers the loopback server computes from the prompt."""
    lines = [
        {"question": f"Tom has {a} apples and buys {a + 3} more. How many apples?", "answer": f"{a} + {a + 3} = "
         f"<<{a}+{a + 3}={2 * a + 3}>>{2 * a + 3}\n#### {2 * a + 3}"}
        for a in range(10, 10 + count)
    ]  # fmt: skip
    path = folder / "train.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def weak_answer(prompt: str, index: int) -> str:
    a, b = (int(n) for n in re.search(r"has (\d+) apples and buys (\d+)", prompt).groups())
    total = a + b + index  # sample 0 right, later ones off by their index
    return f"{a} + {b} = {total}\n#### {total}"


def test_weak_sampling_under_ray_writes_a_local_builds_bytes_within_the_servers_limit(cluster, tmp_path):
    source = sum_problems(tmp_path, 24)

    def build_with(out: str, *extra: str):
        return CliRunner().invoke(app, [
            "build", "--recipe", "gsm8k-weak", "--source", str(source), "--out", str(tmp_path / out),
            "--backend", "openai", "--base-url", server.base_url, "--model", "weak-1",
            "--set", "deviations.weak.samples=2", "--set", "deviations.weak.backend.concurrency=3",
            "--set", f"deviations.weak.backend.cache={tmp_path / out / '..' / f'{out}-cache' / 'responses.sqlite'}",
            *extra,
        ])  # fmt: skip

    with LoopbackServer(reply=weak_answer, latency_s=0.05) as server:
        local = build_with("local")
        assert local.exit_code == 0, local.output
        asked_locally, server.max_in_flight = server.total_requests, 0
        on_ray = build_with("ray", "--executor", "ray")
        assert on_ray.exit_code == 0, on_ray.output
        assert server.total_requests == 2 * asked_locally  # its own cache: every request asked once more
        assert 0 < server.max_in_flight <= 3
    assert digest(tmp_path / "ray") == digest(tmp_path / "local")


def test_sampling_clients_spread_over_workers_share_the_limit_and_the_drivers_cache(cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("TRACEGEN_TEST_KEY", "sk-only-the-driver-has-it")  # set after the workers started
    cfg = BackendConfig(
        kind="openai",
        model="weak-1",
        concurrency=4,
        cache=str(tmp_path / "responses.sqlite"),
        api_key_env="TRACEGEN_TEST_KEY",
    )
    requests = [Request(f"q{a}", f"Tom has {a} apples and buys 2 more. How many?", n=2) for a in range(40)]
    with LoopbackServer(reply=weak_answer, latency_s=0.05) as server:
        backend = RayOpenAIBackend(cfg.model_copy(update={"base_url": server.base_url}), ResponseCache(cfg.cache))
        first = backend.run(requests)
        assert server.total_requests == 40 and 0 < server.max_in_flight <= 4
        assert server.authorizations == {"Bearer sk-only-the-driver-has-it"}
        assert len(backend.calls_by_client) == 2 and os.getpid() not in backend.calls_by_client
        assert all(calls > 0 for calls in backend.calls_by_client.values())
        assert backend.stats["calls"] == 40 and (backend.stats["samples"], backend.stats["cache_hits"]) == (80, 0)
        again = RayOpenAIBackend(backend.cfg, ResponseCache(cfg.cache))
        assert again.run(requests) == first and again.stats["cache_hits"] == 80
        assert server.total_requests == 40  # every answer came from the driver's cache
    assert [o.samples[1].text for o in first[:2]] == ["0 + 2 = 3\n#### 3", "1 + 2 = 4\n#### 4"]


def test_a_refusing_server_stops_ray_sampling_after_a_handful_of_requests(cluster, tmp_path):
    with LoopbackServer(reply=weak_answer, poison={"apples": Fault("404")}) as server:
        cfg = BackendConfig(
            kind="openai", model="weak-1", base_url=server.base_url, concurrency=8, cache=str(tmp_path / "c.sqlite")
        )
        with pytest.raises(BackendDown, match="refused the first 4 requests"):
            RayOpenAIBackend(cfg, ResponseCache(cfg.cache)).run(
                [Request(f"q{a}", f"Tom has {a} apples and buys 2 more.") for a in range(50)]
            )
        assert server.total_requests <= 7


def client_processes() -> list[int]:
    """Process ids of the sampling client actors (Ray titles an actor's worker `ray::SamplingClient...`)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"SamplingClient" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return sorted(found)


def test_a_sampling_client_killed_mid_run_is_restarted_and_every_request_answered(cluster, tmp_path):
    def kill_a_client_once(prompt: str, index: int) -> str:  # the server, in this process, kills one client
        if not killed:
            killed.extend(client_processes()[:1])
            os.kill(killed[0], signal.SIGKILL)
        return weak_answer(prompt, index)

    killed: list[int] = []
    with LoopbackServer(reply=kill_a_client_once, latency_s=0.05) as server:
        cfg = BackendConfig(
            kind="openai", model="weak-1", base_url=server.base_url, concurrency=4, cache=str(tmp_path / "c.sqlite")
        )
        backend = RayOpenAIBackend(cfg, ResponseCache(cfg.cache))
        outcomes = backend.run([Request(f"q{a}", f"Tom has {a} apples and buys 2 more.") for a in range(30)])
    assert killed and os.getpid() not in killed
    assert all(o.error is None and len(o.samples) == 1 for o in outcomes) and backend.stats["failures"] == 0
    assert len(ResponseCache(cfg.cache)) == 30
