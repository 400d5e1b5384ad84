"""`tracegen diverge --labels FILE`: how well a verifier finds first errors, against hand labels.

Two label formats, told apart line by line:

- the project's (tests/data/first_error_labels*.jsonl): `{"line", "model", "first_error_step",
  "kind", "note"}`, naming a solution of the replay file (`line`: 0-based line of the file,
  `model`: its key) and the index of its first wrong line in `solution.split("\\n")`; the correct
  solutions of the replay file are the correct set;
- ProcessBench's (Zheng et al., 2024): `{"problem", "steps": [...], "label"}`, `label` the index
  of the earliest wrong step or -1 for a solution without one (the correct set). Step k is line k
  of the solution the verifier reads (a step's own line breaks become spaces).

The gold solution of each problem comes from `--source`, matched by question text (whitespace
aside); ProcessBench's GSM8K subset is GSM8K's test split. Scores: on the wrong solutions,
exact first-error step, within one step, and both per labelled kind; on the correct ones, false
alarms (a step flagged, judging the steps alone whatever the answer); and ProcessBench's F1, the
harmonic mean of the exact accuracy on wrong solutions and the accuracy on correct ones.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tracegen.atomic import write_jsonl_atomically
from tracegen.errors import InputError
from tracegen.llm.replay import read_replay
from tracegen.sources.gsm8k import read_gsm8k_jsonl
from tracegen.sources.jsonl import read_jsonl_objects, require_str
from tracegen.verifiers.answers import WrongSolution
from tracegen.verifiers.base import Verifier, first_errors


@dataclass(frozen=True)
class Labelled:
    question: str
    gold: str
    solution: str
    step: int | None  # the labelled first wrong line; None: no wrong step (the correct set)
    kind: str = "all"


@dataclass
class Score:
    wrong: int = 0
    exact: int = 0
    within_one: int = 0
    by_kind: dict[str, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0])
    )  # kind -> [n, exact, within one]
    correct: int = 0
    false_alarms: int | None = 0  # None: the verifier cannot judge a correct solution's steps (rollout)

    def rate(self, count: int, total: int) -> float | None:
        return round(count / total, 4) if total else None

    def as_dict(self) -> dict:
        exact = self.rate(self.exact, self.wrong)
        on_correct = None if self.false_alarms is None or not self.correct else 1 - self.false_alarms / self.correct
        f1 = (
            round(2 * exact * on_correct / (exact + on_correct), 4)
            if exact is not None and on_correct is not None and exact + on_correct
            else None
        )
        return {
            "wrong": self.wrong,
            "exact": exact,
            "within_one": self.rate(self.within_one, self.wrong),
            "by_kind": {
                kind: {"labels": n, "exact": self.rate(e, n), "within_one": self.rate(w, n)}
                for kind, (n, e, w) in sorted(self.by_kind.items())
            },
            "correct": self.correct,
            "false_alarms": self.false_alarms,
            "false_alarm_rate": None if self.false_alarms is None else self.rate(self.false_alarms, self.correct),
            "processbench_f1": f1,
        }

    def lines(self) -> list[tuple[str, str]]:
        """The score as (name, value) rows of a table, for people."""
        d = self.as_dict()

        def share(rate: float | None, count: int, total: int) -> str:
            return "-" if rate is None else f"{rate:.1%}  ({count:,} of {total:,})"

        rows = [
            ("wrong solutions labelled", f"{self.wrong:,}"),
            ("exact first-error step", share(d["exact"], self.exact, self.wrong)),
            ("within one step", share(d["within_one"], self.within_one, self.wrong)),
        ]
        for kind, (n, exact, near) in sorted(self.by_kind.items()):
            rows.append((f"  {kind} ({n:,})", f"{exact / n:.1%} exact, {near / n:.1%} within one"))
        alarms = (
            "not measured (the verifier cannot judge a correct solution's steps)"
            if self.false_alarms is None
            else share(d["false_alarm_rate"], self.false_alarms, self.correct)
        )
        rows.append(("false alarms on correct solutions", alarms if self.correct else "- (no correct solutions)"))
        rows.append(("ProcessBench F1", "-" if d["processbench_f1"] is None else f"{d['processbench_f1'] * 100:.1f}"))
        return rows


def write_score(path: str | Path, result: Score) -> None:
    """The score as one JSON object, written atomically."""
    write_jsonl_atomically(Path(path), [result.as_dict()])


def _key(question: str) -> str:
    return " ".join(question.split())


def read_labelled(labels: str | Path, source: str | Path, replay: str | Path | None) -> list[Labelled]:
    """The labelled solutions of `labels` (either format) and, with a replay file, its correct solutions."""
    gold = {}
    for problem in read_gsm8k_jsonl(str(source), Path(source).stem):
        gold.setdefault(_key(problem.question), problem.solution)
    records = {record.line: record for record in read_replay(replay)} if replay is not None else {}
    name = str(labels)
    found, named = [], set()
    for number, obj in read_jsonl_objects(labels):
        if "first_error_step" in obj:
            line, model = obj.get("line"), obj.get("model")
            if not records:
                raise InputError(
                    "a label in the project's format needs --replay, the file of the solutions it names",
                    file=name,
                    line=number,
                )
            record = records.get(line)
            if record is None or model not in record.solutions:
                raise InputError(
                    f"no solution by {model!r} on line {line} of the replay file",
                    file=name,
                    line=number,
                    field="line/model",
                )
            question, solution, step, kind = (
                record.question,
                record.solutions[model],
                obj["first_error_step"],
                obj.get("kind") or "all",
            )
            named.add((line, model))
        elif "label" in obj and "steps" in obj:
            question = require_str(obj, "problem", file=name, line=number)
            steps = obj["steps"]
            if not isinstance(steps, list) or not steps or not all(isinstance(s, str) for s in steps):
                raise InputError("expected a non-empty array of strings", file=name, line=number, field="steps")
            solution, step, kind = "\n".join(" ".join(s.split("\n")) for s in steps), obj["label"], "all"
            step = None if step == -1 else step
        else:
            raise InputError(
                "not a label: expected 'first_error_step' (the project's format) or 'label' and 'steps' "
                "(ProcessBench's)",
                file=name,
                line=number,
            )
        if step is not None and (
            not isinstance(step, int) or isinstance(step, bool) or not 0 <= step < len(solution.split("\n"))
        ):
            raise InputError(
                f"expected a step index of the solution (0..{len(solution.split(chr(10))) - 1}) or -1, got {step!r}",
                file=name,
                line=number,
                field="first_error_step" if "first_error_step" in obj else "label",
            )
        if _key(question) not in gold:
            raise InputError("its question is not in the --source file", file=name, line=number)
        found.append(Labelled(question, gold[_key(question)], solution, step, kind))
    for line, record in sorted(records.items()):  # the replay file's correct solutions: the false-alarm set
        problem_gold = gold.get(_key(record.question))
        for model, solution in record.solutions.items():
            if (
                problem_gold is not None
                and (line, model) not in named
                and WrongSolution.of(problem_gold, solution) is None
            ):
                found.append(Labelled(record.question, problem_gold, solution, None))
    return found


def score(verifier: Verifier, labelled: list[Labelled]) -> Score:
    """Score `verifier` on the labelled wrong solutions and the correct ones."""
    result = Score()
    wrong = [item for item in labelled if item.step is not None]
    correct = [item for item in labelled if item.step is None]
    for item, found in zip(wrong, first_errors(verifier, [(i.question, i.gold, i.solution) for i in wrong])):
        step = None if found is None else found.step_index
        hit, near = step == item.step, step is not None and abs(step - item.step) <= 1
        result.wrong, result.exact, result.within_one = result.wrong + 1, result.exact + hit, result.within_one + near
        counts = result.by_kind[item.kind]
        counts[0], counts[1], counts[2] = counts[0] + 1, counts[1] + hit, counts[2] + near
    result.correct = len(correct)
    flag = getattr(verifier, "flag_steps", None)
    if flag is None:
        result.false_alarms = None
    elif correct:
        result.false_alarms = sum(
            step is not None for step in flag([(i.question, i.gold, i.solution) for i in correct])
        )
    return result
