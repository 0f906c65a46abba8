"""One progress interface for long work: the CLI's bars, the review page and video use it.

Library functions take a ``progress`` argument that follows `Progress` and default to
`SILENT`. A job calls ``start`` once it knows how much there is to do (in whatever unit it
names: files, pixels, frames, comparisons), ``advance`` as it goes, and ``message`` for a
line a person should read (a file that failed, a stage that began). Nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@runtime_checkable
class Progress(Protocol):
    """What a long job reports while it runs."""

    def start(self, total: float | None, *, unit: str = "", description: str = "") -> None:
        """The job's size (None when unknown), its unit and a short description; may be
        called again to begin the next stage of the same job."""

    def advance(self, amount: float = 1.0) -> None:
        """``amount`` more units are done."""

    def message(self, text: str) -> None:
        """A line for the person watching (not a log: say what they need to know)."""


class Silent:
    """A `Progress` that ignores everything: the default of every library function."""

    def start(self, total: float | None, *, unit: str = "", description: str = "") -> None:
        pass

    def advance(self, amount: float = 1.0) -> None:
        pass

    def message(self, text: str) -> None:
        pass


SILENT = Silent()


@dataclass
class Recorded:
    """A `Progress` that keeps what it was told: for tests, and for callers that poll
    (the review page reads ``done`` / ``total`` from another thread)."""

    total: float | None = None
    unit: str = ""
    description: str = ""
    done: float = 0.0
    stages: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def start(self, total: float | None, *, unit: str = "", description: str = "") -> None:
        self.total, self.unit, self.description, self.done = total, unit, description, 0.0
        self.stages.append(description)

    def advance(self, amount: float = 1.0) -> None:
        self.done += amount

    def message(self, text: str) -> None:
        self.messages.append(text)

    @property
    def fraction(self) -> float | None:
        """Share done of the current stage, or None while its size is unknown."""
        if not self.total:
            return None
        return min(self.done / self.total, 1.0)
