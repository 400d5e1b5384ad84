"""What a step is, in text and in token space: `steps.split` = `line`, `paragraph` or a regex.

In text, a solution is steps joined by separators: `line` splits at each "\\n" (GSM8K),
`paragraph` at each run of two or more newlines (MATH, NuminaMath: a single newline inside a
paragraph, as around display math, stays inside its step), a regex at each of its non-empty
matches. `"".join(steps interleaved with separators) == solution` always holds.

In token space (undo unit `step`), `<UNDO>` pops until the stack top ends a step
(tracegen.trace.ends_step). For `line` that is any token whose text holds a newline. For
`paragraph` it is a token whose text holds a blank line ("\\n\\n", alone or merged with
neighbouring characters: ".\\n\\n", "\\n\\n\\n"), or a token starting with a newline directly on
a token ending with one: tokenizers without a "\\n\\n" token (the embedded one) cut a blank line
in two. For a regex it is a token whose text holds a match; a regex no single token matches
cannot delimit steps in token space, and is refused for undo unit `step`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from tracegen.errors import InputError

LINE, PARAGRAPH = "line", "paragraph"
_BLANK_LINE = "\n\n"


@lru_cache(maxsize=64)
def separator_pattern(split: str) -> re.Pattern:
    if split == LINE:
        return re.compile("\n")
    if split == PARAGRAPH:
        return re.compile(r"\n{2,}")
    return re.compile(split)


def check_split(split: str) -> None:
    """A regex split must compile and must not match the empty string (it would cut everywhere)."""
    try:
        pattern = separator_pattern(split)
    except re.error as e:
        raise ValueError(f"not a regular expression: {e}") from None
    if pattern.fullmatch(""):
        raise ValueError("the step separator regex matches the empty string")


def split_with_separators(text: str, split: str) -> tuple[list[str], list[str]]:
    """The steps of `text` and the separators between them (one fewer than steps)."""
    steps, separators, at = [], [], 0
    for match in separator_pattern(split).finditer(text):
        if match.end() == match.start():
            continue
        steps.append(text[at : match.start()])
        separators.append(match.group())
        at = match.end()
    steps.append(text[at:])
    return steps, separators


def split_solution(text: str, split: str) -> list[str]:
    return split_with_separators(text, split)[0]


def step_starts(text: str, split: str) -> list[int]:
    """Character offset of each step in `text`."""
    steps, separators = split_with_separators(text, split)
    starts, pos = [], 0
    for step, separator in zip(steps, [*separators, ""]):
        starts.append(pos)
        pos += len(step) + len(separator)
    return starts


class BlankLineDelimiters(frozenset):
    """Ids whose text holds a blank line, plus `pair`: (ids starting with "\\n", ids ending with "\\n").

    A frozenset, so code that only asks `id in delimiters` keeps working; tracegen.trace.ends_step
    also reads `pair` to find blank lines a tokenizer cut between two tokens.
    """

    pair: tuple[frozenset[int], frozenset[int]]

    def __new__(cls, whole: frozenset[int], opens: frozenset[int], closes: frozenset[int]) -> BlankLineDelimiters:
        made = super().__new__(cls, whole)
        made.pair = (frozenset(opens), frozenset(closes))
        return made

    def __bool__(self) -> bool:
        return bool(len(self) or (self.pair[0] and self.pair[1]))

    def __reduce__(self):
        return (BlankLineDelimiters, (frozenset(self), *self.pair))


def delimiter_ids(token_texts: list[str], split: str, undo_id: int) -> frozenset[int]:
    """The step delimiters of a vocabulary (`token_texts[i]` is token i's text) for `split`."""
    ids = range(len(token_texts))
    if split == LINE:
        return frozenset(i for i in ids if "\n" in token_texts[i] and i != undo_id)
    if split == PARAGRAPH:
        whole = frozenset(i for i in ids if _BLANK_LINE in token_texts[i] and i != undo_id)
        opens = frozenset(i for i in ids if token_texts[i].startswith("\n") and i != undo_id)
        closes = frozenset(i for i in ids if token_texts[i].endswith("\n") and i != undo_id)
        return BlankLineDelimiters(whole, opens, closes)
    pattern = separator_pattern(split)
    return frozenset(
        i for i in ids if i != undo_id and any(m.end() > m.start() for m in pattern.finditer(token_texts[i]))
    )


def use_step_split(tok, split: str, undo_unit: str) -> None:
    """Make `tok.delimiters` (read by the exporter, the checker, the trainer) those of `split`.

    Raises InputError when undo unit `step` cannot find steps of a regex split in token space.
    """
    if split == LINE:
        return  # the tokenizer's own definition
    backend = tok.backend
    texts = backend.decode_batch(
        [[i] for i in range(backend.get_vocab_size(with_added_tokens=True))], skip_special_tokens=False
    )
    delimiters = delimiter_ids(texts, split, tok.undo_id)
    if undo_unit == "step" and not delimiters:
        raise InputError(
            f"undo unit 'step': no token of tokenizer '{tok.name}' holds a match of steps.split {split!r}, so steps "
            "cannot be found in token space",
            field="steps.split",
        )
    tok.delimiters = delimiters  # replaces the cached line delimiters of this instance
