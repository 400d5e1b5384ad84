"""`tracegen check OUT`: re-derive every invariant of every row from first principles.

The rules are written independently of the exporter (their own stack walks, prefix decodes and
span arithmetic), so a bug in the exporter shows up as a named rule failing on a named row
rather than being reproduced by the same code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tracegen import UNDO_TOKEN
from tracegen.errors import InputError
from tracegen.export.branches import BranchError, BranchVerifier, layout_schema
from tracegen.export.columns import IGNORE
from tracegen.dataset.load import DatasetError, load_dataset_tokenizer, read_dataset_manifest
from tracegen.export.tokenizer import TraceTokenizer
from tracegen.export.writer import DATA_DIR, JSONL_DIR, MANIFEST, SCHEMA
from tracegen.answer_format import GSM8K, answer_matches
from tracegen.stepsplit import recipe_answer_format
from tracegen.trace import ends_step



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
    label_before_deviation: bool = False
    answer_format: str = GSM8K

    @classmethod
    def of(
        cls, tok: TraceTokenizer, unit: str, mode: str, loss: str, chat: bool, label_before_deviation: bool = False, answer_format: str = GSM8K
    ) -> RowContext:
        delimiters = tok.delimiters if unit == "step" else frozenset()
        return cls(tok, unit, mode, loss, chat, tuple(tok.completion_suffix()), delimiters, label_before_deviation, answer_format)


def check_dataset(out: Path, on_progress: Callable[[int], None] = lambda n: None) -> CheckReport:
    out = Path(out)
    if not (out / MANIFEST).is_file():
        raise InputError(f"not a tracegen dataset folder (no {MANIFEST})", file=str(out))
    checked = 0
    try:
        manifest = read_dataset_manifest(out)
        export = manifest["recipe"]["export"]
        tok = load_dataset_tokenizer(out, manifest)
        ctx = RowContext.of(
            tok,
            export["undo_unit"],
            export["context_mode"],
            export["loss"],
            export["chat_template"],
            label_before_deviation=export.get("label_before_deviation", False),
            answer_format=recipe_answer_format(manifest["recipe"]),
        )
        _expect_files(out, manifest)
        branches = BranchVerifier(ctx, lambda packed: check_row(packed, ctx)) if export.get("layout") == "branches" else None
        ids: set[str] = set()
        for split, info in manifest["splits"].items():
            split_rows = 0
            for rel in info["files"]:
                for row in _rows(out, rel, jsonl=export["format"] == "jsonl", schema=layout_schema(export.get("layout", "packed"))):
                    try:
                        if branches:
                            branches.add(row)
                        else:
                            check_row(row, ctx)
                        _expect(_id_matches(row, manifest["recipe"]["name"]), "id", f"id {row['id']!r} is not recipe:source_id[:variant]")
                        _expect(row["id"] not in ids or row.get("branch"), "id", f"id {row['id']!r} appears twice")
                    except (RowError, BranchError) as e:
                        return CheckReport(checked, f"{rel} row {split_rows} (id {row.get('id')}): rule '{e.rule}': {e.detail}")
                    except (KeyError, TypeError, ValueError, IndexError) as e:  # a null, a wrong type, a missing key
                        return CheckReport(checked, f"{rel} row {split_rows}: malformed row ({type(e).__name__}: {e})")
                    ids.add(row["id"])
                    split_rows += 1
                    checked += 1
                    if checked % 512 == 0:
                        on_progress(512)
            try:
                if branches:
                    branches.finish()  # the split's last trace
            except (RowError, BranchError) as e:
                return CheckReport(checked, f"split {split}, its last trace: rule '{e.rule}': {e.detail}")
            if split_rows != info["rows"]:
                return CheckReport(checked, f"split {split}: {split_rows} rows on disk, {MANIFEST} says {info['rows']}")
    except DatasetError as e:
        return CheckReport(checked, str(e))
    on_progress(checked % 512)
    return CheckReport(checked)


def _id_matches(row: dict, recipe_name: str) -> bool:
    """`recipe:source_id`, or `recipe:source_id:model:k` for rows made one per weak solution."""
    base = f"{recipe_name}:{row['source_id']}"
    return row["id"] == base or (row["id"].startswith(base + ":") and len(row["id"]) > len(base) + 1)


def _expect_files(out: Path, manifest: dict) -> None:
    """The data folders hold exactly the files the manifest lists (a stray shard would be loaded too), and the card exists."""
    listed = {rel for info in manifest["splits"].values() for rel in info["files"]}
    if manifest["recipe"]["export"]["format"] == "jsonl":
        listed |= {_jsonl_twin(rel) for rel in listed}
    present = {str(p.relative_to(out)) for folder in (DATA_DIR, JSONL_DIR) if (out / folder).is_dir() for p in (out / folder).iterdir()}
    if missing := sorted(listed - present):
        raise DatasetError(f"{missing[0]}: listed in {MANIFEST} but missing")
    if extra := sorted(present - listed):
        raise DatasetError(f"{extra[0]}: not listed in {MANIFEST} (it would be loaded as data)")
    if not (out / "README.md").is_file():
        raise DatasetError("README.md (the dataset card) is missing")


def _jsonl_twin(rel: str) -> str:
    return f"{JSONL_DIR}/{Path(rel).stem}.jsonl"


def _rows(out: Path, rel: str, *, jsonl: bool, schema: pa.Schema = SCHEMA) -> Iterator[dict]:
    """Rows of one parquet shard, checked against the schema and, when written, against its JSONL twin."""
    try:
        shard = pq.ParquetFile(out / rel)
        if not shard.schema_arrow.equals(schema):
            raise DatasetError(f"{rel}: schema differs from tracegen's ({_schema_difference(shard.schema_arrow, schema)})")
        twin = (out / _jsonl_twin(rel)).open(encoding="utf-8") if jsonl else None
        for batch in shard.iter_batches(batch_size=512):
            for row in batch.to_pylist():
                if twin is not None and json.loads(twin.readline() or "null") != row:
                    raise DatasetError(f"{_jsonl_twin(rel)}: differs from {rel} at a row with id {row.get('id')}")
                yield row
        if twin is not None and twin.readline():
            raise DatasetError(f"{_jsonl_twin(rel)}: has more rows than {rel}")
    except (OSError, pa.ArrowException, ValueError) as e:
        raise DatasetError(f"{rel}: unreadable ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None


def _schema_difference(schema: pa.Schema, expected: pa.Schema) -> str:
    for field in expected:
        if field.name not in schema.names:
            return f"no column {field.name!r}"
        if not schema.field(field.name).type.equals(field.type):
            return f"column {field.name!r} is {schema.field(field.name).type}, expected {field.type}"
    return f"extra columns {sorted(set(schema.names) - set(expected.names))}"


def check_row(row: dict, ctx: RowContext) -> None:
    ids, labels, positions = row["input_ids"], row["labels"], row["position_ids"]
    undo = ctx.tok.undo_id
    _expect(row["undo_unit"] == ctx.unit and row["context_mode"] == ctx.mode, "modes", f"row says {row['undo_unit']}/{row['context_mode']}, manifest {ctx.unit}/{ctx.mode}")
    _expect(len(ids) == len(labels) == len(positions), "lengths", f"input_ids {len(ids)}, labels {len(labels)}, position_ids {len(positions)}")
    _expect(answer_matches(row["clean_completion"], row["answer"], ctx.answer_format), "answer", f"answer {row['answer']!r} is not the clean completion's final answer")

    prompt_ids = ctx.tok.prompt_ids(row["prompt"], ctx.chat)
    p = len(prompt_ids)
    _expect(ids[:p] == prompt_ids, "prompt", "input_ids do not start with the tokenized prompt")
    completion = ids[p:]
    _expect(undo not in prompt_ids, "prompt", "<UNDO> inside the prompt")

    clean = ctx.tok.encode(row["clean_completion"]) + list(ctx.suffix)
    walk = _walk(completion, undo, ctx)
    applied = [completion[i] for i in walk.survivors]
    if applied != clean:  # the detail only when failing: finding the first difference costs as much as the check
        raise RowError("applied_trace", f"applying the trace gives {len(applied)} tokens that differ from the {len(clean)} clean ids at index {_first_diff(applied, clean)}")
    body = completion[: len(completion) - len(ctx.suffix)]
    _expect(tuple(completion[len(body) :]) == ctx.suffix and ctx.tok.decode(body) == row["trace"], "trace_text", "decoding the trace tokens does not give the trace column")
    if ctx.loss == "clean":
        _expect(not row["deviations"] and undo not in completion, "clean_loss", "loss 'clean' rows must have no deviations")

    _check_deviations(row, body, p, undo, ctx)
    _check_deviation_starts(row, completion, clean, p, walk)
    group_ends = _check_prune_spans(row["prune_spans"], ids, p, undo, walk)
    _check_positions(positions, ids, p, undo, group_ends, ctx.mode)
    states = seen_contexts(ids, positions, row["prune_spans"], undo) if ctx.mode == "hard" else []
    if ctx.mode == "hard":
        check_one_label_per_state(labels, states, p)
    _check_labels(row, p, walk, states, clean, ctx)


def _expect(ok: bool, rule: str, detail: str) -> None:
    if not ok:
        raise RowError(rule, detail)


def _first_diff(a: list[int], b: list[int]) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


@dataclass
class _Walk:
    survivors: list[int]
    erased_by_group: dict[int, list[int]]  # first <UNDO> of a group -> positions it erased
    top: list[int]  # top[i]: the stack top (-1 = prompt end) when token i was emitted
    depth: list[int]  # depth[i]: completion tokens on the stack when token i was emitted


def _walk(completion: list[int], undo: int, ctx: RowContext) -> _Walk:
    """The UNDO stack machine, written out again independently of tracegen.trace."""
    stack: list[int] = []
    erased: dict[int, list[int]] = {}
    top, depth = [], []
    group = -1
    for i, tok in enumerate(completion):
        top.append(stack[-1] if stack else -1)
        depth.append(len(stack))
        if tok != undo:
            stack.append(i)
            continue
        group = group if i > 0 and completion[i - 1] == undo else i
        erased.setdefault(group, [])
        if stack:
            erased[group].append(stack.pop())
            while ctx.unit == "step" and stack and not ends_step(ctx.delimiters, completion[stack[-1]], completion[stack[-2]] if len(stack) > 1 else None):
                erased[group].append(stack.pop())
    return _Walk(stack, erased, top, depth)


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


def _check_deviation_starts(row: dict, completion: list[int], clean: list[int], p: int, walk: _Walk) -> None:
    """A deviation's first token is never the token the clean path emits from the same state (DESIGN.md section 3)."""
    for k, dev in enumerate(row["deviations"]):
        start = dev["token_start"] - p
        depth = walk.depth[start]
        _expect(
            depth >= len(clean) or completion[start] != clean[depth],
            "deviation_start",
            f"deviation {k} starts at position {start + p} with token {completion[start]}, the token the clean path emits from the same state "
            "(a deviation starts where it differs)",
        )


def seen_contexts(ids: list[int], positions: list[int], spans: list[list[int]], undo: int) -> list[int]:
    """An id per position of a hard-mode row: equal ids <=> the same visible (token, position id) sequence.

    Derived from the columns a trainer builds its mask from (prune spans and position ids, as in
    tracegen.train.masks), not from the exporter's stack: this is what the model sees.
    """
    hidden_at: dict[int, set[int]] = {}  # query position -> keys it is the first not to see
    for start, end, undo_at in spans:
        group_end = undo_at
        while group_end < len(ids) and ids[group_end] == undo:
            group_end += 1
        hidden_at.setdefault(group_end, set()).update(range(start, end), range(undo_at, group_end))
    interned: dict[tuple[int, int, int], int] = {}
    visible: list[int] = []  # key positions seen by the current query, in order
    chain: list[int] = []  # chain[j]: the id of visible[: j + 1]
    contexts = []
    for q in range(len(ids)):
        if hidden := hidden_at.get(q):
            cut = next((j for j, k in enumerate(visible) if k in hidden), len(visible))
            kept = [k for k in visible[cut:] if k not in hidden]
            del visible[cut:], chain[cut:]
            for k in kept:
                _see(k, ids, positions, interned, visible, chain)
        _see(q, ids, positions, interned, visible, chain)
        contexts.append(chain[-1])
    return contexts


def _see(k: int, ids: list[int], positions: list[int], interned: dict, visible: list[int], chain: list[int]) -> None:
    visible.append(k)
    chain.append(interned.setdefault((chain[-1] if chain else 0, ids[k], positions[k]), len(interned) + 1))


def check_one_label_per_state(labels: list[int], contexts: list[int], p: int) -> None:
    """Positions that see the same context are the same model state: their labels agree (DESIGN.md section 4)."""
    first: dict[int, tuple[int, int]] = {}  # context -> (position, label)
    for q in range(max(p - 1, 0), len(labels) - 1):
        label = labels[q + 1]
        if label == IGNORE:
            continue
        where, seen = first.setdefault(contexts[q], (q, label))
        _expect(
            seen == label,
            "one_label_per_state",
            f"positions {where} and {q} see the same tokens at the same position ids but are labelled {seen} and {label} "
            f"(labels[{where + 1}] and labels[{q + 1}])",
        )


def _check_labels(row: dict, p: int, walk: _Walk, contexts: list[int], clean: list[int], ctx: RowContext) -> None:
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
        if ctx.label_before_deviation:
            for dev in row["deviations"]:
                if (depth := walk.depth[dev["token_start"] - p]) < len(clean):
                    expected[dev["token_start"]] = clean[depth]
    else:  # each seen context labelled once, with its last emission, where it emits that from
        last_from = {contexts[p + top]: i for i, top in enumerate(walk.top)}
        for i in last_from.values():
            if not deviation[i]:
                expected[p + walk.top[i] + 1] = completion[i]
    if labels != expected:
        i = _first_diff(labels, expected)
        raise RowError("labels", f"position {i}: expected {expected[i] if i < len(expected) else None}, found {labels[i] if i < len(labels) else None}")
