#!/usr/bin/env python
"""Train the small byte-level BPE tokenizer that ships inside tracegen (``tracegen/assets/tokenizer/``).

tracegen has to work offline (no Hugging Face Hub), so the package embeds a tiny default tokenizer.
This script rebuilds it from scratch, deterministically.

How to run (from the repository root)::

    .venv/bin/python scripts/train_tokenizer.py
    # options: --gsm8k PATH (default ../shared/data/gsm8k/train.jsonl, relative to the repo root)
    #          --vocab-size 4096   --arith-problems 2000   --no-arith   --out tracegen/assets/tokenizer
    #          --check-determinism  (trains a second time and asserts byte-identical files)

It writes ``tokenizer.json``, ``tokenizer_config.json`` and ``special_tokens_map.json`` (via
``PreTrainedTokenizerFast(...).save_pretrained``; loadable with ``AutoTokenizer.from_pretrained(dir)``)
plus a short ``README.md`` recording what the tokenizer was trained on.

Design choices, and why:

* **Corpus**: the questions and answers of GSM8K *train* (never test: no contamination of the
  evaluation split), plus synthetic arithmetic problems from ``tracegen.sources.arith.generate_arith``
  when that module is importable (``--no-arith`` leaves them out). Those are exactly the texts
  tracegen turns into traces, so a 4k vocabulary covers them well.
* **Byte-level BPE** with the full 256-byte initial alphabet: every unicode string round-trips
  exactly (``decode(encode(s)) == s``) and there is never an unknown token. No normalizer, no
  lowercasing, no prefix space, ``clean_up_tokenization_spaces=False``: what goes in comes out,
  including newlines, tabs, runs of spaces, emoji and GSM8K's ``<<48/2=24>>`` annotations.
* **Pre-tokenization**, in order:
    1. every ``"\\n"`` is isolated, so a newline never merges with neighbouring text: a step
       boundary (steps are separated by ``"\\n"``) is always a token boundary and the newline
       token is always the same id, which is what an ``<UNDO>`` that erases a step relies on;
    2. digits are split individually (``Digits(individual_digits=True)``): each digit is its own
       token, the same id wherever it appears, which makes arithmetic learnable for small models
       (numbers are not chunked into arbitrary multi-digit pieces); as in Llama, the space before
       a number is then a token of its own;
    3. GPT-2's byte-level regex split (``ByteLevel(add_prefix_space=False)``): words with their
       leading space, runs of punctuation such as ``<<``, ``>>`` and `` =``, runs of whitespace.
* **Special tokens** at fixed ids: ``<|endoftext|>`` = 0 (eos, bos and unk), ``<|pad|>`` = 1 (pad),
  ``<UNDO>`` = 2 (a special token of its own: the literal text ``<UNDO>`` always encodes to it, and
  decoding renders it literally). Nothing is added automatically around an encoding (no BOS/EOS).
* **Chat template**: a plain-text Jinja template (role markers like ``<|user|>`` are ordinary text,
  not special tokens), so ``--chat-template`` works offline with the default tokenizer.
* **Determinism**: the corpus is read in file order, arithmetic problems come from a fixed seed and
  the BPE trainer breaks ties by pair, so two runs produce byte-identical files
  (``--check-determinism`` verifies it). The files depend on the arithmetic generator's code too:
  ``README.md`` records a hash of its texts, and the shipped files should be regenerated when that
  generator changes (or built with ``--no-arith``, which depends on the GSM8K file alone). Adding
  the arithmetic texts barely matters: GSM8K train answers take ~127 tokens each either way.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_GSM8K = Path("../shared/data/gsm8k/train.jsonl")  # relative to REPO_ROOT
DEFAULT_OUT = REPO_ROOT / "tracegen" / "assets" / "tokenizer"

EOS_TOKEN = "<|endoftext|>"
PAD_TOKEN = "<|pad|>"
UNDO_TOKEN = "<UNDO>"
SPECIAL_TOKENS = [EOS_TOKEN, PAD_TOKEN, UNDO_TOKEN]  # ids 0, 1, 2

MODEL_MAX_LENGTH = 8192
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def read_gsm8k(path: Path) -> list[str]:
    """Questions and answers of a GSM8K jsonl file, in file order."""
    texts: list[str] = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                texts.append(row["question"])
                texts.append(row["answer"])
    return texts


def _texts_of(item: object) -> Iterator[str]:
    """The text fields of one generated arithmetic problem (a Problem, a dict or a string)."""
    if isinstance(item, str):
        yield item
        return
    if isinstance(item, dict):
        fields = item
    else:
        fields = {k: getattr(item, k) for k in ("question", "solution", "answer") if hasattr(item, k)}
    # GSM8K-style rows: "answer" is the full solution unless a separate "solution" exists.
    for key in ("question", "solution") if "solution" in fields else ("question", "answer"):
        value = fields.get(key)
        if isinstance(value, str) and value:
            yield value


def read_arith(num_problems: int, seed: int) -> tuple[list[str], str | None]:
    """Texts of synthetic arithmetic problems, or ([], reason) when the generator is unavailable."""
    try:
        from tracegen.sources.arith import generate_arith  # type: ignore[import-not-found]
    except Exception as exc:  # noqa: BLE001 - optional dependency of the corpus, any failure means "skip"
        return [], f"tracegen.sources.arith.generate_arith was not importable: {type(exc).__name__}"
    texts: list[str] = []
    for item in generate_arith(num_problems, seed=seed, split="train"):
        texts.extend(_texts_of(item))
    return texts, None


def build_tokenizer() -> Tokenizer:
    """An untrained byte-level BPE with tracegen's pre-tokenization."""
    tok = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.normalizer = None
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            # 1. each newline is its own piece: "\n" never merges with anything.
            pre_tokenizers.Split(Regex("\n"), behavior="isolated"),
            # 2. each digit is its own piece.
            pre_tokenizers.Digits(individual_digits=True),
            # 3. GPT-2 regex split + bytes-to-unicode mapping.
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def train(texts: list[str], vocab_size: int) -> Tokenizer:
    tok = build_tokenizer()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_batched(texts), trainer=trainer, length=len(texts))
    for i, t in enumerate(SPECIAL_TOKENS):
        assert tok.token_to_id(t) == i, (t, tok.token_to_id(t))
    return tok


def _batched(texts: list[str], size: int = 1000) -> Iterable[list[str]]:
    for i in range(0, len(texts), size):
        yield texts[i : i + size]


def save(tok: Tokenizer, out: Path, readme: str) -> None:
    """Write the transformers files (tokenizer.json, tokenizer_config.json, special_tokens_map.json)."""
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=EOS_TOKEN,
        eos_token=EOS_TOKEN,
        unk_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        additional_special_tokens=[UNDO_TOKEN],
        model_max_length=MODEL_MAX_LENGTH,
        clean_up_tokenization_spaces=False,
        padding_side="right",
        chat_template=CHAT_TEMPLATE,
    )
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"):
        (out / stale).unlink(missing_ok=True)
    # save_jinja_files=False keeps the chat template inside tokenizer_config.json (one file fewer,
    # and readable by transformers 4.x too).
    fast.save_pretrained(str(out), save_jinja_files=False)

    # Normalise the config so that the files load with transformers 4.x as well as 5.x and do not
    # depend on which version wrote them: a fixed, explicit set of keys.
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": EOS_TOKEN,
        "eos_token": EOS_TOKEN,
        "unk_token": EOS_TOKEN,
        "pad_token": PAD_TOKEN,
        "additional_special_tokens": [UNDO_TOKEN],
        "model_max_length": MODEL_MAX_LENGTH,
        "clean_up_tokenization_spaces": False,
        "padding_side": "right",
        "add_bos_token": False,
        "add_eos_token": False,
        "chat_template": CHAT_TEMPLATE,
        "added_tokens_decoder": {
            str(i): {
                "content": t,
                "lstrip": False,
                "normalized": False,
                "rstrip": False,
                "single_word": False,
                "special": True,
            }
            for i, t in enumerate(SPECIAL_TOKENS)
        },
    }
    _write_json(out / "tokenizer_config.json", config)
    special_map = {
        "bos_token": EOS_TOKEN,
        "eos_token": EOS_TOKEN,
        "unk_token": EOS_TOKEN,
        "pad_token": PAD_TOKEN,
        "additional_special_tokens": [UNDO_TOKEN],
    }
    _write_json(out / "special_tokens_map.json", special_map)
    (out / "chat_template.jinja").unlink(missing_ok=True)
    (out / "README.md").write_text(readme, encoding="utf-8")


def _write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _texts_sha256(texts: list[str]) -> str:
    return hashlib.sha256(json.dumps(texts, ensure_ascii=False).encode("utf-8")).hexdigest()


def make_readme(
    args: argparse.Namespace, gsm8k_path: Path, n_gsm8k: int, arith_texts: list[str], arith_note: str | None
) -> str:
    # The arithmetic generator is code that may change: its texts' hash tells whether a rerun of the
    # script should reproduce these files byte for byte.
    n_arith = len(arith_texts)
    arith = (
        f"- {n_arith} texts from `tracegen.sources.arith.generate_arith({args.arith_problems}, "
        f'seed={args.seed}, split="train")` (texts sha256 `{_texts_sha256(arith_texts)[:16]}`)\n'
        if n_arith
        else f"- no arithmetic problems ({arith_note or 'disabled with --no-arith'})\n"
    )
    return (
        "# tracegen's embedded tokenizer\n\n"
        "Generated by `scripts/train_tokenizer.py` (see its docstring for the design); do not edit by hand.\n"
        "Load it with `tracegen.embedded_tokenizer.load_embedded_tokenizer()` or\n"
        "`transformers.AutoTokenizer.from_pretrained(<this folder>)`.\n\n"
        f"- byte-level BPE, vocabulary size {args.vocab_size}\n"
        f"- special tokens: `{EOS_TOKEN}`=0 (bos/eos/unk), `{PAD_TOKEN}`=1 (pad), `{UNDO_TOKEN}`=2\n"
        f"- {n_gsm8k} texts (questions and answers) from GSM8K train "
        f"(`{gsm8k_path.name}`, sha256 `{_sha256(gsm8k_path)[:16]}`)\n"
        f"{arith}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--gsm8k",
        type=Path,
        default=DEFAULT_GSM8K,
        help="GSM8K train.jsonl (relative paths are relative to the repo root)",
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    p.add_argument("--vocab-size", type=int, default=4096)
    p.add_argument(
        "--arith-problems",
        type=int,
        default=2000,
        help="synthetic arithmetic problems to add when tracegen.sources.arith is available",
    )
    p.add_argument("--no-arith", action="store_true", help="train on GSM8K only")
    p.add_argument("--seed", type=int, default=0, help="seed of the arithmetic problems")
    p.add_argument(
        "--check-determinism",
        action="store_true",
        help="train a second time and assert that tokenizer.json is byte-identical",
    )
    args = p.parse_args(argv)

    gsm8k_path = args.gsm8k if args.gsm8k.is_absolute() else REPO_ROOT / args.gsm8k
    out = args.out if args.out.is_absolute() else REPO_ROOT / args.out
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))

    texts = read_gsm8k(gsm8k_path)
    n_gsm8k = len(texts)
    arith_texts: list[str] = []
    arith_note: str | None = None
    if not args.no_arith and args.arith_problems > 0:
        arith_texts, arith_note = read_arith(args.arith_problems, args.seed)
        if arith_note:
            print(f"note: {arith_note}; training on GSM8K only", file=sys.stderr)
    texts += arith_texts
    print(f"corpus: {n_gsm8k} GSM8K texts + {len(arith_texts)} arithmetic texts")

    tok = train(texts, args.vocab_size)
    save(tok, out, make_readme(args, gsm8k_path, n_gsm8k, arith_texts, arith_note))
    print(f"wrote {out} (vocab size {tok.get_vocab_size()})")

    if args.check_determinism:
        with tempfile.TemporaryDirectory() as tmp:
            save(
                train(texts, args.vocab_size),
                Path(tmp),
                make_readme(args, gsm8k_path, n_gsm8k, arith_texts, arith_note),
            )
            for f in sorted(Path(tmp).iterdir()):
                if f.read_bytes() != (out / f.name).read_bytes():
                    print(f"NOT deterministic: a second run wrote a different {f.name}", file=sys.stderr)
                    return 1
        print("deterministic: a second training run wrote byte-identical files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
