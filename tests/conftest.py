import os
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
# Tests never touch the network; subprocesses inherit this.
os.environ["HF_HUB_OFFLINE"] = "1"
# Two xdist workers on two cores: one torch thread each, or tiny-model tests oversubscribe the CPU.
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
# `tracegen build` defaults to one process per core; the tests' small builds are faster in one process
# (test_build.py's num_proc test and the Ray tests run several on purpose).
os.environ.setdefault("TRACEGEN_NUM_PROC", "1")
# Model responses are cached under this folder; tests never read or fill the user's own cache.
os.environ["TRACEGEN_CACHE_DIR"] = tempfile.mkdtemp(prefix="tracegen-cache-")

ROOT = Path(__file__).resolve().parents[1]
GSM8K_DIR = ROOT.parent / "shared" / "data" / "gsm8k"


@pytest.fixture(scope="session")
def gsm8k_train() -> Path:
    path = GSM8K_DIR / "train.jsonl"
    if not path.exists():
        pytest.skip("../shared/data/gsm8k is not present")
    return path


@pytest.fixture(scope="session")
def gsm8k_small(tmp_path_factory, gsm8k_train) -> Path:
    """The first 300 GSM8K train problems, as a local JSONL named train.jsonl."""
    path = tmp_path_factory.mktemp("gsm8k") / "train.jsonl"
    with gsm8k_train.open() as src:
        path.write_text("".join(line for _, line in zip(range(300), src)))
    return path


@pytest.fixture(scope="session")
def foreign_tokenizers(tmp_path_factory) -> dict[str, Path]:
    from foreign_tokenizers import bert_like, gpt2_like, llama_like, qwen_like

    root = tmp_path_factory.mktemp("tokenizers")
    makers = (("gpt2", gpt2_like), ("qwen", qwen_like), ("llama", llama_like), ("bert", bert_like))
    return {name: make(root / name) for name, make in makers}


@pytest.fixture(autouse=True)
def fresh_accelerate_state():
    """accelerate keeps one global state per process (TRL's trainer sets bf16 in it): each test starts from none."""
    yield
    if "accelerate.state" in sys.modules:
        sys.modules["accelerate.state"].AcceleratorState._reset_state(reset_partial_state=True)


@pytest.fixture(scope="module")
def tok():
    """The embedded tokenizer (with <UNDO>)."""
    from tracegen.tokens import TraceTokenizer

    return TraceTokenizer.load(None)


@pytest.fixture(scope="module")
def model(tok):
    """A tiny random Llama over the embedded tokenizer, in eval mode (fresh per test module)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tok.hf),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
    )
    torch.manual_seed(0)
    return LlamaForCausalLM(config).eval()
