"""One row's stack in hard mode, and the tokens its states may not emit again.

A hard-mode state *is* its surviving sequence, so states are identified exactly by the nodes of a
trie over the tokens pushed: a state revisited after an undo, or reached again by re-emitting the
same tokens after a step undo, is the same node. When an `<UNDO>` pops the top token, the state
that emitted it may never emit it again (DESIGN.md section 4: otherwise greedy decoding would
loop). In step mode the tokens popped below the top are collateral: the trace re-emits the
correct start of a step, so they stay allowed.

The decoder watches a row token by token only while it walks known ground (nodes that existed
before: they may carry bans or lead to nodes that do). A row that never undid, or that stepped
onto a new node, can only make new nodes until its next `<UNDO>`, so the decoder leaves it alone
and `catch_up` replays what it emitted meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence

from tracegen.trace import PROMPT_END, UndoUnit, replay

ROOT = 0
"""The trie node of the prompt's end, the state before any completion token."""


class HardRowState:
    def __init__(self, *, undo_id: int, unit: UndoUnit, delimiters: frozenset[int]):
        self.undo_id, self.unit, self.delimiters = undo_id, unit, delimiters
        self.trace: list[int] = []
        self.stack: list[int] = []  # trace indices on the stack, bottom first
        self.path: list[int] = [ROOT]  # path[d]: the node of the state with d completion tokens on the stack
        self.children: dict[tuple[int, int], int] = {}
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
            kept = len(replay([self.trace[i] for i in top_part] + [self.undo_id], self.undo_id, self.unit, self.delimiters).survivors)
            if kept or len(top_part) == len(self.stack):
                break
            window *= 2
        depth = len(self.stack) - len(top_part) + kept
        popped = self.stack[depth:]
        if popped:
            self.bans.setdefault(self.path[len(self.stack) - 1], set()).add(self.trace[self.stack[-1]])
        del self.stack[depth:]
        del self.path[depth + 1 :]
        return popped

    def banned(self) -> set[int]:
        """Tokens the current state already undid."""
        return self.bans.get(self.path[-1], set())
