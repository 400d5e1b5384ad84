"""`tracegen diverge`: label the first error of every wrong solution of a replay file.

Reads the gold problems (GSM8K JSONL: `question`, `answer`) and a solutions file in the replay
format (tracegen.llm.replay), matches each record to its problem by question text (whitespace
aside), and writes one JSON row per wrong solution (final answer not the gold one):
`{"line", "model", "first_error_step", "kind", "reason"}`, in file order. `line` is the 0-based
line of the solutions file, `first_error_step` a 0-based index into `solution.split("\\n")`.
Records whose question is not in the gold file are counted, never silently dropped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tracegen.atomic import write_jsonl_atomically
from tracegen.llm.replay import read_replay
from tracegen.problem import Problem
from tracegen.sources.gsm8k import read_gsm8k_jsonl
from tracegen.verifiers import get_verifier


@dataclass
class DivergeReport:
    out: Path
    solutions: int = 0
    wrong: int = 0
    kinds: Counter = field(default_factory=Counter)
    unmatched: list[int] = field(default_factory=list)  # 0-based lines of records whose question is not in the gold file

    def summary(self) -> str:
        kinds = ", ".join(f"{kind} {count:,}" for kind, count in sorted(self.kinds.items()))
        unmatched = f"{len(self.unmatched):,} records with no gold problem"
        if self.unmatched:
            shown = ", ".join(str(line) for line in self.unmatched[:5])
            unmatched += f" (lines {shown}{', ...' if len(self.unmatched) > 5 else ''})"
        return f"{self.solutions:,} solutions, {self.wrong:,} wrong ({kinds or 'none'}), {unmatched} -> {self.out}"


def _key(question: str) -> str:
    return " ".join(question.split())


def diverge(source: str | Path, replay: str | Path, out: str | Path, verifier: str = "divergence") -> DivergeReport:
    """Label every wrong solution of `replay` against the gold problems of `source`; write `out` atomically."""
    problems: dict[str, Problem] = {}
    for problem in read_gsm8k_jsonl(str(source), Path(source).stem):
        problems.setdefault(_key(problem.question), problem)
    judge = get_verifier(verifier)
    report = DivergeReport(out=Path(out))
    rows = []
    for record in read_replay(replay):
        problem = problems.get(_key(record.question))
        if problem is None:
            report.unmatched.append(record.line)
            continue
        for model, solution in record.solutions.items():
            report.solutions += 1
            found = judge.first_error(problem.question, problem.solution, solution)
            if found is None:
                continue
            report.wrong += 1
            report.kinds[found.kind] += 1
            rows.append({"line": record.line, "model": model, "first_error_step": found.step_index, "kind": found.kind, "reason": found.reason})
    write_jsonl_atomically(report.out, rows)
    return report
