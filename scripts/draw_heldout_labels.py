"""Draw a held-out first-error sample and print it to label.

60 wrong solutions of data/gsm8k/example_model_solutions.jsonl, 15 per model, drawn with
`random.Random(seed)` from the problems that have no solution in the excluded label files: no
question is in two sets, so nothing learnt from one problem's labels carries over. Each was
labelled by reading the question, the gold solution and the numbered solution, before any verifier
output on it was seen, and never used for tuning: the first line that states something false or
unjustified, and its kind (tracegen.verifiers.base.KINDS).

- tests/data/first_error_labels_heldout.jsonl: seed 15, excluding tests/data/first_error_labels.jsonl
  (the defaults).
- tests/data/first_error_labels_heldout2.jsonl: seed 16, excluding both files above
  (`--seed 16 --exclude tests/data/first_error_labels.jsonl --exclude tests/data/first_error_labels_heldout.jsonl`).
- tests/data/first_error_labels_heldout3.jsonl: seed 17, excluding the three files above; labelled by two people
  independently by docs/labelling-guide.md, their disagreements decided by a third.
- tests/data/first_error_labels_heldout4.jsonl: seed 18, excluding the four files above and
  tests/data/labellings/audit_moved.jsonl; labelled the same way.
- tests/data/first_error_labels_heldout5.jsonl: seed 19, excluding the five files above and the audit; labelled
  the same way (the two labellings agreed on every line).
- tests/data/first_error_labels_heldout6.jsonl: seed 20, excluding the six files above and the audits
  (tests/data/labellings/audit_moved.jsonl; tests/data/labellings/audit_asides.jsonl was drawn after it).
- tests/data/first_error_labels_heldout7.jsonl: seed 21, excluding the seven files above and the audits
  audit_moved.jsonl and audit_asides.jsonl (audit_landings.jsonl was drawn after it).

    .venv/bin/python scripts/draw_heldout_labels.py [--solutions PATH] [--seed N] [--exclude LABELS ...]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRST_SAMPLE = ROOT / "tests" / "data" / "first_error_labels.jsonl"
SOLUTIONS = ROOT.parent / "shared" / "data" / "gsm8k" / "example_model_solutions.jsonl"
MODELS = ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification")
SEED, PER_MODEL = 15, 15


def draw(rows: list[dict], excluded: list[dict], seed: int = SEED) -> list[tuple[int, str]]:
    """(line, model) of the held-out sample, in label order: per model 15 wrong solutions of problems no excluded label
    names, then shuffled."""
    taken = {label["line"] for label in excluded}
    rng = random.Random(seed)
    picked = []
    for model in MODELS:
        wrong = [line for line, row in enumerate(rows) if line not in taken and not row[model]["is_correct"]]
        picked += [(line, model) for line in rng.sample(wrong, PER_MODEL)]
    rng.shuffle(picked)
    return picked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solutions", type=Path, default=SOLUTIONS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--exclude", type=Path, action="append", help="a label file whose problems are left out (repeatable)"
    )
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.solutions.open(encoding="utf-8")]
    excluded = [
        json.loads(line)
        for path in args.exclude or [FIRST_SAMPLE]
        for line in path.open(encoding="utf-8")
        if line.strip()
    ]
    for number, (line, model) in enumerate(draw(rows, excluded, args.seed)):
        row = rows[line]
        print(f"=== #{number} line={line} model={model}\nQ: {row['question']}\nGOLD:")
        print("\n".join(f"    {step}" for step in row["ground_truth"].split("\n")))
        print("SOLUTION:")
        print("\n".join(f"  [{i}] {step}" for i, step in enumerate(row[model]["solution"].split("\n"))))


if __name__ == "__main__":
    main()
