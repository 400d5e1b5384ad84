"""One row's stack in hard mode, and the tokens its states may not emit again.

A hard-mode state *is* its surviving sequence, so states are identified exactly by the nodes of a
trie over the tokens pushed: a state revisited after an undo, or reached again by re-emitting the
same tokens after a step undo, is the same node. When `<UNDO>`s have popped the top token from the
same state `ban_after` times, that state may not emit it again (DESIGN.md section 4: otherwise
greedy decoding would loop). `ban_after=1` bans at the first undo, as the decoder first did: one
false `<UNDO>` of a correct token then forbids the correct token for good and starts a cascade of
wrong tokens and undos; 2 (the default, chosen by measurement, docs/design-notes.md) lets the
model take the token back once; 0 never bans (only the undo cap stops a loop). In step mode the
tokens popped below the top are collateral: the trace re-emits the correct start of a step, so
they stay allowed.

The decoder watches a row token by token only while it walks known ground (nodes that existed
before: they may carry bans or lead to nodes that do). A row that never undid, or that stepped
onto a new node, can only make new nodes until its next `<UNDO>`, so the decoder leaves it alone
and `catch_up` replays what it emitted meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence

from tracegen.trace import PROMPT_END, UndoUnit, replay

ROOT = 0
DEFAULT_BAN_AFTER = 2
"""The trie node of the prompt's end, the state before any completion token."""


class HardRowState:
    def __init__(
        self, *, undo_id: int, unit: UndoUnit, delimiters: frozenset[int], ban_after: int = DEFAULT_BAN_AFTER
    ):
        if ban_after < 0:
            raise ValueError(f"ban_after must be at least 0 (0 never bans), got {ban_after}")
        self.undo_id, self.unit, self.delimiters, self.ban_after = undo_id, unit, delimiters, ban_after
        self.trace: list[int] = []
        self.stack: list[int] = []  # trace indices on the stack, bottom first
        self.path: list[int] = [ROOT]  # path[d]: the node of the state with d completion tokens on the stack
        self.children: dict[tuple[int, int], int] = {}
        self.undone: dict[int, dict[int, int]] = {}  # node -> token -> times undone there
        self.bans: dict[int, set[int]] = {}

    @property
    def top(self) -> int:
        """The trace index of the stack top, or PROMPT_END."""
        return self.stack[-1] if self.stack else PROMPT_END

    def push(self, token: int) -> bool:
        """Push an emitted token; True if its state was known before (the row is still on known ground)."""
        self.trace.append(token)
        self.stack.append(len(self.trace) - 1)
        key = (self.path[-1], token)
        known = key in self.children
        self.path.append(self.children.setdefault(key, len(self.children) + 1))
        return known

    def catch_up(self, emitted: Sequence[int]) -> None:
        """Push what the row emitted while nobody watched (no `<UNDO>` among it)."""
        for token in emitted:
            self.push(token)

    def undo(self) -> list[int]:
        """Apply one `<UNDO>` (the stack machine of tracegen.trace); returns the popped trace indices."""
        self.trace.append(self.undo_id)
        # Pops only look at the top of the stack: run the machine over a window of it, widened until
        # the pops stop inside the window (or the window is the whole stack).
        window = 2
        while True:
            top_part = self.stack[-window:]
            kept = len(
                replay(
                    [self.trace[i] for i in top_part] + [self.undo_id], self.undo_id, self.unit, self.delimiters
                ).survivors
            )
            if kept or len(top_part) == len(self.stack):
                break
            window *= 2
        depth = len(self.stack) - len(top_part) + kept
        popped = self.stack[depth:]
        if popped:
            node, token = self.path[len(self.stack) - 1], self.trace[self.stack[-1]]
            counts = self.undone.setdefault(node, {})
            counts[token] = counts.get(token, 0) + 1
            if self.ban_after and counts[token] >= self.ban_after:
                self.bans.setdefault(node, set()).add(token)
        del self.stack[depth:]
        del self.path[depth + 1 :]
        return popped

    def banned(self) -> set[int]:
        """Tokens the current state has undone `ban_after` times."""
        return self.bans.get(self.path[-1], set())
