"""The tokenizer embedded in the package (tracegen/assets/tokenizer, built by scripts/train_tokenizer.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from tracegen import UNDO_TOKEN
from tracegen.embedded_tokenizer import EMBEDDED_TOKENIZER_DIR, load_embedded_tokenizer

REPO_ROOT = Path(__file__).resolve().parent.parent
GSM8K_TRAIN = REPO_ROOT.parent / "shared" / "data" / "gsm8k" / "train.jsonl"
SCRIPT = REPO_ROOT / "scripts" / "train_tokenizer.py"


@pytest.fixture(scope="module")
def tok():
    return AutoTokenizer.from_pretrained(str(EMBEDDED_TOKENIZER_DIR), local_files_only=True)


def _decoded_vocab(tok) -> dict[int, str]:
    return {i: tok.decode([i]) for i in range(len(tok))}


def test_files_are_small_and_complete():
    names = {p.name for p in EMBEDDED_TOKENIZER_DIR.iterdir()}
    assert {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"} <= names
    assert sum(p.stat().st_size for p in EMBEDDED_TOKENIZER_DIR.iterdir()) < 1_000_000


def test_loads_every_way(tok):
    assert tok.is_fast
    assert len(tok) == 4096
    assert isinstance(load_embedded_tokenizer(), PreTrainedTokenizerFast)
    assert isinstance(PreTrainedTokenizerFast.from_pretrained(str(EMBEDDED_TOKENIZER_DIR)), PreTrainedTokenizerFast)
    assert tok.model_max_length == 8192
    assert tok.clean_up_tokenization_spaces is False


def test_special_tokens(tok):
    assert tok.convert_ids_to_tokens([0, 1, 2]) == ["<|endoftext|>", "<|pad|>", UNDO_TOKEN]
    assert tok.eos_token_id == tok.bos_token_id == tok.unk_token_id == 0
    assert tok.pad_token_id == 1
    assert tok.convert_tokens_to_ids(UNDO_TOKEN) == 2
    assert UNDO_TOKEN in tok.all_special_tokens
    # Nothing is added around an encoding.
    assert tok.encode("a") == tok.encode("a", add_special_tokens=False)
    assert len(tok.encode("a")) == 1


def test_undo_is_one_special_token(tok):
    ids = tok.encode("a<UNDO>b")
    assert ids.count(2) == 1
    assert tok.convert_ids_to_tokens(ids) == ["a", UNDO_TOKEN, "b"]
    line = tok.encode("She has 12-4 = <<12-4=8>>8 apples.\n")
    ids = line + [2] + tok.encode("She has 12-4 = <<12-4=8>>8 apples.\n")
    assert ids.count(2) == 1
    assert tok.decode(ids) == "She has 12-4 = <<12-4=8>>8 apples.\n<UNDO>She has 12-4 = <<12-4=8>>8 apples.\n"
    assert tok.decode([2]) == UNDO_TOKEN
    # Spaces around it are kept (no lstrip/rstrip).
    assert tok.decode(tok.encode(" <UNDO> x")) == " <UNDO> x"


def test_newlines_never_merge(tok):
    for i, text in _decoded_vocab(tok).items():
        if "\n" in text:
            assert set(text) == {"\n"}, (i, text)
    nl = tok.encode("\n")
    assert len(nl) == 1
    ids = tok.encode("step one.\nstep two.\n\n#### 3")
    assert [t for t in tok.convert_ids_to_tokens(ids) if "Ċ" in t] == ["Ċ", "Ċ", "Ċ"]


def test_digits_are_single_tokens(tok):
    ids = tok.encode("0123456789")
    assert len(ids) == 10
    assert [tok.decode([i]) for i in ids] == list("0123456789")
    for i, text in _decoded_vocab(tok).items():
        if any(c in "0123456789" for c in text):
            assert len(text) == 1, (i, text)
    pieces = [tok.decode([i]) for i in tok.encode("Natalia sold 48/2 = <<48/2=24>>24 clips.")]
    assert {"4", "8", "2", " =", " <<", ">>"} <= set(pieces)
    assert "48" not in pieces and "24" not in pieces


EDGE_CASES = [
    "",
    " ",
    "\n",
    "\n\n\n",
    "a\r\nb",
    "\t\ttabs\tand  multiple   spaces   ",
    "  leading and trailing  ",
    "emoji 😀👍🏽 and 🇫🇷, CJK 数学, combining é, RTL مرحبا",
    "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n#### 72",
    "<UNDO><UNDO>x<UNDO>",
    "<|endoftext|> and <|pad|> literally",
    "<|user|>\nhi\n<|assistant|>\n",
    "\x00\x01\x7f\u200b\ufeff",
    "x" * 5000,
]


@pytest.mark.parametrize("text", EDGE_CASES)
def test_round_trip_edge_cases(tok, text):
    assert tok.decode(tok.encode(text)) == text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text())
def test_round_trip_hypothesis(tok, text):
    assert tok.decode(tok.encode(text)) == text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.sampled_from(
            ["\n", " ", "  ", "\t", "<<", ">>", "=", "$", "#### ", "12", "3.5", "x", "é", "😀", UNDO_TOKEN]
        ),
        max_size=40,
    )
)
def test_round_trip_hypothesis_gsm8k_alphabet(tok, parts):
    text = "".join(parts)
    assert tok.decode(tok.encode(text)) == text


@pytest.mark.skipif(not GSM8K_TRAIN.exists(), reason="GSM8K train.jsonl not available")
def test_round_trip_gsm8k_train(tok):
    rows = [json.loads(line) for line in GSM8K_TRAIN.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [r["question"] for r in rows] + [r["answer"] for r in rows]
    ids = tok(texts, add_special_tokens=False)["input_ids"]
    decoded = tok.batch_decode(ids)
    bad = [t for t, d in zip(texts, decoded, strict=True) if t != d]
    assert not bad, bad[:3]
    answers = ids[len(rows) :]
    assert 100 < sum(map(len, answers)) / len(answers) < 160  # about 127 tokens per solution


def test_chat_template_is_plain_text(tok):
    messages = [
        {"role": "user", "content": "What is 2+3?"},
        {"role": "assistant", "content": "2+3 = <<2+3=5>>5\n#### 5"},
    ]
    text = tok.apply_chat_template(messages[:1], tokenize=False, add_generation_prompt=True)
    assert text == "<|user|>\nWhat is 2+3?\n<|assistant|>\n"
    full = tok.apply_chat_template(messages, tokenize=False)
    assert full == "<|user|>\nWhat is 2+3?\n<|assistant|>\n2+3 = <<2+3=5>>5\n#### 5\n"
    ids = tok.encode(full)
    assert not set(ids) & {0, 1, 2}  # role markers are ordinary text
    assert tok.decode(ids) == full


@pytest.mark.skipif(not GSM8K_TRAIN.exists(), reason="GSM8K train.jsonl not available")
def test_training_script_is_deterministic(tmp_path):
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        subprocess.run(
            [sys.executable, str(SCRIPT), "--gsm8k", str(GSM8K_TRAIN), "--no-arith", "--out", str(out)],
            check=True,
            capture_output=True,
            cwd=REPO_ROOT,
        )
        outs.append(out)
    for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes(), f
    # The config (everything but the learned merges) is exactly what is shipped.
    for f in ("tokenizer_config.json", "special_tokens_map.json"):
        assert (outs[0] / f).read_bytes() == (EMBEDDED_TOKENIZER_DIR / f).read_bytes(), f
