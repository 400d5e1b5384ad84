"""Encoding texts that start like a row's clean completion, without encoding the shared start again.

Placing a deviation (tracegen.rows.row.place) encodes the completion up to the splice and then
the completion up to the splice followed by the deviation's text: each about as long as the
solution, where only the last line differs from what the clean ids already say. With a tokenizer
that tokenizes each side of a newline on its own (`TraceTokenizer.isolated_newline_id`), the ids
of a text sharing the completion's first lines are the clean ids of those lines followed by the
ids of the rest, encoded alone: the same ids, at the cost of one line. Any other tokenizer
encodes the whole text, as before.
"""

from __future__ import annotations

from tracegen.tokens import TraceTokenizer


class CleanLines:
    """A row's completion and its clean ids, with the clean index where each line's tokens start."""

    def __init__(self, tok: TraceTokenizer, completion: str, clean: list[int]):
        self.tok, self.completion, self.clean = tok, completion, clean
        newline = tok.isolated_newline_id
        starts = None if newline is None else [0] + [i + 1 for i, t in enumerate(clean) if t == newline]
        # one newline id per newline of the text, else the ids did not come the way this relies on
        self.line_starts = starts if starts is not None and len(starts) == completion.count("\n") + 1 else None

    def encode(self, text: str, shared: int) -> list[int]:
        """`tok.encode(text)`, for a text whose first `shared` characters are the completion's."""
        if self.line_starts is None:
            return self.tok.encode(text)
        cut = self.completion.rfind("\n", 0, shared) + 1  # start of the line the shared part ends in
        line = self.completion.count("\n", 0, cut)
        return self.clean[: self.line_starts[line]] + self.tok.encode(text[cut:])
