"""A text that starts like a row's completion is encoded from its first changed line: the same ids as encoding it
whole (tracegen.rows.lines), and only for tokenizers where that holds."""

import json
import random

import pytest
from foreign_tokenizers import with_changes
from tokenizers import normalizers

from tracegen.rows.lines import CleanLines
from tracegen.tokens import TraceTokenizer


def solutions(gsm8k_train, n: int = 200) -> list[str]:
    with gsm8k_train.open() as f:
        return [json.loads(line)["answer"] for _, line in zip(range(n), f)]


def test_encoding_from_the_first_changed_line_gives_the_ids_of_the_whole_text(tok, gsm8k_train):
    assert tok.isolated_newline_id is not None  # the embedded tokenizer isolates newlines
    rng = random.Random(0)
    endings = ["", "7", " 12", "\n", "\n\n", "<<4*5=20>>20\n", " and then\n#### 3", "\u00e9\u20ac 5 ", "<UNDO>x"]
    checked = 0
    for completion in solutions(gsm8k_train):
        clean = tok.encode(completion) + tok.completion_suffix()
        lines = CleanLines(tok, completion, clean)
        assert lines.line_starts is not None
        for _ in range(5):
            shared = rng.randrange(len(completion) + 1)
            text = completion[:shared] + rng.choice(endings)
            assert lines.encode(text, shared) == tok.encode(text), (completion, shared, text)
            checked += 1
    assert checked == 1000


def test_tokenizers_that_may_merge_across_a_newline_encode_the_whole_text(tmp_path, foreign_tokenizers):
    for name in ("gpt2", "qwen", "llama"):  # newlines merge with spaces or punctuation, or a "▁" follows them
        assert TraceTokenizer.load(str(foreign_tokenizers[name])).isolated_newline_id is None, name

    def lowercase(backend, kwargs):
        backend.normalizer = normalizers.Lowercase()

    embedded_copy = tmp_path / "embedded"
    TraceTokenizer.load(None).save(embedded_copy)
    normalized = TraceTokenizer.load(str(with_changes(embedded_copy, tmp_path / "lower", lowercase)))
    assert normalized.isolated_newline_id is None  # a normalizer could act across the newline


@pytest.mark.parametrize("completion", ["one line only", "a\nb\n\nc", "\nstarts with a newline", "ends\n"])
def test_texts_sharing_any_part_of_the_completion(tok, completion):
    lines = CleanLines(tok, completion, tok.encode(completion))
    for shared in range(len(completion) + 1):
        text = completion[:shared] + "9 more\ntext"
        assert lines.encode(text, shared) == tok.encode(text)


def test_a_prefix_added_to_the_first_piece_only_rules_it_out(tmp_path):
    """Metaspace (prepend_scheme "first") after a newline split: the line after a newline, encoded alone, is a first
    piece and would get a "▁" it does not get inside the whole text."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex("\n"), behavior="isolated"),
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first"),
        ]
    )
    backend.train_from_iterator(
        ["a b\nc d\n" * 50], trainers.BpeTrainer(vocab_size=60, special_tokens=["<unk>", "</s>"])
    )
    PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="</s>", unk_token="<unk>").save_pretrained(tmp_path)
    tok = TraceTokenizer.load(str(tmp_path))
    assert tok.encode("a b\nc d") != tok.encode("a b\n") + tok.encode("c d")  # why it must not qualify
    assert tok.isolated_newline_id is None
