"""`tracegen check OUT`: re-derive every invariant of every row from first principles.

The rules are written independently of the exporter (their own stack walks, prefix decodes and
span arithmetic), so a bug in the exporter shows up as a named rule failing on a named row
rather than being reproduced by the same code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from tracegen import UNDO_TOKEN
from tracegen.errors import InputError
from tracegen.export.tokenizer import TraceTokenizer, load_saved
from tracegen.export.writer import MANIFEST, TOKENIZER_DIR
from tracegen.steps import final_answer

IGNORE = -100


class RowError(Exception):
    def __init__(self, rule: str, detail: str):
        super().__init__(f"{rule}: {detail}")
        self.rule, self.detail = rule, detail


@dataclass
class CheckReport:
    rows: int
    failure: str | None = None


@dataclass(frozen=True)
class RowContext:
    """What a row is checked against: the tokenizer and the export options of its dataset."""

    tok: TraceTokenizer
    unit: str
    mode: str
    loss: str
    chat: bool
    suffix: tuple[int, ...]
    delimiters: frozenset[int]

    @classmethod
    def of(cls, tok: TraceTokenizer, unit: str, mode: str, loss: str, chat: bool) -> RowContext:
        return cls(tok, unit, mode, loss, chat, tuple(tok.completion_suffix()), tok.delimiters if unit == "step" else frozenset())


def check_dataset(out: Path, on_progress: Callable[[int], None] = lambda n: None) -> CheckReport:
    out = Path(out)
    manifest_path = out / MANIFEST
    if not manifest_path.is_file():
        raise InputError(f"not a tracegen dataset folder (no {MANIFEST})", file=str(out))
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    export = manifest["recipe"]["export"]
    tok = load_saved(out / TOKENIZER_DIR)
    if tok.undo_id != manifest["tokenizer"]["undo_id"]:
        return CheckReport(0, f"manifest: <UNDO> id {manifest['tokenizer']['undo_id']} != tokenizer's {tok.undo_id}")
    ctx = RowContext.of(tok, export["undo_unit"], export["context_mode"], export["loss"], export["chat_template"])
    checked = 0
    for split, info in manifest["splits"].items():
        split_rows = 0
        for rel in info["files"]:
            path = out / rel
            if not path.is_file():
                return CheckReport(checked, f"{rel}: listed in {MANIFEST} but missing")
            for batch in pq.ParquetFile(path).iter_batches(batch_size=512):
                for row in batch.to_pylist():
                    try:
                        check_row(row, ctx)
                    except RowError as e:
                        return CheckReport(checked, f"{rel} row {split_rows} (id {row.get('id')}): rule '{e.rule}': {e.detail}")
                    split_rows += 1
                    checked += 1
                on_progress(batch.num_rows)
        if split_rows != info["rows"]:
            return CheckReport(checked, f"split {split}: {split_rows} rows on disk, manifest says {info['rows']}")
    return CheckReport(checked)


def check_row(row: dict, ctx: RowContext) -> None:
    ids, labels, positions = row["input_ids"], row["labels"], row["position_ids"]
    undo = ctx.tok.undo_id
    _expect(row["undo_unit"] == ctx.unit and row["context_mode"] == ctx.mode, "modes", f"row says {row['undo_unit']}/{row['context_mode']}, manifest {ctx.unit}/{ctx.mode}")
    _expect(len(ids) == len(labels) == len(positions), "lengths", f"input_ids {len(ids)}, labels {len(labels)}, position_ids {len(positions)}")
    _expect(final_answer(row["clean_completion"]) == row["answer"], "answer", f"answer {row['answer']!r} is not the clean completion's final answer")

    prompt_ids = ctx.tok.prompt_ids(row["prompt"], ctx.chat)
    p = len(prompt_ids)
    _expect(ids[:p] == prompt_ids, "prompt", "input_ids do not start with the tokenized prompt")
    completion = ids[p:]
    _expect(undo not in prompt_ids, "prompt", "<UNDO> inside the prompt")

    clean = ctx.tok.encode(row["clean_completion"]) + list(ctx.suffix)
    walk = _walk(completion, undo, ctx)
    applied = [completion[i] for i in walk.survivors]
    _expect(applied == clean, "applied_trace", f"applying the trace gives {len(applied)} tokens that differ from the {len(clean)} clean ids at index {_first_diff(applied, clean)}")
    body = completion[: len(completion) - len(ctx.suffix)]
    _expect(tuple(completion[len(body) :]) == ctx.suffix and ctx.tok.decode(body) == row["trace"], "trace_text", "decoding the trace tokens does not give the trace column")
    if ctx.loss == "clean":
        _expect(not row["deviations"] and undo not in completion, "clean_loss", "loss 'clean' rows must have no deviations")

    _check_deviations(row, body, p, undo, ctx)
    group_ends = _check_prune_spans(row["prune_spans"], ids, p, undo, walk)
    _check_positions(positions, ids, p, undo, group_ends, ctx.mode)
    _check_labels(row, p, walk, ctx)


def _expect(ok: bool, rule: str, detail: str) -> None:
    if not ok:
        raise RowError(rule, detail)


def _first_diff(a: list[int], b: list[int]) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


@dataclass
class _Walk:
    survivors: list[int]
    erased_by_group: dict[int, list[int]]  # first <UNDO> of a group -> positions it erased
    last_from: dict[int, int]  # state (stack top, -1 = prompt end) -> last position emitted from it


def _walk(completion: list[int], undo: int, ctx: RowContext) -> _Walk:
    """The UNDO stack machine, written out again independently of tracegen.trace."""
    stack: list[int] = []
    erased: dict[int, list[int]] = {}
    last_from: dict[int, int] = {}
    group = -1
    for i, tok in enumerate(completion):
        last_from[stack[-1] if stack else -1] = i
        if tok != undo:
            stack.append(i)
            continue
        group = group if i > 0 and completion[i - 1] == undo else i
        erased.setdefault(group, [])
        if stack:
            erased[group].append(stack.pop())
            while ctx.unit == "step" and stack and completion[stack[-1]] not in ctx.delimiters:
                erased[group].append(stack.pop())
    return _Walk(stack, erased, last_from)


def _check_deviations(row: dict, body: list[int], p: int, undo: int, ctx: RowContext) -> None:
    trace = row["trace"]
    for k, dev in enumerate(row["deviations"]):
        start, end, n = dev["token_start"] - p, dev["token_end"] - p, dev["undo_count"]
        _expect(0 <= start < end <= len(body) and n >= 1, "deviations", f"deviation {k}: token span [{start + p}, {end + p}) out of bounds")
        _expect(undo not in body[start:end], "deviations", f"deviation {k} contains <UNDO>")
        _expect(body[end : end + n] == [undo] * n and (end + n == len(body) or body[end + n] != undo), "deviations", f"deviation {k} is not followed by exactly {n} <UNDO>")
        _expect(
            len(ctx.tok.decode(body[:start])) == dev["char_start"] and len(ctx.tok.decode(body[:end])) == dev["char_end"],
            "deviations",
            f"deviation {k}: char span [{dev['char_start']}, {dev['char_end']}) does not match its tokens",
        )
        _expect(trace[dev["char_end"] : dev["char_end"] + len(UNDO_TOKEN) * n] == UNDO_TOKEN * n, "deviations", f"deviation {k}: trace text lacks its <UNDO>s")


def _check_prune_spans(spans: list[list[int]], ids: list[int], p: int, undo: int, walk: _Walk) -> list[tuple[int, int]]:
    """Spans are sorted, disjoint, in bounds, and erase exactly what their <UNDO> group pops. Returns (start, group_end) pairs."""
    ranges, previous_end = [], p
    for k, span in enumerate(spans):
        _expect(len(span) == 3, "prune_spans", f"span {k} is not [start, end, undo_at]")
        start, end, undo_at = span
        _expect(previous_end <= start < end <= undo_at < len(ids), "prune_spans", f"span {k} {span} out of order or out of bounds")
        _expect(undo_at - p in walk.erased_by_group, "prune_spans", f"span {k}: no <UNDO> group starts at {undo_at}")
        erased = sorted(j + p for j in walk.erased_by_group[undo_at - p])
        _expect(erased == list(range(start, end)), "prune_spans", f"span {k} {span}: its <UNDO> group erases {len(erased)} tokens from {erased[:1]}")
        group_end = undo_at
        while group_end < len(ids) and ids[group_end] == undo:
            group_end += 1
        ranges.append((start, group_end))
        previous_end = group_end
    _expect(len(spans) == len(walk.erased_by_group), "prune_spans", f"{len(walk.erased_by_group)} <UNDO> groups but {len(spans)} spans")
    return ranges


def _check_positions(positions: list[int], ids: list[int], p: int, undo: int, group_ends: list[tuple[int, int]], mode: str) -> None:
    if mode == "soft":
        _expect(positions == list(range(len(ids))), "position_ids", "soft mode needs 0..n-1")
        return
    for i, pos in enumerate(positions):
        if i > 0 and ids[i] == undo and i >= p:
            expected = positions[i - 1] + 1
        else:
            expected = i - sum(end - start for start, end in group_ends if end <= i)
        _expect(pos == expected, "position_ids", f"position {i}: expected {expected}, found {pos}")


def _check_labels(row: dict, p: int, walk: _Walk, ctx: RowContext) -> None:
    ids, labels = row["input_ids"], row["labels"]
    completion = ids[p:]
    deviation = [False] * len(completion)
    for dev in row["deviations"]:
        for j in range(dev["token_start"] - p, dev["token_end"] - p):
            deviation[j] = True
    expected = [IGNORE] * len(ids)
    if ctx.mode == "soft":
        for i, tok in enumerate(completion):
            if ctx.loss == "naive" or not deviation[i]:
                expected[p + i] = tok
    else:
        for state, i in walk.last_from.items():
            if not deviation[i]:
                expected[p + state + 1] = completion[i]
    i = _first_diff(labels, expected)
    _expect(labels == expected, "labels", f"position {i}: expected {expected[i] if i < len(expected) else None}, found {labels[i] if i < len(labels) else None}")
