"""`unseen.progress.Progress` drawn as a Rich progress bar: the CLI's side of the interface."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TaskID, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.text import Text


class RateColumn(ProgressColumn):
    """How fast the current stage goes, in its own unit per second (frames: fps)."""

    def render(self, task: Task) -> Text:
        unit = task.fields.get("unit", "")
        if task.speed is None or not unit:
            return Text("")
        label = "fps" if unit == "frames" else f"{unit}/s"
        return Text(f"{task.speed:.1f} {label}", style="progress.data.speed")


class RichBar:
    """One bar; ``start`` again begins the next stage on the same line; messages print above it."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def start(self, total: float | None, *, unit: str = "", description: str = "") -> None:
        text = f"{description} ({unit})" if description and unit else description or unit
        if self._task is None:
            self._task = self._progress.add_task(text, total=total, unit=unit)
        else:
            self._progress.reset(self._task, total=total, description=text, unit=unit)

    def advance(self, amount: float = 1.0) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)

    def message(self, text: str) -> None:
        self._progress.console.print(text, highlight=False)


@contextmanager
def progress_bar(console: Console) -> Iterator[RichBar]:
    """A bar for the duration of the block, removed when it ends (what it printed stays)."""
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  RateColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                  transient=True) as progress:
        yield RichBar(progress)
