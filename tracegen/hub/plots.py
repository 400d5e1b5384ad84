"""PNG plots of a dataset's statistics, written under `plots/` and linked from the card.

Builds are byte-identical for the same recipe and seed, so the PNGs are too: the figures use
matplotlib's default style whatever the user's matplotlibrc says, a fixed size and dpi, and
no `Software` metadata (the one field that names the matplotlib version); PNG has no timestamp
unless asked for. The object API (Figure, not pyplot) keeps no global state and needs no display.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib.style
import numpy as np
from matplotlib.figure import Figure

from tracegen.dataset.layout import PLOTS_DIR
from tracegen.hub.stats import DatasetStats, Distribution

WIDTH_INCHES, DPI = 6.4, 100
MAX_BINS = 60  # integer values spanning more than this are grouped into MAX_BINS equal bins


@dataclass(frozen=True)
class Plot:
    path: str  # relative to the dataset folder
    title: str


def write_plots(folder: Path, stats: DatasetStats) -> list[Plot]:
    """Draw every plot into `folder/plots/`; return them in the order the card shows them."""
    (Path(folder) / PLOTS_DIR).mkdir(exist_ok=True)
    plots = []
    with matplotlib.style.context(["default", {"text.parse_math": False}]):  # kinds are data: a `$` is text
        plots.append(_save(folder, "deviations_by_kind", "Deviations by kind", _kinds_figure(stats)))
        for name, title, measured, counted, pick in (
            ("row_tokens", "Tokens per row (prompt + trace)", "tokens", "rows", lambda s: s.row_tokens),
            ("deviation_tokens", "Tokens per deviation", "tokens", "deviations", lambda s: s.deviation_tokens),
            ("undos_per_row", "<UNDO> tokens per row", "<UNDO> tokens", "rows", lambda s: s.undos_per_row),
        ):
            figure = _histogram_figure(title, measured, counted, {split: pick(s) for split, s in stats.splits.items()})
            plots.append(_save(folder, name, title, figure))
    return plots


def _save(folder: Path, name: str, title: str, figure: Figure) -> Plot:
    path = f"{PLOTS_DIR}/{name}.png"
    figure.savefig(Path(folder) / path, format="png", dpi=DPI, metadata={"Software": None})
    return Plot(path=path, title=title)


def _kinds_figure(stats: DatasetStats) -> Figure:
    kinds = stats.kinds
    figure = Figure(figsize=(WIDTH_INCHES, 1.2 + 0.35 * max(len(kinds), 1)), dpi=DPI, layout="constrained")
    ax = figure.subplots()
    ax.set_title("Deviations by kind")
    if not kinds:
        _nothing(ax, "no deviations")
        return figure
    height = 0.8 / len(stats.splits)
    for k, (split, split_stats) in enumerate(stats.splits.items()):
        counts = [split_stats.deviations_by_kind.get(kind, 0) for kind in kinds]
        ax.barh(np.arange(len(kinds)) + k * height, counts, height=height, label=split)
    ax.set_yticks(np.arange(len(kinds)) + 0.4 - height / 2, kinds)
    ax.invert_yaxis()
    ax.set_xlabel("deviations")
    if len(stats.splits) > 1:
        ax.legend()
    return figure


def _histogram_figure(title: str, measured: str, counted: str, by_split: dict[str, Distribution]) -> Figure:
    figure = Figure(figsize=(WIDTH_INCHES, 3.6), dpi=DPI, layout="constrained")
    ax = figure.subplots()
    ax.set_title(title)
    present = {split: d for split, d in by_split.items() if d.total}
    if not present:
        _nothing(ax, "none")
        return figure
    edges = _bin_edges(min(d.values[0] for d in present.values()), max(d.values[-1] for d in present.values()))
    for split, dist in present.items():
        counts, _ = np.histogram(dist.values, bins=edges, weights=dist.counts)
        ax.stairs(counts / dist.total, edges, fill=len(present) == 1, label=split)
    ax.set_xlabel(measured)
    ax.set_ylabel(f"share of {counted}")
    if len(present) > 1:
        ax.legend()
    return figure


def _bin_edges(low: int, high: int) -> np.ndarray:
    """One bin per integer when the range is small, else MAX_BINS equal bins covering [low, high]."""
    if high - low + 1 <= MAX_BINS:
        return np.arange(low, high + 2) - 0.5
    return np.linspace(low - 0.5, high + 0.5, MAX_BINS + 1)


def _nothing(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
