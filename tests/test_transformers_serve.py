"""A real OpenAI-compatible server: `transformers serve` (the `serving` extra) on 127.0.0.1, serving a
tiny model built from a config and saved to a temporary folder. A `gsm8k-weak` build samples from it
through `--backend openai` end to end, then reruns from the cache with byte-identical output.

The served model is made to answer every prompt with one fixed wrong solution (so its samples
become rows): every ordinary token embeds to one direction, the solution (one added token) to
another, the layers add nothing, and the head maps the first direction to the solution and the
second to end-of-text. Greedy decoding then writes the solution, then stops.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_live_mistakes import API_KEY, PASSWORD, every_text
from typer.testing import CliRunner

from tracegen.cli import app
from tracegen.dataset.check import check_dataset

WRONG_SOLUTION = "Half of them is 1000 + 1 = 1001.\n#### 1001"
PROBLEMS = 3
READY_WITHIN_S = 120
runner = CliRunner()


def tiny_fixed_answer_model(folder: Path) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from tracegen.tokens import TraceTokenizer

    tok = TraceTokenizer.load(None).hf
    tok.add_tokens([WRONG_SOLUTION])
    tok.chat_template = "{% for m in messages %}{{ m['content'] }}\n{% endfor %}Answer:"
    solution, eos = tok.convert_tokens_to_ids(WRONG_SOLUTION), tok.eos_token_id
    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=1, bos_token_id=eos, eos_token_id=eos, pad_token_id=tok.pad_token_id,
        tie_word_embeddings=False,
    )  # fmt: skip
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        model.model.embed_tokens.weight.zero_()
        model.model.embed_tokens.weight[:, 0] = 1.0
        model.model.embed_tokens.weight[solution] = 0.0
        model.model.embed_tokens.weight[solution, 1] = 1.0
        model.lm_head.weight.zero_()
        model.lm_head.weight[solution, 0] = 10.0
        model.lm_head.weight[eos, 1] = 10.0
    model.generation_config.do_sample = False
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(base_url, model folder) of a running `transformers serve`; stopped after the module, whatever happens."""
    pytest.importorskip("fastapi", reason="needs the serving extra: pip install -e '.[serving]'")
    command = Path(sys.executable).parent / "transformers"
    if not command.exists():
        pytest.skip("no `transformers` command next to this Python")
    model = tiny_fixed_answer_model(tmp_path_factory.mktemp("home") / "models" / "tiny-served")
    port = free_port()
    log = (tmp_path_factory.mktemp("serve") / "serve.log").open("w")
    env = os.environ | {"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [str(command), "serve", str(model), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + READY_WITHIN_S
        while True:
            assert process.poll() is None, f"transformers serve exited with {process.returncode}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"transformers serve not ready after {READY_WITHIN_S}s"
            time.sleep(0.25)  # polling interval, not a wait for a result
        yield f"http://127.0.0.1:{port}/v1", model
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_a_build_samples_from_transformers_serve_and_reruns_from_the_cache(tmp_path, served, monkeypatch):
    from conftest import GSM8K_DIR

    if not (GSM8K_DIR / "test.jsonl").exists():
        pytest.skip("../shared/data/gsm8k is not present")
    gold = tmp_path / "test.jsonl"
    with (GSM8K_DIR / "test.jsonl").open() as src:
        gold.write_text("".join(line for _, line in zip(range(PROBLEMS), src)))
    base_url, model = served
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    cache = tmp_path / "cache" / "responses.jsonl"

    def build(out: str):
        return runner.invoke(app, [
            "build", "--recipe", "gsm8k-weak", "--source", str(gold), "--out", str(tmp_path / out),
            "--backend", "openai", "--base-url", base_url.replace("http://", f"http://alice:{PASSWORD}@"),
            "--model", str(model),
            "--set", "deviations.weak.samples=2", "--set", "deviations.weak.backend.max_tokens=8",
            "--set", f"deviations.weak.backend.cache={cache}", "--set", "deviations.weak.backend.concurrency=2",
        ])  # fmt: skip

    first = build("first")
    assert first.exit_code == 0, first.output
    assert check_dataset(tmp_path / "first").failure is None
    rows = [
        row
        for path in sorted((tmp_path / "first" / "data").glob("*.parquet"))
        for row in pq.read_table(path).to_pylist()
    ]
    assert (
        len(rows) == PROBLEMS
    )  # one per problem: the second sample is the same greedy answer, dropped as a duplicate
    assert all(row["deviations"][0]["weak_solution"] == WRONG_SOLUTION for row in rows)
    assert all(row["deviations"][0]["kind"].startswith("weak:tiny-served@") for row in rows)

    again = build("second")
    assert again.exit_code == 0, again.output
    assert "calls 0," in again.output and f"cache_hits {2 * PROBLEMS}" in again.output
    for name in (
        "tracegen.json",
        "README.md",
        "skipped.jsonl",
        *(f"data/{p.name}" for p in (tmp_path / "first" / "data").iterdir()),
    ):
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes(), name

    written = every_text(tmp_path / "first") + every_text(cache.parent)
    for secret in (PASSWORD, API_KEY, str(model.parent)):
        assert secret not in written
    shutil.rmtree(tmp_path / "second")
