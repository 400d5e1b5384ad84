"""Resume after a crash, shard builds and merge: every path to a dataset writes the same bytes."""

import fcntl
import hashlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracegen.cli import app
from tracegen.dataset.check import check_dataset
from tracegen.pipeline.build import build as run_build
from tracegen.pipeline.chunks import CHUNK_PROBLEMS, work_folder_for
from tracegen.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def build(out: Path, source: Path, *extra: str) -> None:
    result = runner.invoke(app, ["build", "--recipe", "gsm8k", "--source", str(source), "--out", str(out), *extra])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def reference(tmp_path_factory, gsm8k_small):
    out = tmp_path_factory.mktemp("reference") / "out"
    build(out, gsm8k_small)
    assert not work_folder_for(out).exists()  # a finished build leaves no work behind
    return digest(out)


def chunk_files(out: Path) -> list[Path]:
    return sorted((work_folder_for(out) / "chunks").glob("chunk-*.parquet"))


def test_sigkilled_build_resumes_to_the_same_bytes(tmp_path, gsm8k_train):
    """A real SIGKILL once the build has finished some chunks; the rerun does only the rest.

    (Other kill points are reproduced exactly, in-process, by the tests below.)
    """
    chunks_before_kill = 2
    source = tmp_path / "train.jsonl"
    with gsm8k_train.open() as src:
        source.write_text("".join(line for _, line in zip(range(12 * CHUNK_PROBLEMS), src)))
    out = tmp_path / "out"
    command = [
        sys.executable,
        str(ROOT / "cli.py"),
        "build",
        "--recipe",
        "gsm8k",
        "--source",
        str(source),
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(chunk_files(out)) < chunks_before_kill and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)  # polling for the moment to kill, not waiting for a result
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the build finished before it could be killed"
    assert not out.exists()  # nothing that looks finished
    finished = len(chunk_files(out))
    assert finished >= chunks_before_kill

    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"{finished:,} chunks finished by an earlier run were reused" in result.stdout
    reference_out = tmp_path / "reference"
    build(reference_out, source)
    assert digest(out) == digest(reference_out)
    assert check_dataset(out).failure is None


class Stop(Exception):
    pass


def interrupted_build(out: Path, source: Path, after_problems: int, **overrides) -> None:
    """Run a build in-process and stop it (like Ctrl-C) once it has built `after_problems` problems."""
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if done >= after_problems:
            raise Stop

    recipe = load_recipe("gsm8k", {"source.path": str(source), **overrides})
    with pytest.raises(Stop):
        run_build(recipe, out, on_advance=advance)
    assert not out.exists() and chunk_files(out)


@pytest.mark.parametrize("leftover", ["none", "torn_chunk", "dead_staging", "torn_fingerprint"])
def test_interrupted_build_resumes_whatever_a_kill_left_behind(tmp_path, gsm8k_small, reference, leftover):
    out = tmp_path / "out"
    interrupted_build(out, gsm8k_small, after_problems=2 * CHUNK_PROBLEMS)
    work = work_folder_for(out)
    finished = len(chunk_files(out))
    if leftover == "torn_chunk":
        (work / "chunks" / f".chunk-{finished:06d}.parquet.tmp").write_bytes(b"PAR1 half a chunk")
    elif leftover == "dead_staging":
        dead = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
        ).stdout.strip()
        (tmp_path / f".out.partial-{dead}" / "data").mkdir(parents=True)
        (tmp_path / f".out.partial-{dead}" / "data" / "train-00000-of-00001.parquet").write_bytes(b"half")
    elif leftover == "torn_fingerprint":
        (work / "fingerprint.json").write_text('{"tracegen_vers')
    recipe = load_recipe("gsm8k", {"source.path": str(gsm8k_small)})
    report = run_build(recipe, out)
    assert report.resumed_chunks == (0 if leftover == "torn_fingerprint" else finished)
    assert digest(out) == reference
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no work folder, staging or temporary file left


def test_changed_recipe_starts_over_instead_of_mixing_chunks(tmp_path, gsm8k_small):
    out = tmp_path / "out"
    interrupted_build(out, gsm8k_small, after_problems=CHUNK_PROBLEMS, seed=1)
    report = run_build(load_recipe("gsm8k", {"source.path": str(gsm8k_small), "seed": 2}), out)
    assert report.resumed_chunks == 0
    build(tmp_path / "fresh", gsm8k_small, "--seed", "2")
    assert digest(out) == digest(tmp_path / "fresh")


def test_a_second_build_of_the_same_output_waits_for_none_and_is_refused(tmp_path, gsm8k_small):
    out = tmp_path / "out"
    interrupted_build(out, gsm8k_small, after_problems=CHUNK_PROBLEMS)
    with (work_folder_for(out) / ".lock").open() as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = runner.invoke(app, ["build", "--recipe", "gsm8k", "--source", str(gsm8k_small), "--out", str(out)])
    assert result.exit_code == 2
    assert "another tracegen build is writing this output folder" in result.output


def test_four_shards_merge_into_the_single_build_byte_for_byte(tmp_path, gsm8k_small, reference):
    shards = []
    for i in range(4):
        shard = tmp_path / f"shard{i}"
        build(shard, gsm8k_small, "--num-shards", "4", "--shard-index", str(i))
        shards.append(str(shard))
    merged = tmp_path / "merged"
    result = runner.invoke(app, ["merge", *shards, "--out", str(merged)])
    assert result.exit_code == 0, result.output
    assert digest(merged) == reference
    assert check_dataset(merged).failure is None


def test_merge_refuses_missing_duplicate_and_foreign_shards(tmp_path, gsm8k_small):
    shards = []
    for i in range(3):
        shard = tmp_path / f"shard{i}"
        build(shard, gsm8k_small, "--num-shards", "3", "--shard-index", str(i))
        shards.append(str(shard))
    foreign = tmp_path / "foreign"
    build(foreign, gsm8k_small, "--num-shards", "3", "--shard-index", "2", "--seed", "9")
    cases = {
        "missing": ([shards[0], shards[1]], "shard 2 of 3 is missing"),
        "duplicate": ([shards[0], shards[1], shards[2], shards[1]], "holds chunk"),
        "foreign": ([shards[0], shards[1], str(foreign)], "another recipe, input or tokenizer"),
        "not a shard": ([shards[0], str(tmp_path)], "not a shard"),
    }
    for name, (given, message) in cases.items():
        result = runner.invoke(app, ["merge", *given, "--out", str(tmp_path / "merged")])
        assert result.exit_code == 2, name
        assert message in result.output, (name, result.output)
        assert not (tmp_path / "merged").exists()
