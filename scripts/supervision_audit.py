"""Audit a built dataset's supervision the way a model sees it (issue 11's before/after numbers).

Counts deviations whose first token is the clean token at their state (a shared prefix with the
clean path) and, in hard mode, labelled positions whose visible context also carries another
label. Works on datasets written by any tracegen version, so it can measure an old build too:

    python scripts/supervision_audit.py out/gsm8k [more dataset folders]
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq

from tracegen.columns import IGNORE
from tracegen.dataset.check_rows import seen_contexts
from tracegen.dataset.load import load_dataset_tokenizer
from tracegen.dataset.manifest import read_manifest
from tracegen.trace import replay


def audit(out: Path) -> dict:
    manifest = read_manifest(out)
    tok = load_dataset_tokenizer(out, manifest)
    export = manifest.recipe.export
    delimiters = tok.delimiters if export.undo_unit == "step" else frozenset()
    counts = defaultdict(int)
    for path in sorted((out / "data").glob("*.parquet")):
        for row in pq.read_table(path).to_pylist():
            ids, labels = row["input_ids"], row["labels"]
            p = len(tok.prompt_ids(row["prompt"], export.chat_template))
            completion = ids[p:]
            run = replay(completion, tok.undo_id, export.undo_unit, delimiters)
            clean = [completion[i] for i in run.survivors]
            counts["rows"] += 1
            counts["labelled"] += sum(label != IGNORE for label in labels)
            counts["undo_labels"] += sum(label == tok.undo_id for label in labels)
            for dev in row["deviations"]:
                start = dev["token_start"] - p
                counts["deviations"] += 1
                counts["shared_prefix_deviations"] += (
                    run.depth[start] < len(clean) and completion[start] == clean[run.depth[start]]
                )
            if row["context_mode"] == "hard":
                contexts = seen_contexts(ids, row["position_ids"], row["prune_spans"], tok.undo_id)
                labels_of, positions_of = defaultdict(set), defaultdict(int)
                for q in range(len(ids) - 1):
                    if labels[q + 1] != IGNORE:
                        labels_of[contexts[q]].add(labels[q + 1])
                        positions_of[contexts[q]] += 1
                counts["contradictory_labels"] += sum(
                    positions_of[c] for c, seen in labels_of.items() if len(seen) > 1
                )
    return dict(counts)


if __name__ == "__main__":
    for folder in sys.argv[1:]:
        print(folder, json.dumps(audit(Path(folder))), flush=True)
