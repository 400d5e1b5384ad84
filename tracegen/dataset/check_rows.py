"""The rules `tracegen check` holds every row to, one row at a time (tracegen.dataset.check walks the folder).

Written independently of the exporter: their own stack walks, prefix decodes and span arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracegen import UNDO_TOKEN
from tracegen.answer_format import GSM8K, answer_matches
from tracegen.columns import IGNORE
from tracegen.tokens import TraceTokenizer
from tracegen.trace import ends_step


class RowError(Exception):
    def __init__(self, rule: str, detail: str):
        super().__init__(f"{rule}: {detail}")
        self.rule, self.detail = rule, detail


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
        cls,
        tok: TraceTokenizer,
        unit: str,
        mode: str,
        loss: str,
        chat: bool,
        label_before_deviation: bool = False,
        answer_format: str = GSM8K,
    ) -> RowContext:
        delimiters = tok.delimiters if unit == "step" else frozenset()
        return cls(
            tok,
            unit,
            mode,
            loss,
            chat,
            tuple(tok.completion_suffix()),
            delimiters,
            label_before_deviation,
            answer_format,
        )

    @classmethod
    def for_export(cls, tok: TraceTokenizer, export, answer_format: str) -> RowContext:
        """The context of rows made with `export`: a recipe's ExportConfig, or the ExportRecord of a manifest."""
        return cls.of(
            tok,
            export.undo_unit,
            export.context_mode,
            export.loss,
            export.chat_template,
            label_before_deviation=export.label_before_deviation,
            answer_format=answer_format,
        )


def check_row(row: dict, ctx: RowContext) -> None:
    ids, labels, positions = row["input_ids"], row["labels"], row["position_ids"]
    undo = ctx.tok.undo_id
    expect(
        row["undo_unit"] == ctx.unit and row["context_mode"] == ctx.mode,
        "modes",
        f"row says {row['undo_unit']}/{row['context_mode']}, manifest {ctx.unit}/{ctx.mode}",
    )
    expect(
        len(ids) == len(labels) == len(positions),
        "lengths",
        f"input_ids {len(ids)}, labels {len(labels)}, position_ids {len(positions)}",
    )
    expect(
        answer_matches(row["clean_completion"], row["answer"], ctx.answer_format),
        "answer",
        f"answer {row['answer']!r} is not the clean completion's final answer",
    )

    prompt_ids = ctx.tok.prompt_ids(row["prompt"], ctx.chat)
    p = len(prompt_ids)
    expect(ids[:p] == prompt_ids, "prompt", "input_ids do not start with the tokenized prompt")
    completion = ids[p:]
    expect(undo not in prompt_ids, "prompt", "<UNDO> inside the prompt")

    clean = ctx.tok.encode(row["clean_completion"]) + list(ctx.suffix)
    walk = _walk(completion, undo, ctx)
    applied = [completion[i] for i in walk.survivors]
    if applied != clean:  # the detail only when failing: finding the first difference costs as much as the check
        raise RowError(
            "applied_trace",
            f"applying the trace gives {len(applied)} tokens that differ from the {len(clean)} clean ids at index "
            f"{_first_diff(applied, clean)}",
        )
    body = completion[: len(completion) - len(ctx.suffix)]
    expect(
        tuple(completion[len(body) :]) == ctx.suffix and ctx.tok.decode(body) == row["trace"],
        "trace_text",
        "decoding the trace tokens does not give the trace column",
    )
    if ctx.loss == "clean":
        expect(
            not row["deviations"] and undo not in completion, "clean_loss", "loss 'clean' rows must have no deviations"
        )

    _check_deviations(row, body, p, undo, ctx)
    _check_deviation_starts(row, completion, clean, p, walk)
    group_ends = _check_prune_spans(row["prune_spans"], ids, p, undo, walk)
    _check_positions(positions, ids, p, undo, group_ends, ctx.mode)
    states = seen_contexts(ids, positions, row["prune_spans"], undo) if ctx.mode == "hard" else []
    if ctx.mode == "hard":
        check_one_label_per_state(labels, states, p)
    _check_labels(row, p, walk, states, clean, ctx)


def expect(ok: bool, rule: str, detail: str) -> None:
    """A rule holds, or the row fails it with `detail`."""
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
    pushed_from = 0  # the tokens from here to the next <UNDO> are pushed one on another, so handled as one run
    for i in [*(i for i, tok in enumerate(completion) if tok == undo), len(completion)]:
        if i > pushed_from:
            top.append(stack[-1] if stack else -1)
            top += range(pushed_from, i - 1)
            depth += range(len(stack), len(stack) + i - pushed_from)
            stack += range(pushed_from, i)
        pushed_from = i + 1
        if i == len(completion):
            break
        top.append(stack[-1] if stack else -1)
        depth.append(len(stack))
        group = group if i > 0 and completion[i - 1] == undo else i
        erased.setdefault(group, [])
        if stack:
            erased[group].append(stack.pop())
            while (
                ctx.unit == "step"
                and stack
                and not ends_step(
                    ctx.delimiters, completion[stack[-1]], completion[stack[-2]] if len(stack) > 1 else None
                )
            ):
                erased[group].append(stack.pop())
    return _Walk(stack, erased, top, depth)


def _check_deviations(row: dict, body: list[int], p: int, undo: int, ctx: RowContext) -> None:
    trace = row["trace"]
    for k, dev in enumerate(row["deviations"]):
        start, end, n = dev["token_start"] - p, dev["token_end"] - p, dev["undo_count"]
        expect(
            0 <= start < end <= len(body) and n >= 1,
            "deviations",
            f"deviation {k}: token span [{start + p}, {end + p}) out of bounds",
        )
        expect(undo not in body[start:end], "deviations", f"deviation {k} contains <UNDO>")
        expect(
            body[end : end + n] == [undo] * n and (end + n == len(body) or body[end + n] != undo),
            "deviations",
            f"deviation {k} is not followed by exactly {n} <UNDO>",
        )
        expect(
            len(ctx.tok.decode(body[:start])) == dev["char_start"]
            and len(ctx.tok.decode(body[:end])) == dev["char_end"],
            "deviations",
            f"deviation {k}: char span [{dev['char_start']}, {dev['char_end']}) does not match its tokens",
        )
        expect(
            trace[dev["char_end"] : dev["char_end"] + len(UNDO_TOKEN) * n] == UNDO_TOKEN * n,
            "deviations",
            f"deviation {k}: trace text lacks its <UNDO>s",
        )


def _check_prune_spans(
    spans: list[list[int]], ids: list[int], p: int, undo: int, walk: _Walk
) -> list[tuple[int, int]]:
    """Spans are sorted, disjoint, in bounds, and erase exactly what their <UNDO> group pops. Returns (start,
    group_end) pairs."""
    ranges, previous_end = [], p
    for k, span in enumerate(spans):
        expect(len(span) == 3, "prune_spans", f"span {k} is not [start, end, undo_at]")
        start, end, undo_at = span
        expect(
            previous_end <= start < end <= undo_at < len(ids),
            "prune_spans",
            f"span {k} {span} out of order or out of bounds",
        )
        expect(undo_at - p in walk.erased_by_group, "prune_spans", f"span {k}: no <UNDO> group starts at {undo_at}")
        erased = sorted(j + p for j in walk.erased_by_group[undo_at - p])
        expect(
            erased == list(range(start, end)),
            "prune_spans",
            f"span {k} {span}: its <UNDO> group erases {len(erased)} tokens from {erased[:1]}",
        )
        group_end = undo_at
        while group_end < len(ids) and ids[group_end] == undo:
            group_end += 1
        ranges.append((start, group_end))
        previous_end = group_end
    expect(
        len(spans) == len(walk.erased_by_group),
        "prune_spans",
        f"{len(walk.erased_by_group)} <UNDO> groups but {len(spans)} spans",
    )
    return ranges


def _check_positions(
    positions: list[int], ids: list[int], p: int, undo: int, group_ends: list[tuple[int, int]], mode: str
) -> None:
    if mode == "soft":
        expect(positions == list(range(len(ids))), "position_ids", "soft mode needs 0..n-1")
        return
    for i, pos in enumerate(positions):
        if i > 0 and ids[i] == undo and i >= p:
            expected = positions[i - 1] + 1
        else:
            expected = i - sum(end - start for start, end in group_ends if end <= i)
        expect(pos == expected, "position_ids", f"position {i}: expected {expected}, found {pos}")


def _check_deviation_starts(row: dict, completion: list[int], clean: list[int], p: int, walk: _Walk) -> None:
    """A deviation's first token is never the token the clean path emits from the same state (DESIGN.md section 3)."""
    for k, dev in enumerate(row["deviations"]):
        start = dev["token_start"] - p
        depth = walk.depth[start]
        expect(
            depth >= len(clean) or completion[start] != clean[depth],
            "deviation_start",
            f"deviation {k} starts at position {start + p} with token {completion[start]}, the token the clean path "
            "emits from the same state "
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
        expect(
            seen == label,
            "one_label_per_state",
            f"positions {where} and {q} see the same tokens at the same position ids but are labelled {seen} and "
            f"{label} "
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
        expected[p:] = [tok if ctx.loss == "naive" or not off else IGNORE for tok, off in zip(completion, deviation)]
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
        raise RowError(
            "labels",
            f"position {i}: expected {expected[i] if i < len(expected) else None}, found "
            f"{labels[i] if i < len(labels) else None}",
        )
