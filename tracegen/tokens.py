"""The tokenizer as tracegen needs it: exact encode/decode, `<UNDO>`, step delimiters, prompt framing.

Any transformers *fast* tokenizer works (the offsets and speed of the Rust backend are needed);
`<UNDO>` is added as a special token when missing. Encoding and decoding go straight through the
backend (no `clean_up_tokenization_spaces`), so text columns say exactly what the tokens are.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

from tokenizers import Tokenizer

from tracegen import UNDO_TOKEN
from tracegen.embedded_tokenizer import EMBEDDED_TOKENIZER_DIR
from tracegen.errors import InputError, first_line
from tracegen.hub_names import require_hub_or_cache
from tracegen.portable_tokenizer import save_portable
from tracegen.public import public_name

EMBEDDED_NAME = "tracegen-embedded"
HUB_ID = re.compile(r"[\w-][\w.-]*(/[\w-][\w.-]*)?")


class TraceTokenizer:
    def __init__(self, hf_tokenizer, name: str):
        if not getattr(hf_tokenizer, "is_fast", False):
            raise InputError(
                f"tokenizer '{name}' has no fast (Rust) version; tracegen needs one for exact offsets",
                field="tokenizer",
            )
        if UNDO_TOKEN not in hf_tokenizer.all_special_tokens:  # new, or an ordinary token made special (same id)
            hf_tokenizer.add_special_tokens({"additional_special_tokens": [UNDO_TOKEN]})
        self.hf = hf_tokenizer
        self.name = name
        self.backend = hf_tokenizer.backend_tokenizer
        # A tokenizer.json may switch truncation or padding on; traces must never be cut or padded.
        self.backend.no_truncation()
        self.backend.no_padding()
        # Text from data is only text: a literal "<UNDO>" or "<|endoftext|>" in a solution must not become a special
        # token.
        self._text_backend = Tokenizer.from_str(self.backend.to_str())
        self._text_backend.encode_special_tokens = True
        self.undo_id: int = hf_tokenizer.convert_tokens_to_ids(UNDO_TOKEN)
        self.eos_id: int | None = hf_tokenizer.eos_token_id
        for role in ("eos", "bos", "pad", "unk"):
            if getattr(hf_tokenizer, f"{role}_token_id") == self.undo_id:
                raise InputError(
                    f"{UNDO_TOKEN} is also the tokenizer's {role} token; it needs a token of its own",
                    file=name,
                    field="tokenizer",
                )
        self._prefetched: dict[str, tuple[int, ...]] = {}
        self.special_prefix = self._leading_specials()

    @classmethod
    def load(cls, name_or_path: str | None) -> TraceTokenizer:
        """The embedded tokenizer (None), a local folder, or a Hub name."""
        source = str(EMBEDDED_TOKENIZER_DIR) if name_or_path is None else name_or_path
        if not Path(source).exists() and not HUB_ID.fullmatch(source):
            raise InputError("no such folder, and not a Hub repo id", file=source, field="tokenizer")
        require_hub_or_cache(source, field="tokenizer")
        try:
            hf = from_pretrained(source)
        except Exception as e:  # transformers raises OSError, ValueError, HF hub errors...
            raise InputError(f"cannot load tokenizer: {first_line(e)}", file=source, field="tokenizer") from None
        return cls(hf, EMBEDDED_NAME if name_or_path is None else name_or_path)

    def encode(self, text: str) -> list[int]:
        """Plain text to ids; special-token strings inside it stay ordinary text."""
        ids = self._prefetched.get(text)
        if ids is not None:
            return list(ids)
        return self._text_backend.encode(text, add_special_tokens=False).ids

    def prefetch(self, texts: Iterable[str]) -> None:
        """Encode `texts` now, in one batch, and answer `encode` of any of them from memory until the next prefetch.

        One batch call costs a fraction of as many single calls (the backend spreads it over
        threads), and a row's prompt and solution are encoded twice: by the exporter and again by
        the self-check. Each prefetch replaces the previous one, so memory stays one chunk's worth.
        """
        unique = list(dict.fromkeys(texts))
        self._prefetched = dict(
            zip(unique, (tuple(e.ids) for e in self._text_backend.encode_batch(unique, add_special_tokens=False)))
        )

    @cached_property
    def isolated_newline_id(self) -> int | None:
        """The id of "\\n" where the tokenizer cuts text at every newline before anything else; else None.

        Such a tokenizer (the embedded one: no normalizer, a first pre-tokenizer that isolates each
        "\\n", no added token that text could match) tokenizes the text on each side of a newline
        on its own, so `encode(a + b) == encode(a) + encode(b)` whenever `a` ends with "\\n". A text
        that starts like an encoded one then needs encoding only from its first changed line
        (tracegen.rows.lines).
        """
        backend = self._text_backend
        if backend.normalizer is not None or backend.pre_tokenizer is None:
            return None
        spec = json.loads(backend.pre_tokenizer.__getstate__())
        first, *then = (spec.get("pretokenizers") or [{}]) if spec.get("type") == "Sequence" else [spec]
        isolates_newlines = (
            first.get("type") == "Split"
            and first.get("pattern") in ({"String": "\n"}, {"Regex": "\n"}, {"Regex": "\\n"})
            and first.get("behavior") == "Isolated"
            and not first.get("invert")
        )
        if (
            not isolates_newlines
            or not all(_cuts_pieces_alike(step) for step in then)
            or not all(t.special for t in backend.get_added_tokens_decoder().values())
        ):
            return None
        ids = self.encode("\n")
        return ids[0] if len(ids) == 1 else None

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self._text_backend.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: list[int]) -> str:
        return self.backend.decode(ids, skip_special_tokens=False)

    @cached_property
    def delimiters(self) -> frozenset[int]:
        """Token ids whose text contains a newline: the ends of steps for undo unit `step`."""
        vocab_size = self.backend.get_vocab_size(with_added_tokens=True)
        texts = self.backend.decode_batch([[i] for i in range(vocab_size)], skip_special_tokens=False)
        return frozenset(i for i, text in enumerate(texts) if "\n" in text and i != self.undo_id)

    def _leading_specials(self) -> list[int]:
        """The special ids the tokenizer puts before text by default (e.g. Llama's BOS; a trailing EOS is not kept)."""
        with_specials = self.backend.encode("x", add_special_tokens=True).ids
        plain = self.encode("x")
        for start in range(len(with_specials) - len(plain) + 1):
            if with_specials[start : start + len(plain)] == plain:
                return with_specials[:start]
        return []

    def prompt_text(self, question: str, template: str, chat: bool) -> str:
        if not chat:
            return template.replace("{question}", question)
        if not self.hf.chat_template:
            raise InputError("the tokenizer has no chat template", file=self.name, field="chat_template")
        try:
            return self.hf.apply_chat_template(
                [{"role": "user", "content": question}], tokenize=False, add_generation_prompt=True
            )
        except Exception as e:  # jinja2 errors of a broken template
            raise InputError(
                f"the chat template fails: {type(e).__name__}: {e}", file=self.name, field="chat_template"
            ) from None

    def special_texts(self) -> list[str]:
        """Strings a chat template would turn into special tokens."""
        return [t.content for t in self.hf.added_tokens_decoder.values() if t.special]

    def prompt_ids(self, prompt_text: str, chat: bool) -> list[int]:
        """Chat templates write their own special tokens as text; a plain prompt gets the tokenizer's default
        prefix."""
        if chat:
            return self.backend.encode(prompt_text, add_special_tokens=False).ids
        return self.special_prefix + self.encode(prompt_text)

    def completion_suffix(self) -> list[int]:
        return [self.eos_id] if self.eos_id is not None else []

    def require_roundtrip(self, texts: list[str]) -> None:
        """Refuse a tokenizer that changes most texts (lower-casing, unknown tokens, normalisation)."""
        decoded = [self.decode(ids) for ids in self.encode_batch(texts)]
        failures = [(t, d) for t, d in zip(texts, decoded) if t != d]
        if texts and len(failures) * 2 > len(texts):
            text, back = failures[0]
            at = next((i for i, (a, b) in enumerate(zip(text, back)) if a != b), min(len(text), len(back)))
            raise InputError(
                f"does not round-trip text ({len(failures)} of {len(texts)} sampled texts change; "
                f"first at char {at}: {text[at : at + 20]!r} -> {back[at : at + 20]!r}); tracegen needs exact offsets",
                file=self.name,
                field="tokenizer",
            )

    def save(self, directory: Path) -> str:
        """Write the tokenizer (with `<UNDO>`) for training, loadable by every claimed transformers version; returns
        the sha256 of its tokenizer.json."""
        save_portable(self.hf, Path(directory))
        return hashlib.sha256((directory / "tokenizer.json").read_bytes()).hexdigest()

    def info(self, sha256: str) -> dict:
        return {
            "name": public_name(self.name),  # a local folder by name and hash, never its path
            "sha256": sha256,
            "undo_token": UNDO_TOKEN,
            "undo_id": self.undo_id,
            "eos_id": self.eos_id,
            "vocab_size": self.backend.get_vocab_size(with_added_tokens=True),
        }


_SPLITTERS = {
    "Split",
    "Digits",
    "Punctuation",
    "Whitespace",
    "WhitespaceSplit",
    "UnicodeScripts",
    "CharDelimiterSplit",
}


def _cuts_pieces_alike(pre_tokenizer: dict) -> bool:
    """Whether a pre-tokenizer treats a piece of text the same wherever the piece stands.

    Splitters do; a byte-level mapping does without a prefix space; a Metaspace or a ByteLevel
    that adds a space to the *first* piece does not (the piece after a newline is first when
    encoded alone).
    """
    kind = pre_tokenizer.get("type")
    if kind == "ByteLevel":
        return not pre_tokenizer.get("add_prefix_space")
    return kind in _SPLITTERS


def from_pretrained(source: str | Path):
    """`AutoTokenizer.from_pretrained(source)`, without its import of torch where the folder names the generic fast
    class.

    AutoTokenizer imports the model configuration machinery (and with it torch, seconds per
    process); a folder whose tokenizer_config.json names `PreTrainedTokenizerFast` (the embedded
    tokenizer, and every tokenizer a build saves from it) is loaded by that class directly, which
    is what AutoTokenizer would do with it.
    """
    try:
        config = json.loads((Path(source) / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = None
    if isinstance(config, dict) and config.get("tokenizer_class") == "PreTrainedTokenizerFast":
        from transformers import PreTrainedTokenizerFast

        return PreTrainedTokenizerFast.from_pretrained(str(source))
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(source))


def load_saved(directory: Path, name: str) -> TraceTokenizer:
    """The tokenizer a build saved next to its data; `name` is the one its manifest records."""
    try:
        hf = from_pretrained(directory)
    except Exception as e:  # a damaged or incomplete folder
        raise InputError(
            f"cannot load the saved tokenizer ({type(e).__name__}: {str(e).strip()[:120]})", file=str(directory)
        ) from None
    return TraceTokenizer(hf, name)
