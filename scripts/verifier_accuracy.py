"""First-error accuracy of a verifier against the hand-labelled sample (tests/data/first_error_labels.jsonl).

The sample: 80 wrong solutions of data/gsm8k/example_model_solutions.jsonl, 20 per model, drawn
with `random.Random(3)` (`--draw` prints them again, in the labels' order, with numbered steps).
Each was labelled by reading the question, the gold solution and the solution: the first line
that states something false or unjustified, and its kind (tracegen.verifiers.KINDS). The first
40 labels are the dev half (looked at while tuning), the last 40 the held-out half.

Prints one line per disagreement (with --show) and, on its last line, a JSON object: per half
(dev, held_out, all) the number of labels, exact-step accuracy, within-one-step accuracy, kind
accuracy (same kind, any step) and the always-step-0 baseline; also written to --out if given.

    .venv/bin/python scripts/verifier_accuracy.py [--show] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracegen.verifiers import get_verifier  # noqa: E402

LABELS = ROOT / "tests" / "data" / "first_error_labels.jsonl"
SOLUTIONS = ROOT.parent / "shared" / "data" / "gsm8k" / "example_model_solutions.jsonl"
MODELS = ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification")
SEED, PER_MODEL, DEV = 3, 20, 40


def draw(rows: list[dict]) -> list[tuple[int, str]]:
    """(line, model) of the sample, in label order: per model 20 wrong solutions, 10 to each half, each half shuffled."""
    rng = random.Random(SEED)
    dev, held_out = [], []
    for model in MODELS:
        wrong = [line for line, row in enumerate(rows) if not row[model]["is_correct"]]
        picked = rng.sample(wrong, PER_MODEL)
        dev += [(line, model) for line in picked[: PER_MODEL // 2]]
        held_out += [(line, model) for line in picked[PER_MODEL // 2 :]]
    rng.shuffle(dev)
    rng.shuffle(held_out)
    return dev + held_out


def show_sample(rows: list[dict]) -> None:
    for number, (line, model) in enumerate(draw(rows)):
        row = rows[line]
        print(f"=== #{number} line={line} model={model}\nQ: {row['question']}\nGOLD:")
        print("\n".join(f"    {step}" for step in row["ground_truth"].split("\n")))
        print("SOLUTION:")
        print("\n".join(f"  [{i}] {step}" for i, step in enumerate(row[model]["solution"].split("\n"))))


def score(labels: list[dict], predictions: list) -> dict:
    n = len(labels)
    exact = sum(p.step_index == label["first_error_step"] for label, p in zip(labels, predictions))
    near = sum(abs(p.step_index - label["first_error_step"]) <= 1 for label, p in zip(labels, predictions))
    kind = sum(p.kind == label["kind"] for label, p in zip(labels, predictions))
    step0 = sum(label["first_error_step"] == 0 for label in labels)
    step0_near = sum(label["first_error_step"] <= 1 for label in labels)
    return {
        "labels": n,
        "exact": round(exact / n, 4),
        "within_one": round(near / n, 4),
        "kind": round(kind / n, 4),
        "always_step0_exact": round(step0 / n, 4),
        "always_step0_within_one": round(step0_near / n, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--solutions", type=Path, default=SOLUTIONS)
    parser.add_argument("--verifier", default="divergence")
    parser.add_argument("--show", action="store_true", help="print each disagreement")
    parser.add_argument("--draw", action="store_true", help="print the sample to label (with numbered steps) and exit")
    parser.add_argument("--out", type=Path, help="also write the JSON result here")
    args = parser.parse_args()

    rows = [json.loads(line) for line in args.solutions.open(encoding="utf-8")]
    if args.draw:
        show_sample(rows)
        return
    labels = [json.loads(line) for line in args.labels.open(encoding="utf-8") if line.strip()]
    verifier = get_verifier(args.verifier)
    predictions = []
    for number, label in enumerate(labels):
        row = rows[label["line"]]
        found = verifier.first_error(row["question"], row["ground_truth"], row[label["model"]]["solution"])
        if found is None:
            raise SystemExit(f"label {number}: line {label['line']} {label['model']} is a correct solution")
        predictions.append(found)
        if args.show and (found.step_index, found.kind) != (label["first_error_step"], label["kind"]):
            half = "dev" if number < DEV else "held-out"
            print(f"#{number} ({half}) labelled step {label['first_error_step']} {label['kind']}, got {found.step_index} {found.kind}: {found.reason}")
    result = {
        "verifier": args.verifier,
        "dev": score(labels[:DEV], predictions[:DEV]),
        "held_out": score(labels[DEV:], predictions[DEV:]),
        "all": score(labels, predictions),
    }
    line = json.dumps(result)
    if args.out:
        args.out.write_text(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
