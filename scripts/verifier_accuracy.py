"""First-error accuracy of a verifier against the project's hand labels.

Samples of wrong solutions of data/gsm8k/example_model_solutions.jsonl, each labelled by reading
the question, the gold solution and the solution: the first line that states something false or
unjustified, and its kind (tracegen.verifiers.base.KINDS; the definition: docs/labelling-guide.md).

- tests/data/first_error_labels.jsonl: 80 solutions, 20 per model, drawn with `random.Random(3)`
  (`--draw` prints them again, in the labels' order, with numbered steps). The first 40 labels
  are the dev half, the last 40 the held-out half; both were looked at while tuning the rule
  verifier, the dev half first. Relabelled blind by a second person in issue 15's fourth round; the
  6 lines they disagreed on were decided by a third (tests/data/labellings/: both labellings).
- tests/data/first_error_labels_heldout.jsonl: 60 more, 15 per model, from problems the first
  sample does not have, drawn by scripts/draw_heldout_labels.py (`random.Random(15)`); labelled
  before any verifier output on them was seen and scored once at the end of the first round of
  work; since then part of the development set (140 labels with the first sample).
- tests/data/first_error_labels_heldout2.jsonl: 60 more, 15 per model, from problems neither
  earlier sample has (`random.Random(16)`); labelled before any verifier output on them was seen,
  never used for tuning, scored once at the end of the second round.
- tests/data/first_error_labels_heldout3.jsonl: 60 more, 15 per model, from problems none of the earlier samples
  has (`random.Random(17)`); labelled by two people independently, before any verifier output on them was seen
  (docs/labelling-guide.md), disagreements decided by a third; never used for tuning, scored once at the end of
  the fourth round.
- tests/data/first_error_labels_heldout4.jsonl: 60 more, 15 per model, from problems none of the earlier samples
  nor the audit of tests/data/labellings/audit_moved.jsonl has (`random.Random(18)`); labelled like the third,
  scored once at the end of the sixth round.
- tests/data/first_error_labels_heldout5.jsonl: 60 more, 15 per model, from problems none of the earlier samples
  nor the audit has (`random.Random(19)`); labelled like the third, scored once at the end of the seventh round.
- tests/data/first_error_labels_heldout6.jsonl: 60 more, 15 per model, from problems none of the earlier samples
  nor the audits have (`random.Random(20)`); labelled like the third, scored once after the rule on unused values
  (the seventh round's last change).
- tests/data/first_error_labels_heldout7.jsonl: 60 more, 15 per model, from problems none of the earlier samples
  nor the audits have (`random.Random(21)`); labelled like the third, scored once after the rule on values that
  land on the gold by chance.

Prints one line per disagreement (with --show) and, on its last line, a JSON object: per set (dev, held_out,
all: the first sample; new_held_out: the second; held_out2: the third; held_out3 to held_out7: the fourth to
eighth) the number of labels, exact-step accuracy, within-one-step accuracy, kind accuracy (same kind, any
step), per kind (exact, within one), and the always-step-0 baseline; also written to --out if given.

    .venv/bin/python scripts/verifier_accuracy.py [--show] [--out PATH] [--sets first,new,new2,...,new7]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracegen.verifiers.base import first_errors  # noqa: E402
from tracegen.verifiers.registry import get_verifier  # noqa: E402

LABELS = ROOT / "tests" / "data" / "first_error_labels.jsonl"
HELD_OUT_LABELS = ROOT / "tests" / "data" / "first_error_labels_heldout.jsonl"
HELD_OUT2_LABELS = ROOT / "tests" / "data" / "first_error_labels_heldout2.jsonl"
HELD_OUT3_LABELS = ROOT / "tests" / "data" / "first_error_labels_heldout3.jsonl"
HELD_OUT4_LABELS = ROOT / "tests" / "data" / "first_error_labels_heldout4.jsonl"
HELD_OUT5_LABELS = ROOT / "tests" / "data" / "first_error_labels_heldout5.jsonl"
HELD_OUT6_LABELS = ROOT / "tests" / "data" / "first_error_labels_heldout6.jsonl"
HELD_OUT7_LABELS = ROOT / "tests" / "data" / "first_error_labels_heldout7.jsonl"
SOLUTIONS = ROOT.parent / "shared" / "data" / "gsm8k" / "example_model_solutions.jsonl"
MODELS = ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification")
SEED, PER_MODEL, DEV = 3, 20, 40


def draw(rows: list[dict]) -> list[tuple[int, str]]:
    """(line, model) of the sample, in label order: per model 20 wrong solutions, 10 to each half, each half
    shuffled."""
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
    by_kind = defaultdict(lambda: [0, 0, 0])
    for label, p in zip(labels, predictions):
        counts = by_kind[label["kind"]]
        counts[0] += 1
        counts[1] += p.step_index == label["first_error_step"]
        counts[2] += abs(p.step_index - label["first_error_step"]) <= 1
    return {
        "labels": n,
        "exact": round(exact / n, 4),
        "within_one": round(near / n, 4),
        "kind": round(kind / n, 4),
        "by_kind": {
            k: {"labels": c, "exact": round(e / c, 4), "within_one": round(w / c, 4)}
            for k, (c, e, w) in sorted(by_kind.items())
        },
        "always_step0_exact": round(step0 / n, 4),
        "always_step0_within_one": round(step0_near / n, 4),
    }


def predict(verifier, rows: list[dict], labels: list[dict], name: str, show: bool) -> list:
    items = [
        (
            rows[label["line"]]["question"],
            rows[label["line"]]["ground_truth"],
            rows[label["line"]][label["model"]]["solution"],
        )
        for label in labels
    ]
    predictions = first_errors(verifier, items)
    for number, (label, found) in enumerate(zip(labels, predictions)):
        if found is None:
            raise SystemExit(f"{name} label {number}: line {label['line']} {label['model']} is a correct solution")
        if show and (found.step_index, found.kind) != (label["first_error_step"], label["kind"]):
            print(
                f"{name} #{number} labelled step {label['first_error_step']} {label['kind']}, got {found.step_index} "
                f"{found.kind}: {found.reason}"
            )
    return predictions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--held-out-labels", type=Path, default=HELD_OUT_LABELS)
    parser.add_argument("--held-out2-labels", type=Path, default=HELD_OUT2_LABELS)
    parser.add_argument("--held-out3-labels", type=Path, default=HELD_OUT3_LABELS)
    parser.add_argument("--held-out4-labels", type=Path, default=HELD_OUT4_LABELS)
    parser.add_argument("--held-out5-labels", type=Path, default=HELD_OUT5_LABELS)
    parser.add_argument("--held-out6-labels", type=Path, default=HELD_OUT6_LABELS)
    parser.add_argument("--held-out7-labels", type=Path, default=HELD_OUT7_LABELS)
    parser.add_argument(
        "--sets",
        default="first,new",
        help="comma-separated: first (the 80), new, new2, ..., new7 (the 60 of seeds 15 to 21)",
    )
    parser.add_argument("--solutions", type=Path, default=SOLUTIONS)
    parser.add_argument("--verifier", default="divergence")
    parser.add_argument("--show", action="store_true", help="print each disagreement")
    parser.add_argument(
        "--draw", action="store_true", help="print the first sample to label (with numbered steps) and exit"
    )
    parser.add_argument("--out", type=Path, help="also write the JSON result here")
    args = parser.parse_args()

    rows = [json.loads(line) for line in args.solutions.open(encoding="utf-8")]
    if args.draw:
        show_sample(rows)
        return
    verifier = get_verifier(args.verifier)
    result = {"verifier": args.verifier}
    sets = set(args.sets.split(","))
    if "first" in sets:
        labels = [json.loads(line) for line in args.labels.open(encoding="utf-8") if line.strip()]
        predictions = predict(verifier, rows, labels, "first", args.show)
        result |= {
            "dev": score(labels[:DEV], predictions[:DEV]),
            "held_out": score(labels[DEV:], predictions[DEV:]),
            "all": score(labels, predictions),
        }
    for name, key, path in (
        ("new", "new_held_out", args.held_out_labels),
        ("new2", "held_out2", args.held_out2_labels),
        ("new3", "held_out3", args.held_out3_labels),
        ("new4", "held_out4", args.held_out4_labels),
        ("new5", "held_out5", args.held_out5_labels),
        ("new6", "held_out6", args.held_out6_labels),
        ("new7", "held_out7", args.held_out7_labels),
    ):
        if name in sets:
            labels = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
            result[key] = score(labels, predict(verifier, rows, labels, name, args.show))
    line = json.dumps(result)
    if args.out:
        args.out.write_text(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
