"""Writing a validation's results: results.json, results.md (tracegen.validate.report) and results.png,
the validated metrics of every variant, mean and spread over seeds, as bars."""

from __future__ import annotations

import json
import math
from pathlib import Path

from tracegen.validate.report import METRICS, PLOTTED, markdown


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = {v["name"]: v["label"] for v in results["variants"]}
    names = list(results["summary"])
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(11, 4.5))
    for i, name in enumerate(names):
        cells = [results["summary"][name][key] for key in PLOTTED]
        means = [0.0 if math.isnan(c["mean"]) else 100 * c["mean"] for c in cells]
        stds = [0.0 if math.isnan(c["std"]) else 100 * c["std"] for c in cells]
        ax.bar([x + i * width for x in range(len(PLOTTED))], means, width, yerr=stds, capsize=3, label=labels[name])
    titles = dict((key, label) for key, label, _ in METRICS)
    ax.set_xticks(
        [x + width * (len(names) - 1) / 2 for x in range(len(PLOTTED))],
        [titles[key].replace(" (", "\n(") for key in PLOTTED],
    )
    ax.set_ylabel("% (mean ± sd over seeds)")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=8)
    ax.set_title(
        f"tracegen validate --recipe {results['settings']['recipe']}: seeds {', '.join(map(str, results['seeds']))}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_results(results: dict, out: Path) -> None:
    """results.json, results.md and results.png in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(
        json.dumps(json_ready(results), indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    (out / "results.md").write_text(markdown(results), encoding="utf-8")
    plot(results, out / "results.png")


def json_ready(value):
    """NaN (an undefined rate) as null: JSON has no NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: json_ready(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value
