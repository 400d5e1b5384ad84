"""Training metrics: one JSON object per line in `metrics.jsonl`, and the same record to a printer (the terminal)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

METRICS_FILE = "metrics.jsonl"

Printer = Callable[[dict], None]


class MetricsLog:
    """Appends records to `<out>/metrics.jsonl` (a resumed run goes on in the same file); only the main process
    writes."""

    def __init__(self, out: Path, *, enabled: bool = True, printer: Printer | None = None):
        self.path = Path(out) / METRICS_FILE
        self.enabled, self.printer = enabled, printer

    def write(self, record: dict) -> None:
        if not self.enabled:
            return
        record = {key: _plain(value) for key, value in record.items()}
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if self.printer is not None:
            self.printer(record)


def _plain(value):
    """JSON-ready: tensors and numpy scalars to Python numbers, non-finite floats to None (JSON has no NaN)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None
    return value


def read_metrics(out: Path) -> list[dict]:
    """Every record of a run, in order."""
    path = Path(out) / METRICS_FILE
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
