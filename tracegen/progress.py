"""Progress for long commands: a live bar on a terminal, plain lines in a log (CI, nohup, `2> build.log`).

A rich bar draws nothing when stderr is not a terminal, so a build of many minutes would be
silent there. `LineProgress` has the small part of rich's Progress API the commands use and
writes one line per phase every `interval_s` (and when a phase ends): done/total, rate, elapsed
and an estimate of the time left.
"""

from __future__ import annotations

import time
from typing import TextIO


def format_seconds(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_rate(count: float, seconds: float) -> str:
    """`12.5` or `1,234`: a rate below 10 keeps one decimal, so a slow live build does not read as 0."""
    rate = count / max(seconds, 1e-9)
    return f"{rate:,.1f}" if rate < 10 else f"{rate:,.0f}"


class LineProgress:
    def __init__(self, stream: TextIO, interval_s: float = 15.0, clock=time.monotonic):
        self.stream, self.interval_s, self.clock = stream, interval_s, clock
        self._tasks: dict[int, dict] = {}

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def add_task(self, description: str, total: float | None = None) -> int:
        task = len(self._tasks)
        self._tasks[task] = {}
        self.reset(task, description=description, total=total)
        return task

    def reset(self, task: int, *, description: str, total: float | None = None) -> None:
        now = self.clock()
        self._tasks[task] = {"description": description, "total": total, "completed": 0, "started": now, "said": now}

    def advance(self, task: int, advance: float = 1) -> None:
        state = self._tasks[task]
        state["completed"] += advance
        now = self.clock()
        finished = state["total"] is not None and state["completed"] >= state["total"]
        if finished or now - state["said"] >= self.interval_s:
            state["said"] = now
            self.stream.write(self.line(state, now) + "\n")
            self.stream.flush()

    @staticmethod
    def line(state: dict, now: float) -> str:
        done, total, elapsed = state["completed"], state["total"], now - state["started"]
        text = f"{state['description']}: {done:,.0f}" + (f"/{total:,.0f} ({100 * done / total:.0f}%)" if total else "")
        text += f", {format_rate(done, elapsed)}/s, {format_seconds(elapsed)} elapsed"
        if total and 0 < done < total:
            text += f", about {format_seconds(elapsed * (total - done) / done)} left"
        return text
