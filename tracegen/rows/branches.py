"""The `branches` layout: each hard-mode row unrolled into rows that plain causal attention trains exactly.

A hard row packs several sequences into one: after an undo group, the erased tokens and their
`<UNDO>`s are hidden from later tokens and positions continue from the surviving prefix
(DESIGN.md section 4). A state is what the model sees there, its visible tokens and their
position ids, which is a plain causal sequence. So the row's trained pairs (state -> label) can
be written as ordinary rows: the clean path, plus one row per undo group holding the surviving
prefix, the deviation and the `<UNDO>` inputs it needs. Any causal trainer trains those rows with
`input_ids` and `labels` alone (TRL's default collator, packing included), and a model's summed
loss over them equals its summed loss over the packed row with the hard mask.

The unrolling is derived from the packed row's token columns alone (input_ids, labels,
position_ids, prune_spans), whatever labels they carry: every (visible context -> label) pair of
the packed row appears exactly once over its branch rows. The contexts form a tree (a trie of
(token, position) steps); a row is a path from the root, ending with one extra input, the label of
its last state, so that the label has a slot. Each label sits on a row whose next input is that
label where there is one, so the clean path reads as the clean sequence.

`BranchVerifier` proves a written branch dataset with an independent derivation of the packed
row's contexts (the `<UNDO>` stack machine instead of the prune spans).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import polars as pl
import pyarrow as pa

from tracegen.columns import IGNORE
from tracegen.dataset.schema import SCHEMA
from tracegen.trace import replay

LAYOUTS = ("packed", "branches")
PACKED_TOKEN_COLUMNS = ("input_ids", "labels", "position_ids")
"""Token columns of the packed row, kept in a branch row as `packed_<name>` (with `prune_spans`) so `check` can prove
it."""

_TEXT = [
    field for field in SCHEMA if field.name not in (*PACKED_TOKEN_COLUMNS, "prune_spans", "undo_unit", "context_mode")
]
BRANCH_SCHEMA = pa.schema(
    [
        *_TEXT,
        SCHEMA.field("input_ids"),
        SCHEMA.field("labels"),
        ("branch", pa.int32()),
        *(SCHEMA.field(name).with_name(f"packed_{name}") for name in PACKED_TOKEN_COLUMNS),
        SCHEMA.field("prune_spans"),
        SCHEMA.field("undo_unit"),
        SCHEMA.field("context_mode"),
    ]
)


def layout_schema(layout: str) -> pa.Schema:
    return BRANCH_SCHEMA if layout == "branches" else SCHEMA


class _Trie:
    """Contexts as nodes: node 0 is the empty context; a child adds one (token, position) step."""

    def __init__(self) -> None:
        self.parent, self.token, self.depth = [-1], [-1], [-1]
        self.kids: list[dict[tuple[int, int], int]] = [{}]

    def child(self, node: int, token: int, position: int) -> int:
        step = (token, position)
        found = self.kids[node].get(step)
        if found is None:
            found = len(self.parent)
            self.kids[node][step] = found
            self.parent.append(node)
            self.token.append(token)
            self.depth.append(self.depth[node] + 1)
            self.kids.append({})
        return found


def _states(
    trie: _Trie,
    input_ids: Sequence[int],
    position_ids: Sequence[int],
    prune_spans: Sequence[Sequence[int]],
    undo_id: int,
) -> list[int]:
    """The node of each position's visible context (tokens and positions), from the prune spans.

    A span [start, end, undo_at] hides [start, end) and the run of `<UNDO>` from undo_at from every
    token after that run. The visible keys are kept as a stack with the node of each prefix, so a
    position's context is one trie step from the top.
    """
    n = len(input_ids)
    hides: dict[int, list[tuple[int, int]]] = {}
    for span in prune_spans:
        start, end, undo_at = (int(v) for v in span)
        if not (0 <= start <= end <= undo_at < n and input_ids[undo_at] == undo_id):
            raise ValueError(
                f"prune span {list(span)} does not fit a row of {n} tokens with <UNDO> at its third index"
            )
        group_end = undo_at
        while group_end < n and input_ids[group_end] == undo_id:
            group_end += 1
        hides.setdefault(group_end, []).extend([(start, end), (undo_at, group_end)])
    keys: list[int] = []  # visible positions, ascending
    nodes: list[int] = []  # nodes[k]: the context of keys[: k + 1]
    states = []
    for i in range(n):
        if i in hides:
            kept = [k for k in keys if not any(lo <= k < hi for lo, hi in hides[i])]
            first_change = next((j for j, (a, b) in enumerate(zip(keys, kept)) if a != b), len(kept))
            keys, nodes = kept, nodes[:first_change]
            for k in keys[first_change:]:
                nodes.append(trie.child(nodes[-1] if nodes else 0, input_ids[k], position_ids[k]))
        node = trie.child(nodes[-1] if nodes else 0, input_ids[i], position_ids[i])
        keys.append(i)
        nodes.append(node)
        states.append(node)
    return states


def unroll(
    input_ids: Sequence[int],
    labels: Sequence[int],
    position_ids: Sequence[int],
    prune_spans: Sequence[Sequence[int]],
    *,
    undo_id: int,
) -> list[dict[str, list[int]]]:
    """A packed hard row -> its branch rows ({input_ids, labels}), the clean path first."""
    n = len(input_ids)
    if not n == len(labels) == len(position_ids):
        raise ValueError(f"input_ids {n}, labels {len(labels)}, position_ids {len(position_ids)}: lengths differ")
    trie = _Trie()
    states = _states(trie, input_ids, position_ids, prune_spans, undo_id)
    for i, node in enumerate(states):
        if position_ids[i] != trie.depth[node]:
            raise ValueError(
                f"position {i}: position id {position_ids[i]} is not the {trie.depth[node]} tokens it sees before "
                "it; plain causal rows cannot hold it"
            )
    wanted: list[list[int]] = [[] for _ in trie.parent]  # labels of each state, in row order
    for i in range(n - 1):
        if labels[i + 1] != IGNORE:
            wanted[states[i]].append(labels[i + 1])

    # The applied trace (the path to the last position) is a row of its own, the first: it ends at
    # the state before the last position, whose label is usually the clean EOS.
    final_path = set()
    node = states[-1] if states else 0
    while node > 0:
        final_path.add(node)
        node = trie.parent[node]
    final_end = trie.parent[states[-1]] if n > 1 and wanted[trie.parent[states[-1]]] else -1
    # rows through each node: enough for its own labels and for every row its children need
    need = [0] * len(trie.parent)
    for node in range(len(trie.parent) - 1, -1, -1):  # a child is always made after its parent
        need[node] = max(len(wanted[node]), sum(need[kid] for kid in trie.kids[node].values()) + (node == final_end))

    rows: list[list[int]] = [[] for _ in range(need[0])]  # tokens of each row
    row_labels: list[list[int]] = [[] for _ in range(need[0])]  # row_labels[r][d]: the label of its state at depth d
    todo = [(0, list(range(need[0])))]
    while todo:
        node, slots = todo.pop()
        if node:
            for r in slots:
                rows[r].append(trie.token[node])
                row_labels[r].append(IGNORE)
        kids = sorted(
            (kid for kid in trie.kids[node].values() if need[kid]), key=lambda kid: (kid not in final_path, kid)
        )
        ends = len(slots) - sum(need[kid] for kid in kids)
        ending = (
            slots[:ends] if node == final_end else slots[len(slots) - ends :]
        )  # the applied trace keeps the first slot
        going, offset = {}, ends if node == final_end else 0
        for kid in kids:
            share = slots[offset : offset + need[kid]]
            going.update(dict.fromkeys(share, kid))
            todo.append((kid, share))
            offset += need[kid]
        free = dict.fromkeys(slots)
        labels_here = wanted[node]
        if (
            node == final_end and trie.token[states[-1]] in labels_here
        ):  # the applied trace ends with its own last token
            labels_here = sorted(labels_here, key=lambda label: label != trie.token[states[-1]])
        for label in labels_here:
            r = next((r for r in free if r in going and trie.token[going[r]] == label), None)
            r = (
                r if r is not None else next((r for r in ending if r in free), None)
            )  # the applied trace's own end first
            r = r if r is not None else next(iter(free))
            del free[r]
            row_labels[r][-1] = label
    branches = []
    for tokens, labels_of_row in zip(rows, row_labels):
        # a row ends at its last labelled state, plus one more input, the label, so that it has its slot
        # (only the applied trace's own row can end unlabelled: when its last state's labels went to other rows)
        last = max((d for d, label in enumerate(labels_of_row) if label != IGNORE), default=None)
        if last is not None:
            branches.append(
                {
                    "input_ids": [*tokens[: last + 1], labels_of_row[last]],
                    "labels": [IGNORE, *labels_of_row[: last + 1]],
                }
            )
    return branches


def branch_rows(row: Mapping, *, undo_id: int) -> list[dict]:
    """The branch rows of one exported hard row: its text columns, one branch's tokens, and the packed row for
    `check`."""
    text = {field.name: row[field.name] for field in _TEXT}
    packed = {f"packed_{name}": row[name] for name in PACKED_TOKEN_COLUMNS}
    rest = {name: row[name] for name in ("prune_spans", "undo_unit", "context_mode")}
    branches = unroll(row["input_ids"], row["labels"], row["position_ids"], row["prune_spans"], undo_id=undo_id)
    return [{**text, **branch, "branch": k, **packed, **rest} for k, branch in enumerate(branches)]


def branch_table(table: pa.Table, *, undo_id: int) -> pa.Table:
    """Packed rows (tracegen's SCHEMA) -> their branch rows (BRANCH_SCHEMA), trace by trace in the same order."""
    return pa.Table.from_pylist(
        [branch for row in table.to_pylist() for branch in branch_rows(row, undo_id=undo_id)], schema=BRANCH_SCHEMA
    )


def packed_row(row: Mapping) -> dict:
    """The packed hard row a branch row was unrolled from, with the columns of tracegen's SCHEMA."""
    packed = {field.name: row[field.name] for field in _TEXT}
    packed.update({name: row[f"packed_{name}"] for name in PACKED_TOKEN_COLUMNS})
    packed.update({name: row[name] for name in ("prune_spans", "undo_unit", "context_mode")})
    return packed


class BranchError(Exception):
    def __init__(self, rule: str, detail: str):
        super().__init__(f"{rule}: {detail}")
        self.rule, self.detail = rule, detail


class BranchVerifier:
    """Proves branch rows, one trace (consecutive rows with one id) at a time.

    Each trace's packed row is proven by `check_packed` (tracegen.dataset.check_rows.check_row); then the
    contexts of its positions are derived again from the `<UNDO>` stack machine (not from the prune
    spans, which the unrolling used) and its (context -> label) pairs must be the pairs of the
    trace's branch rows, each exactly once. `ctx` is the checker's RowContext.
    """

    def __init__(self, ctx, check_packed: Callable[[dict], None]):
        self.ctx, self.check_packed = ctx, check_packed
        self.first: dict | None = None
        self.branches: list[Mapping] = []

    def add(self, row: Mapping) -> None:
        if self.first is not None and row["id"] == self.first["id"]:
            _fail(
                row["branch"] == len(self.branches),
                f"branch {row['branch']} follows branch {len(self.branches) - 1} of its trace",
            )
            same = all(
                row[field.name] == self.first[field.name]
                for field in BRANCH_SCHEMA
                if field.name not in ("input_ids", "labels", "branch")
            )
            _fail(same, "its text and packed columns differ from its trace's first branch row")
            self.branches.append(row)
            return
        self.finish()
        _fail(row["branch"] == 0, f"a trace starts at branch {row['branch']}, not 0")
        self.check_packed(packed_row(row))
        self.first, self.branches = dict(row), [row]

    def finish(self) -> None:
        """Prove the trace read so far (call once more after the last row)."""
        if self.first is None:
            return
        trie = _Trie()
        expected = self._packed_pairs(trie, self.first)
        found: Counter = Counter()
        for branch in self.branches:
            ids, labels = branch["input_ids"], branch["labels"]
            _fail(
                len(ids) == len(labels) and ids,
                f"branch {branch['branch']}: input_ids {len(ids)}, labels {len(labels)}",
            )
            node = 0
            for j, token in enumerate(ids[:-1]):
                node = trie.child(node, token, j)
                if labels[j + 1] != IGNORE:
                    found[node, labels[j + 1]] += 1
        if found != expected:
            node, label = next(iter((expected - found) or (found - expected)))
            _fail(
                False,
                f"trace {self.first['id']}: a state at position {trie.depth[node]} labelled {label} is labelled "
                f"{found[node, label]} times over the branch rows, {expected[node, label]} in the packed row",
            )
        self.first, self.branches = None, []

    def _packed_pairs(self, trie: _Trie, row: Mapping) -> Counter:
        ids, labels, positions = row["packed_input_ids"], row["packed_labels"], row["packed_position_ids"]
        undo = self.ctx.tok.undo_id
        p = len(self.ctx.tok.prompt_ids(row["prompt"], self.ctx.chat))
        parent_of = replay(ids[p:], undo, self.ctx.unit, self.ctx.delimiters).parent
        nodes: list[int] = []
        for i, token in enumerate(ids):
            if i < p or token == undo:
                seen_by = i - 1  # a prompt token or an <UNDO> input sees what the token before it saw
            else:
                seen_by = p + parent_of[i - p]  # a pushed token sees the prompt and the stack it lands on
            nodes.append(trie.child(nodes[seen_by] if seen_by >= 0 else 0, token, positions[i]))
        return Counter((nodes[i], labels[i + 1]) for i in range(len(ids) - 1) if labels[i + 1] != IGNORE)


def _fail(ok: bool, detail: str) -> None:
    if not ok:
        raise BranchError("branches", detail)


def layout_summary(layout: str, files: list[Path]) -> str:
    """The card's words for the layout; for branches, how many rows and tokens the unrolling of `files` costs."""
    if layout != "branches":
        return "packed: one row per trace (hard rows need the mask built from `prune_spans`)"
    first = pl.col("branch") == 0
    totals = (
        pl.scan_parquet(files)
        .select(
            rows=pl.len(),
            traces=first.sum(),
            branch_tokens=pl.col("input_ids").list.len().sum(),
            packed_tokens=pl.col("packed_input_ids").list.len().filter(first).sum(),
        )
        .collect()
        .row(0, named=True)
    )
    overhead = totals["branch_tokens"] / totals["packed_tokens"] if totals["packed_tokens"] else float("nan")
    return (
        f"branches: {totals['rows']:,} plain causal rows from {totals['traces']:,} traces; "
        f"token overhead (branch tokens / packed tokens) {overhead:.2f} ({totals['branch_tokens']:,} / "
        f"{totals['packed_tokens']:,})"
    )
