"""One problem + its deviation plan -> one exported row (text and token columns).

Token space first (DESIGN.md section 3): the clean completion is tokenized once; each
deviation is placed at a token boundary at or before the character where it starts and
tokenized in context, so the tokens before the splice are exactly the clean ones. The `trace`
column and the deviations' character offsets are decoded from the tokens themselves, so they say
exactly what the tokens are (with SentencePiece tokenizers, a re-emitted first token shows its
leading space). A row whose clean text or deviation text does not survive encode/decode (a
tokenizer that lower-cases or maps to unknown tokens) is dropped and counted, never written
with wrong offsets.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field, replace

from tracegen import UNDO_TOKEN
from tracegen.columns import token_columns
from tracegen.generators.base import Deviation
from tracegen.problem import Problem
from tracegen.recipe import ExportConfig
from tracegen.rows.lines import CleanLines
from tracegen.stepsplit import step_starts
from tracegen.tokens import TraceTokenizer
from tracegen.trace import Splice, differing_splice, splice

MAX_BOUNDARY_RETRIES = 4


@dataclass
class RowResult:
    row: dict | None
    kinds: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)
    row_id: str = ""
    skip_reason: str | None = None  # why `row` is None
    note: str = ""  # details of the skip reason, for skipped.jsonl

    def skip(self, reason: str) -> RowResult:
        self.row, self.skip_reason = None, reason
        self.dropped[reason] += 1
        return self


@dataclass(frozen=True)
class _Placed:
    deviation: Deviation
    at: int  # clean token index of the splice
    tokens: tuple[int, ...]
    text: str  # the text of `tokens`
    char_span: tuple[int, int]  # lengths of the decoded clean ids up to the splice, and with `tokens` after them


def _common_prefix_len(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def place(
    tok: TraceTokenizer, lines: CleanLines, char_pos: int, text: str
) -> tuple[int, tuple[int, ...], str, str] | None:
    """Find the token boundary for a deviation starting at `char_pos` and tokenize it in context.

    The boundary is the longest run of clean tokens whose text is a prefix of the completion up
    to `char_pos`; the deviation's tokens also cover any text between that boundary and
    `char_pos`. If the tokenizer merges across the boundary, back off one token and retry.
    Returns the boundary, the deviation's tokens and text, and the decoded clean tokens before it.
    """
    completion, clean = lines.completion, lines.clean
    at = _common_prefix_len(lines.encode(completion[:char_pos], char_pos), clean)
    for _ in range(MAX_BOUNDARY_RETRIES):
        prefix = tok.decode(clean[:at])
        if completion.startswith(prefix) and len(prefix) <= char_pos:
            dev_text = completion[len(prefix) : char_pos] + text
            ids = lines.encode(prefix + dev_text, char_pos)
            if ids[:at] == clean[:at] and len(ids) > at and tok.decode(ids) == prefix + dev_text:
                return at, tuple(ids[at:]), dev_text, prefix
        if at == 0:
            return None
        at -= 1
    return None


def place_where_it_differs(
    tok: TraceTokenizer, lines: CleanLines, offsets: list[int], deviation: Deviation
) -> _Placed | str:
    """The deviation placed in token space from its first token that differs from the clean path, or why it cannot be.

    `clean` is the whole clean completion (EOS included), so a deviation that runs past the
    solution's end differs at the EOS. The tokens it shares with the clean continuation are
    correct: they stay clean and the splice moves past them (DESIGN.md section 3). `offsets`
    are the character offsets of the solution's steps.
    """
    completion, clean = lines.completion, lines.clean
    char_pos = offsets[deviation.step_index] + deviation.start_in_step
    where = place(tok, lines, char_pos, deviation.text)
    if where is None:
        return "tokenizer_boundary"
    at, tokens, text, before = where
    end = len(before) + len(text)  # the clean ids up to the splice and the deviation's ids decode to before + text
    moved = differing_splice(clean, Splice(at, tokens))
    if moved is None:
        return "deviation_prefix_of_clean"
    if moved.at > at:  # texts as prefix decodes, like the row's char offsets
        written = completion[:char_pos] + deviation.text  # the clean text up to the splice, then the deviation's
        before = tok.decode(clean[: moved.at])
        if not written.startswith(before):
            return "tokenizer_roundtrip"
        text = written[len(before) :]
        deviation = replace(deviation, step_index=bisect_right(offsets, len(before)) - 1)
    return _Placed(deviation, moved.at, moved.tokens, text, (len(before), end))


def build_row(
    problem: Problem, deviations: list[Deviation], tok: TraceTokenizer, cfg: ExportConfig, row_id: str
) -> RowResult:
    result = RowResult(row=None, row_id=row_id)
    if UNDO_TOKEN in problem.solution:
        return result.skip("undo_text_in_solution")  # the trace column could not tell it from a real <UNDO>
    if cfg.chat_template and any(text in problem.question for text in tok.special_texts()):
        return result.skip("special_token_text_in_question")  # a chat template would make it a real special token
    prompt = tok.prompt_text(problem.question, cfg.prompt_template, cfg.chat_template)
    prompt_ids = tok.prompt_ids(prompt, cfg.chat_template)
    if tok.decode(prompt_ids if cfg.chat_template else prompt_ids[len(tok.special_prefix) :]) != prompt:
        return result.skip("tokenizer_roundtrip")
    completion = problem.solution
    body = tok.encode(completion)
    if tok.decode(body) != completion:
        return result.skip("tokenizer_roundtrip")
    clean = body + tok.completion_suffix()

    offsets = step_starts(completion, problem.step_split)
    lines = CleanLines(tok, completion, clean)
    placed: list[_Placed] = []
    for dev in deviations:
        where = place_where_it_differs(tok, lines, offsets, dev)
        if isinstance(where, str):
            result.dropped[where] += 1
        elif placed and where.at <= placed[-1].at:
            result.dropped["tokenizer_boundary"] += 1
        else:
            placed.append(where)

    delimiters = tok.delimiters if cfg.undo_unit == "step" else frozenset()
    spliced = splice(clean, [Splice(p.at, p.tokens) for p in placed], tok.undo_id, cfg.undo_unit, delimiters)
    trace_body = spliced.tokens[: len(spliced.tokens) - len(clean) + len(body)]
    trace_text = tok.decode(trace_body)
    dev_records = [
        _record(tok, p, trace_body, span, n, len(prompt_ids), first=k == 0)
        for k, (p, span, n) in enumerate(zip(placed, spliced.deviation_spans, spliced.undo_counts))
    ]
    if any(trace_text[r["char_start"] : r["char_end"]] != p.text for r, p in zip(dev_records, placed)):
        return result.skip("tokenizer_roundtrip")

    columns = token_columns(
        prompt_ids,
        spliced.tokens,
        spliced.deviation_spans,
        spliced.prune_spans,
        undo_id=tok.undo_id,
        unit=cfg.undo_unit,
        mode=cfg.context_mode,
        loss=cfg.loss,
        delimiters=delimiters,
        label_before_deviation=cfg.label_before_deviation,
    )
    result.kinds.update(p.deviation.kind for p in placed)
    result.row = {
        "id": row_id,
        "source_id": problem.source_id,
        "prompt": prompt,
        "clean_completion": completion,
        "trace": trace_text,
        "answer": problem.answer,
        "deviations": dev_records,
        **columns,
        "undo_unit": cfg.undo_unit,
        "context_mode": cfg.context_mode,
    }
    return result


def _record(
    tok: TraceTokenizer,
    p: _Placed,
    trace_body: list[int],
    span: tuple[int, int],
    undo_count: int,
    prompt_len: int,
    first: bool,
) -> dict:
    """A deviation's record; char offsets are into the decoded trace, so they match the tokens exactly.

    The trace up to the end of its first deviation is the clean ids up to the splice and the
    deviation's ids: their decoded lengths are known from placing it (`p.char_span`).
    """
    start, end = span
    char_start, char_end = (
        p.char_span if first else (len(tok.decode(trace_body[:start])), len(tok.decode(trace_body[:end])))
    )
    return {
        "kind": p.deviation.kind,
        "step_index": p.deviation.step_index,
        "char_start": char_start,
        "char_end": char_end,
        "token_start": prompt_len + start,
        "token_end": prompt_len + end,
        "undo_count": undo_count,
        "detected_after": p.deviation.detected_after,
        "reason": p.deviation.reason,
        "weak_solution": p.deviation.weak_solution,
    }
