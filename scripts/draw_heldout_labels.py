"""Draw the held-out first-error sample (tests/data/first_error_labels_heldout.jsonl) and print it to label.

60 wrong solutions of data/gsm8k/example_model_solutions.jsonl, 15 per model, drawn with
`random.Random(15)` from the problems that have no solution in the first sample
(tests/data/first_error_labels.jsonl, drawn by scripts/verifier_accuracy.py): no question is in
both sets, so nothing learnt from one problem's labels carries over. Each was labelled by
reading the question, the gold solution and the numbered solution, before any verifier output on
it was seen, and never used for tuning: the first line that states something false or
unjustified, and its kind (tracegen.verifiers.base.KINDS).

    .venv/bin/python scripts/draw_heldout_labels.py [--solutions PATH]   # prints the sample, in label order
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


def draw(rows: list[dict], first_sample: list[dict]) -> list[tuple[int, str]]:
    """(line, model) of the held-out sample, in label order: per model 15 wrong solutions of unlabelled problems, then
    shuffled."""
    taken = {label["line"] for label in first_sample}
    rng = random.Random(SEED)
    picked = []
    for model in MODELS:
        wrong = [line for line, row in enumerate(rows) if line not in taken and not row[model]["is_correct"]]
        picked += [(line, model) for line in rng.sample(wrong, PER_MODEL)]
    rng.shuffle(picked)
    return picked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solutions", type=Path, default=SOLUTIONS)
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.solutions.open(encoding="utf-8")]
    first = [json.loads(line) for line in FIRST_SAMPLE.open(encoding="utf-8") if line.strip()]
    for number, (line, model) in enumerate(draw(rows, first)):
        row = rows[line]
        print(f"=== #{number} line={line} model={model}\nQ: {row['question']}\nGOLD:")
        print("\n".join(f"    {step}" for step in row["ground_truth"].split("\n")))
        print("SOLUTION:")
        print("\n".join(f"  [{i}] {step}" for i, step in enumerate(row[model]["solution"].split("\n"))))


if __name__ == "__main__":
    main()
