"""An interrupted build leaves nothing that looks finished, keeps what was there before, and resumes when rerun."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_build_leaves_no_output(tmp_path, gsm8k_train, sig):
    out = tmp_path / "out"
    out.mkdir()
    (out / "previous.txt").write_text("an earlier build")
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "cli.py"),
            "build",
            "--recipe",
            "gsm8k",
            "--source",
            str(gsm8k_train),
            "--out",
            str(out),
            "--overwrite",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.tracegen-work/chunks/chunk-*.parquet")):  # wait until it has finished some work
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".out.tracegen-work",
        "out",
    ]  # finished chunks are kept to resume
    assert sorted(p.name for p in out.iterdir()) == ["previous.txt"]
    assert (out / "previous.txt").read_text() == "an earlier build"
