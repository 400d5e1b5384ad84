"""Agreement between two people's first-error labels of the same sample (docs/labelling-guide.md).

Both files are label files of the project's format (one JSON object per line with `line`, `model`,
`first_error_step`, `kind`), labelled independently. Prints each disagreement on the line (with both notes, for
the person who decides it) and, on its last line, a JSON object: the items, the share with the same line (exact),
within one line, the same kind, and Cohen's kappa on the line (agreement beyond what two labellers with these
line frequencies would reach by chance). Exact agreement is the ceiling a verifier can be measured to.

    python scripts/label_agreement.py FIRST.jsonl SECOND.jsonl [--quiet]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path


def read_labels(path: Path) -> list[dict]:
    labels = []
    for number, text in enumerate(path.open(encoding="utf-8"), start=1):
        if not text.strip():
            continue
        try:
            label = json.loads(text)
        except json.JSONDecodeError as error:
            sys.exit(f"{path.name}:{number}: not JSON ({error.msg})")
        missing = [key for key in ("line", "model", "first_error_step", "kind") if key not in label]
        if missing:
            sys.exit(f"{path.name}:{number}: field '{missing[0]}' is missing")
        labels.append(label)
    return labels


def agreement(first: list[dict], second: list[dict]) -> dict:
    """Exact, within-one and kind agreement and Cohen's kappa of two labellings of the same items."""
    n = len(first)
    steps = [(a["first_error_step"], b["first_error_step"]) for a, b in zip(first, second)]
    observed = sum(a == b for a, b in steps) / n
    left, right = Counter(a for a, _ in steps), Counter(b for _, b in steps)
    chance = sum(left[step] * right[step] for step in left) / (n * n)
    return {
        "items": n,
        "exact": round(observed, 4),
        "within_one": round(sum(abs(a - b) <= 1 for a, b in steps) / n, 4),
        "kind": round(sum(a["kind"] == b["kind"] for a, b in zip(first, second)) / n, 4),
        "kappa": round((observed - chance) / (1 - chance), 4) if chance < 1 else 1.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--quiet", action="store_true", help="print only the JSON summary")
    args = parser.parse_args()
    first, second = read_labels(args.first), read_labels(args.second)
    items = [(a["line"], a["model"]) for a in first]
    if items != [(b["line"], b["model"]) for b in second]:
        sys.exit(f"{args.first.name} and {args.second.name} do not label the same items in the same order")
    for number, (a, b) in enumerate(zip(first, second)):
        if a["first_error_step"] != b["first_error_step"] and not args.quiet:
            print(f"#{number} line={a['line']} model={a['model']}")
            print(f"  {args.first.name}: step {a['first_error_step']} {a['kind']}: {a.get('note', '')}")
            print(f"  {args.second.name}: step {b['first_error_step']} {b['kind']}: {b.get('note', '')}")
    print(json.dumps(agreement(first, second)))


if __name__ == "__main__":
    main()
