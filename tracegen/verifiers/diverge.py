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

import yaml
from pydantic import ValidationError

from tracegen.atomic import write_jsonl_atomically
from tracegen.errors import InputError
from tracegen.llm.config import BackendConfig
from tracegen.llm.factory import make_backend
from tracegen.llm.replay import read_replay
from tracegen.problem import Problem
from tracegen.sources.gsm8k import read_gsm8k_jsonl
from tracegen.stages import VERIFIERS
from tracegen.verifiers.base import Verifier, first_errors
from tracegen.verifiers.registry import get_verifier


@dataclass
class DivergeReport:
    out: Path
    solutions: int = 0
    wrong: int = 0
    kinds: Counter = field(default_factory=Counter)
    unmatched: list[int] = field(
        default_factory=list
    )  # 0-based lines of records whose question is not in the gold file

    def summary(self) -> str:
        kinds = ", ".join(f"{kind} {count:,}" for kind, count in sorted(self.kinds.items()))
        unmatched = f"{len(self.unmatched):,} records with no gold problem"
        if self.unmatched:
            shown = ", ".join(str(line) for line in self.unmatched[:5])
            unmatched += f" (lines {shown}{', ...' if len(self.unmatched) > 5 else ''})"
        return f"{self.solutions:,} solutions, {self.wrong:,} wrong ({kinds or 'none'}), {unmatched} -> {self.out}"


def _key(question: str) -> str:
    return " ".join(question.split())


def load_verifier(name: str = "divergence", critic: str | Path | None = None) -> Verifier:
    """The verifier `name`; critic and ensemble judge with the backend described by the YAML file `critic`
    (a recipe's `backend:` section: kind, model, base_url, temperature, ...)."""
    if name not in VERIFIERS:
        raise InputError(VERIFIERS.unknown(name), field="verifier")
    if name not in ("critic", "ensemble"):
        if critic is not None:
            raise InputError(f"is for the critic and ensemble verifiers, not {name!r}", field="critic")
        if name == "rollout":
            raise InputError(
                "the rollout verifier samples continuations from a model: use it in a recipe (weak.verifier)",
                field="verifier",
            )
        return get_verifier(name)
    if critic is None:
        raise InputError(
            f"the {name} verifier needs a YAML file with the backend of its judge (kind, model, base_url, ...)",
            field="critic",
        )
    try:
        loaded = yaml.safe_load(Path(critic).read_text(encoding="utf-8"))
        config = BackendConfig.model_validate(loaded)
    except OSError as e:
        raise InputError(e.strerror or "cannot read", file=str(critic)) from None
    except yaml.YAMLError as e:
        raise InputError(
            f"not valid YAML ({getattr(e, 'problem', None) or type(e).__name__})", file=str(critic)
        ) from None
    except ValidationError as e:
        first = e.errors()[0]
        raise InputError(
            first["msg"], file=str(critic), field=".".join(str(part) for part in first["loc"]) or None
        ) from None
    return get_verifier(name, backend=make_backend(config))


def diverge(
    source: str | Path, replay: str | Path, out: str | Path, verifier: str | Verifier = "divergence"
) -> DivergeReport:
    """Label every wrong solution of `replay` against the gold problems of `source`; write `out` atomically."""
    problems: dict[str, Problem] = {}
    for problem in read_gsm8k_jsonl(str(source), Path(source).stem):
        problems.setdefault(_key(problem.question), problem)
    judge = get_verifier(verifier) if isinstance(verifier, str) else verifier
    report = DivergeReport(out=Path(out))
    items, where = [], []
    for record in read_replay(replay):
        problem = problems.get(_key(record.question))
        if problem is None:
            report.unmatched.append(record.line)
            continue
        for model, solution in record.solutions.items():
            items.append((problem.question, problem.solution, solution))
            where.append((record.line, model))
    report.solutions = len(items)
    rows = []
    for (line, model), found in zip(where, first_errors(judge, items)):
        if found is None:
            continue
        report.wrong += 1
        report.kinds[found.kind] += 1
        rows.append(
            {
                "line": line,
                "model": model,
                "first_error_step": found.step_index,
                "kind": found.kind,
                "reason": found.reason,
            }
        )
    write_jsonl_atomically(report.out, rows)
    return report
