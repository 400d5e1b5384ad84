"""`tracegen build --executor ray` on a local Ray cluster (127.0.0.1 only, started here): the same bytes as a
local build, a worker killed mid-task retried by Ray, and chunks shared with local builds both ways."""

import hashlib
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracegen.cli import app
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
