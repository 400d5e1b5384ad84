"""One row's stack in hard mode, and the tokens its states may not emit again.

A row that never emitted `<UNDO>` needs no bookkeeping: its stack is everything it emitted. From
its first `<UNDO>` on, the decoder keeps this on the host. A hard-mode state *is* its surviving
sequence, so states are identified exactly by the nodes of a trie over the tokens pushed: a state
revisited after an undo, or reached again by re-emitting the same tokens after a step undo, is
the same node. When an `<UNDO>` pops the top token, the state that emitted it may never emit it
again (DESIGN.md section 4: otherwise greedy decoding would loop). In step mode the tokens popped
below the top are collateral: the trace re-emits the correct start of a step, so they stay allowed.
"""

from __future__ import annotations

from collections.abc import Sequence

from tracegen.trace import PROMPT_END, UndoUnit, replay

ROOT = 0
"""The trie node of the prompt's end, the state before any completion token."""


class HardRowState:
    def __init__(self, emitted: Sequence[int], *, undo_id: int, unit: UndoUnit, delimiters: frozenset[int]):
        """`emitted`: the row's trace so far, which has no `<UNDO>` yet."""
        self.undo_id, self.unit, self.delimiters = undo_id, unit, delimiters
        self.trace: list[int] = []
        self.stack: list[int] = []  # trace indices on the stack, bottom first
        self.path: list[int] = [ROOT]  # path[d]: the node of the state with d completion tokens on the stack
        self.children: dict[tuple[int, int], int] = {}
        self.bans: dict[int, set[int]] = {}
        for token in emitted:
            self.push(token)

    @property
    def top(self) -> int:
        """The trace index of the stack top, or PROMPT_END."""
        return self.stack[-1] if self.stack else PROMPT_END

    def push(self, token: int) -> None:
        self.trace.append(token)
        self.stack.append(len(self.trace) - 1)
        key = (self.path[-1], token)
        self.path.append(self.children.setdefault(key, len(self.children) + 1))

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
