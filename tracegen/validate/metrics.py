"""What one decoded solution shows, judged step by step against the problem's gold solution.

A decode is read as the model wrote it. Each maximal run of `<UNDO>` is one *undo event*. A step
is *written* each time the model ends it (a newline token, or EOS for the final line), and also
when an undo event interrupts it mid-line while what it has of the line is already wrong: token
undo erases a mistake as soon as it is made (hard mode does so almost always), and a metric that
waited for the line end would never see those mistakes. A partial line is wrong when the
divergence verifier finds it wrong *and* it is not the start of a gold line: `12 + 3` may become
`12 + 34`, and `#### 4` may become `#### 40`, so undoing them is a false alarm, not a catch.
Every attempt at a step counts: a wrong line undone and written again right is two written steps.
Judgements use the divergence verifier (tracegen.verifiers.divergence): a line is wrong when it
has false arithmetic, uses a number nothing justifies, or computes a quantity off the gold chain;
a final `#### x` line is wrong when x is not the gold answer.

- A written step is *judged* when everything the model had left before it was right: it is then
  a step the model wrote on its own from a correct state, right or wrong. Steps written on top of
  an earlier mistake that was never undone are not judged (any value there is "wrong").
- *Spontaneous deviation rate*: wrong judged steps / judged steps (before any undo acts on them).
- *Undo recall*: wrong judged steps whose next token is `<UNDO>` / wrong judged steps.
- *Undo precision*: undo events at which what the model had left contains a wrong step (a
  partial last line judged as above) / all undo events ("undo when, and only when, the last step
  was wrong"; an undo that comes late, after more steps were built on the mistake, still counts
  as justified).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from tracegen.steps import FINAL_MARK
from tracegen.tokens import TraceTokenizer
from tracegen.trace import UndoUnit, apply
from tracegen.train.rewards import answer_matches
from tracegen.verifiers.divergence import first_wrong_step


@dataclass(frozen=True)
class GoldReference:
    """What judging a decoded solution needs: the prompt it answered, the gold solution and answer (a held-out
    row's columns; the build's problems are tracegen.problem.Problem)."""

    question: str
    gold_solution: str
    answer: str


@dataclass
class SolutionStats:
    """Counts for one decoded solution; they add up over solutions (see `add`)."""

    solutions: int = 0
    correct: int = 0  # final answer of the applied output equals the gold answer
    judged_steps: int = 0
    wrong_steps: int = 0
    wrong_steps_undone: int = 0  # wrong judged steps directly followed by <UNDO>
    undo_events: int = 0
    justified_undo_events: int = 0
    undos: int = 0  # <UNDO> tokens
    tokens: int = 0  # every emitted token, <UNDO>s and erased ones included
    undo_cap_endings: int = 0  # decodes ended by the decoder's undo cap (more <UNDO>s than it allows)

    def add(self, other: SolutionStats) -> SolutionStats:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def rates(self) -> dict[str, float]:
        """The per-solution and per-step rates of the acceptance list; NaN where the denominator is 0."""
        return {
            "accuracy": _ratio(self.correct, self.solutions),
            "spontaneous_deviation_rate": _ratio(self.wrong_steps, self.judged_steps),
            "undo_precision": _ratio(self.justified_undo_events, self.undo_events),
            "undo_recall": _ratio(self.wrong_steps_undone, self.wrong_steps),
            "undos_per_solution": _ratio(self.undos, self.solutions),
            "tokens_per_solution": _ratio(self.tokens, self.solutions),
            "undo_cap_rate": _ratio(self.undo_cap_endings, self.solutions),
        }


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else float("nan")


def lines_of(text: str) -> list[str]:
    """The steps of a (partial) solution; a newline at the end closes the last step, it opens no empty one."""
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def first_wrong_line(problem: GoldReference, lines: Sequence[str], *, last_is_partial: bool = False) -> int | None:
    """Index of the first wrong line: a wrong body step (divergence verifier), else a wrong `####` line; None if all
    are right.

    `last_is_partial`: the last line is unfinished; it is right while it starts a gold line.
    """
    lines = list(lines)
    wrong = _first_wrong_complete_line(problem, lines)
    if wrong is not None and wrong == len(lines) - 1 and last_is_partial and _starts_a_gold_line(problem, lines[-1]):
        return None
    return wrong


def _first_wrong_complete_line(problem: GoldReference, lines: list[str]) -> int | None:
    final = next((i for i, line in enumerate(lines) if line.startswith(FINAL_MARK)), len(lines))
    divergence = first_wrong_step(problem.question, problem.gold_solution, lines[:final])
    if divergence is not None:
        return divergence.step_index
    if final < len(lines) and answer_matches(lines[final], problem.answer) is not True:
        return final
    return None


def _starts_a_gold_line(problem: GoldReference, partial: str) -> bool:
    return any(line.startswith(partial) for line in lines_of(problem.gold_solution))


def solution_stats(
    trace: Sequence[int], problem: GoldReference, tok: TraceTokenizer, unit: UndoUnit, *, undo_capped: bool = False
) -> SolutionStats:
    """Judge one freely decoded trace (completion tokens as emitted, `<UNDO>` included); `undo_capped`: the undo cap
    ended it."""
    undo_id, eos_id = tok.undo_id, tok.eos_id
    delimiters = tok.delimiters if unit == "step" else frozenset()
    step_ends = tok.delimiters | ({eos_id} if eos_id is not None else set())
    stats = SolutionStats(
        solutions=1, undos=sum(1 for t in trace if t == undo_id), tokens=len(trace), undo_cap_endings=int(undo_capped)
    )

    def left(end: int) -> tuple[list[str], bool]:
        """The lines left after the first `end` tokens, and whether the last of them is unfinished."""
        ids = [t for t in apply(trace[:end], undo_id, unit, delimiters) if t != eos_id]
        text = tok.decode(ids)
        return lines_of(text), bool(text) and not text.endswith("\n") and not (end and trace[end - 1] == eos_id)

    def judge(end: int, lines: list[str], partial: bool) -> None:
        """A step written by the first `end` tokens (a partial one only counts when it is already wrong)."""
        wrong_at = first_wrong_line(problem, lines, last_is_partial=partial)
        if partial and wrong_at != len(lines) - 1:
            return  # a right partial line is no written step (its undo is a false alarm, see precision)
        if wrong_at is not None and wrong_at < len(lines) - 1:
            return  # written on top of an earlier mistake that is still there: not judged
        stats.judged_steps += 1
        if wrong_at is not None:
            stats.wrong_steps += 1
            stats.wrong_steps_undone += end < len(trace) and trace[end] == undo_id

    for i, token in enumerate(trace):
        if token == undo_id:
            if i == 0 or trace[i - 1] != undo_id:
                lines, partial = left(i)
                stats.undo_events += 1
                stats.justified_undo_events += first_wrong_line(problem, lines, last_is_partial=partial) is not None
                if lines and partial and trace[i - 1] not in step_ends:
                    judge(i, lines, partial=True)  # interrupted mid-line
        elif token in step_ends:
            lines, _ = left(i + 1)
            if lines:
                judge(i + 1, lines, partial=False)
    final_ids = [t for t in apply(trace, undo_id, unit, delimiters) if t != eos_id]
    stats.correct = int(answer_matches(tok.decode(final_ids), problem.answer) is True)
    return stats
