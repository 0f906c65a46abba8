"""Rows a table reader set aside: which file, which line, what was wrong, what was done.

Every audit reader (comparisons tables and their label files, manifests, pairs lists,
labelled-face packs, box files, published rates) reads what it can use and records each
row it could not use as it stands in one `SetAside`, which travels with what it read into
the report: a note per row in the terminal and HTML, every row in the JSON. With
``strict`` a reader raises instead (`SetAside.check_strict`), naming the first rows.

Lines are the file's own line numbers (a CSV's header is line 1, its first row line 2),
so a person can open the file at that line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from unseen.choices import Choice
from unseen.errors import InputFileError


class RowProblem(Choice):
    """What was wrong with a row."""

    MISSING_VALUE = "missing value"
    NOT_A_NUMBER = "not a number"
    UNREADABLE_VALUE = "unreadable value"
    INFINITE = "infinite number"
    OUT_OF_RANGE = "value out of range"
    NEGATIVE_BOX = "negative width or height"
    EMPTY_BOX = "empty box"
    DUPLICATE = "duplicate"
    SELF_PAIR = "an image compared with itself"
    MALFORMED = "malformed line"
    FILE_NOT_FOUND = "file not found"
    UNREADABLE = "unreadable file"


NOTES_SHOWN = 10
"""Set-aside rows named one by one in notes; the rest are counted (all are in the JSON)."""
JSON_ROWS = 10_000
"""Set-aside rows listed in a JSON report (all are counted)."""


@dataclass(frozen=True, eq=False)
class SetAside:
    """Rows set aside by one or more readers, one entry per row.

    file: (n,) file name; line: (n,) its line number (0: the whole file); problem: (n,)
    `RowProblem` values; detail: (n,) what the row held; action: (n,) what was done with it
    ("left out", or how it still counts).
    """

    file: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=str))
    line: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    problem: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=str))
    detail: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=str))
    action: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=str))

    def __post_init__(self) -> None:
        line = np.asarray(self.line, np.int64).reshape(-1)
        columns = {name: np.asarray(getattr(self, name), dtype=str).reshape(-1)
                   for name in ("file", "problem", "detail", "action")}
        for name, values in columns.items():
            if values.shape != line.shape:
                raise ValueError(f"SetAside.{name}: expected {len(line)} entries, got {len(values)}")
        for problem in set(columns["problem"].tolist()):
            RowProblem.parse(problem, "SetAside.problem")
        for name, values in (("line", line), *columns.items()):
            values.setflags(write=False)
            object.__setattr__(self, name, values)

    @classmethod
    def of(cls, file: str, rows: Iterable[tuple[int, RowProblem, str, str]]) -> SetAside:
        """From ``(line, problem, detail, action)`` tuples of one file."""
        rows = list(rows)
        if not rows:
            return cls()
        lines, problems, details, actions = zip(*rows)
        return cls(file=[file] * len(rows), line=lines, problem=[RowProblem(p).value for p in problems],
                   detail=details, action=actions)

    @classmethod
    def merge(cls, parts: Sequence[SetAside]) -> SetAside:
        parts = [part for part in parts if len(part)]
        if not parts:
            return cls()
        return cls(**{name: np.concatenate([getattr(part, name) for part in parts])
                      for name in ("file", "line", "problem", "detail", "action")})

    def __len__(self) -> int:
        return len(self.line)

    def __bool__(self) -> bool:
        return len(self) > 0

    def counts(self) -> dict[str, int]:
        """Rows set aside per problem, most frequent first."""
        return dict(Counter(self.problem.tolist()).most_common())

    def describe(self, i: int) -> str:
        where = f"{self.file[i]} line {self.line[i]}" if self.line[i] > 0 else str(self.file[i])
        detail = f" ({self.detail[i]})" if self.detail[i] else ""
        return f"{where}: {self.problem[i]}{detail}"

    def notes(self, *, shown: int = NOTES_SHOWN) -> list[str]:
        """One line per set-aside row, the first ``shown`` of them, then a count of the rest."""
        if not len(self):
            return []
        lines = [f"set aside: {self.describe(i)}; {self.action[i]}" for i in range(min(shown, len(self)))]
        if len(self) > shown:
            lines.append(f"set aside: {len(self) - shown} more row(s) ("
                         + ", ".join(f"{n} {p}" for p, n in self.counts().items()) + "); all are listed in the JSON")
        return lines

    def to_json(self, *, listed: int = JSON_ROWS) -> dict[str, Any]:
        return {"count": len(self), "by_problem": self.counts(),
                "rows": [{"file": str(self.file[i]), "line": int(self.line[i]), "problem": str(self.problem[i]),
                          "detail": str(self.detail[i]), "action": str(self.action[i])}
                         for i in range(min(listed, len(self)))],
                "rows_listed": min(listed, len(self))}

    def check_strict(self, strict: bool) -> SetAside:
        """Raise InputFileError naming the first rows when ``strict`` and any row was set
        aside; otherwise return self."""
        if strict and len(self):
            shown = "; ".join(self.describe(i) for i in range(min(3, len(self))))
            more = f" and {len(self) - 3} more" if len(self) > 3 else ""
            raise InputFileError(f"{shown}{more}: refused under --strict (without it such rows are set aside, "
                                 "named and counted, and the rest is read)")
        return self


NOTHING_SET_ASIDE = SetAside()
