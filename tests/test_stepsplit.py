"""Steps in text and in token space; paragraph steps with tokenizers that cut a blank line in two."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracegen.stepsplit import BlankLineDelimiters, delimiter_ids, split_with_separators, step_starts, use_step_split
from tracegen.trace import Splice, apply, ends_step, replay, splice, step_start, undos_to_erase


@given(st.text(alphabet="ab \n.$", max_size=40), st.sampled_from(["line", "paragraph", r"\n(?=Step)", "[.]"]))
def test_steps_and_separators_rebuild_the_text(text, split):
    steps, separators = split_with_separators(text, split)
    assert len(separators) == len(steps) - 1
    assert "".join(s + sep for s, sep in zip(steps, separators + [""])) == text
    assert [text[start : start + len(step)] for start, step in zip(step_starts(text, split), steps)] == steps


def test_paragraphs_keep_single_newlines_inside():
    text = "Factoring,\n$$x = 1$$\n\nSo $x = 1$.\n\n\nDone."
    assert split_with_separators(text, "paragraph") == (
        ["Factoring,\n$$x = 1$$", "So $x = 1$.", "Done."],
        ["\n\n", "\n\n\n"],
    )


def test_blank_line_delimiters_end_a_step_whole_or_cut_in_two():
    texts = ["a", "\n", ".\n", "\n\n", "\nThe", "b\n\n"]
    delimiters = delimiter_ids(texts, "paragraph", undo_id=99)
    assert isinstance(delimiters, BlankLineDelimiters) and set(delimiters) == {3, 5}
    assert ends_step(delimiters, 3, None)  # "\n\n" alone
    assert ends_step(delimiters, 1, 2)  # ".\n" then "\n"
    assert ends_step(delimiters, 4, 1)  # "\n" then "\nThe"
    assert not ends_step(delimiters, 1, 0)  # a single newline inside a paragraph
    assert not ends_step(delimiters, 1, None)
    assert delimiter_ids(texts, "line", undo_id=99) == frozenset({1, 2, 3, 4, 5})


def test_the_embedded_tokenizer_finds_paragraph_steps():
    """It has no "\\n\\n" token: a blank line is two "\\n" tokens, and step undo still pops whole paragraphs."""
    from tracegen.tokens import TraceTokenizer

    tok = TraceTokenizer.load(None)  # its own: the module's `tok` keeps line delimiters
    use_step_split(tok, "paragraph", "step")
    text = "First $1 + 1 = 2$.\nStill first.\n\nSecond $2 + 2 = 4$.\n\nThird."
    clean = tok.encode(text)
    assert (
        tok.decode(clean[: step_start(clean, len(clean), tok.delimiters)])
        == "First $1 + 1 = 2$.\nStill first.\n\nSecond $2 + 2 = 4$.\n\n"
    )
    at = len(tok.encode("First $1 + 1 = 2$.\nStill first.\n\nSecond $2 + 2"))
    wrong = tuple(tok.encode(" = 5$.\n\n"))
    spliced = splice(clean, [Splice(at, wrong)], tok.undo_id, "step", tok.delimiters)
    assert spliced.undo_counts == [1]  # one <UNDO> pops the wrong text and the start of its paragraph
    assert apply(spliced.tokens, tok.undo_id, "step", tok.delimiters) == clean


def test_splices_apply_to_the_clean_ids_for_any_cut():
    """Random paragraph texts, tokens and splice points: the trace always applies to the clean ids."""
    rng = random.Random(0)
    vocab = ["a", "b", ".", "\n", "\n\n", "\nc", "d\n", " "]
    delimiters = delimiter_ids(vocab, "paragraph", undo_id=len(vocab))
    undo = len(vocab)
    for _ in range(300):
        clean = [rng.randrange(len(vocab)) for _ in range(rng.randrange(1, 30))]
        cuts = sorted(rng.sample(range(len(clean) + 1), rng.randrange(1, 3)))
        splices = [Splice(at, tuple(rng.randrange(len(vocab)) for _ in range(rng.randrange(1, 5)))) for at in cuts]
        try:
            spliced = splice(clean, splices, undo, "step", delimiters)
        except ValueError:
            continue  # a splice before the previous one's resume point
        assert apply(spliced.tokens, undo, "step", delimiters) == clean
        survivors = replay(spliced.tokens, undo, "step", delimiters).survivors
        assert [spliced.tokens[i] for i in survivors] == clean


def test_undo_counts_look_below_the_erased_tokens():
    vocab = ["x", "\n"]
    delimiters = delimiter_ids(vocab, "paragraph", undo_id=9)
    # erased: "\n" "x"; under them a "\n": the first erased token ends a step, so two <UNDO>s are needed
    assert undos_to_erase([1, 0], "step", delimiters, below=1) == 2
    assert undos_to_erase([1, 0], "step", delimiters, below=0) == 1


def test_a_regex_no_token_matches_is_refused_for_step_undo(tok):
    from tracegen.errors import InputError

    with pytest.raises(InputError, match="steps.split"):
        use_step_split(tok, r"\n(?=Step \d)", "step")
