"""One per-group rate table for every audit: per group, how many trials and how many events.

The same shape holds a verification's FMR (false matches out of same-group non-mated
pairs) and FNMR, a detector's recall (faces found out of faces), a redactor's hidden share,
failures to enrol (images without a face out of images), and an identification audit's
FPIR / FNIR (searches returning a candidate, or missing the mate, out of searches).
Each group says whom it counts in structured fields (`Group`); reports name groups from
those fields and never parse a name back.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from unseen.errors import ConfigError

EVERYONE = "all"
"""The name of the group without an attribute: every face, pair or image counted."""


@dataclass(frozen=True)
class Group:
    """Whom a rate counts: those with ``label`` for ``attribute`` (both empty: everyone),
    restricted to the stratum ``within`` (e.g. a face-height bucket; '' for none).

    ``name`` is how reports list the group, whatever its stratum: ``attribute=label`` by
    default, `EVERYONE` without an attribute; an intersection passes its own.
    """

    attribute: str = ""
    label: str = ""
    within: str = ""
    name: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", f"{self.attribute}={self.label}" if self.attribute else EVERYONE)


@dataclass(frozen=True)
class Rate:
    """One row of a `RateTable`: ``k`` events out of ``n`` trials, its interval, flags and
    test (``p_holm`` None when the group was not tested)."""

    group: Group
    n: int
    k: int
    value: float
    ci: tuple[float, float]
    flags: tuple[str, ...] = ()
    p_holm: float | None = None
    differs: bool = False
    bound_only: bool = False

    @property
    def key(self) -> str:
        """The row's label in a table: the stratum for everyone within one, else the group's name."""
        return self.group.within if self.group.within and not self.group.attribute else self.group.name


def _column(values, n: int, dtype, name: str, fill) -> np.ndarray:
    array = np.full(n, fill, dtype) if values is None else np.asarray(values, dtype)
    if array.shape != (n,):
        raise ConfigError(f"RateTable.{name}: expected shape ({n},), got {array.shape}")
    return array


@dataclass(frozen=True, eq=False)
class RateTable:
    """Per group (arrays over ``groups``): ``events`` out of ``trials``, with an interval
    ``ci`` (NaN where none was computed), ``bound_only`` where no event was seen and the
    upper end is a rule-of-three bound, ``p_holm`` (NaN where not tested), ``differs``
    (the test rejected "no difference") and ``flags`` (what a reader must know)."""

    groups: tuple[Group, ...]
    trials: np.ndarray
    events: np.ndarray
    ci: np.ndarray = field(default=None)  # type: ignore[assignment]
    bound_only: np.ndarray = field(default=None)  # type: ignore[assignment]
    p_holm: np.ndarray = field(default=None)  # type: ignore[assignment]
    differs: np.ndarray = field(default=None)  # type: ignore[assignment]
    flags: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        n = len(self.groups)
        object.__setattr__(self, "groups", tuple(self.groups))
        object.__setattr__(self, "trials", _column(self.trials, n, np.float64, "trials", 0.0))
        object.__setattr__(self, "events", _column(self.events, n, np.float64, "events", 0.0))
        ci = np.full((n, 2), np.nan) if self.ci is None else np.asarray(self.ci, np.float64).reshape(-1, 2)
        if ci.shape != (n, 2):
            raise ConfigError(f"RateTable.ci: expected shape ({n}, 2), got {ci.shape}")
        object.__setattr__(self, "ci", ci)
        object.__setattr__(self, "bound_only", _column(self.bound_only, n, bool, "bound_only", False))
        object.__setattr__(self, "p_holm", _column(self.p_holm, n, np.float64, "p_holm", np.nan))
        object.__setattr__(self, "differs", _column(self.differs, n, bool, "differs", False))
        flags = tuple(tuple(f) for f in self.flags) if self.flags else ((),) * n
        if len(flags) != n:
            raise ConfigError(f"RateTable.flags: expected one tuple per group ({n}), got {len(flags)}")
        object.__setattr__(self, "flags", flags)

    @classmethod
    def counted(cls, groups: Sequence[Group], members: np.ndarray, events: np.ndarray) -> RateTable:
        """Trials: the members of each group (``members`` is ``(groups, items)`` bool);
        events: those of them where ``events`` (``(items,)`` bool) holds."""
        members = np.asarray(members, bool).reshape(len(groups), -1)
        events = np.asarray(events, bool)
        if members.shape[1] != events.shape[0]:
            raise ConfigError(f"RateTable.counted: members cover {members.shape[1]} items, events {events.shape[0]}")
        return cls(groups=tuple(groups), trials=members.sum(axis=1), events=(members & events).sum(axis=1))

    @classmethod
    def joined(cls, tables: Sequence[RateTable]) -> RateTable:
        """The rows of several tables, one after the other."""
        return cls(groups=tuple(g for t in tables for g in t.groups),
                   trials=np.concatenate([t.trials for t in tables]) if tables else np.zeros(0),
                   events=np.concatenate([t.events for t in tables]) if tables else np.zeros(0),
                   ci=np.concatenate([t.ci for t in tables]) if tables else np.zeros((0, 2)),
                   bound_only=np.concatenate([t.bound_only for t in tables]) if tables else np.zeros(0, bool),
                   p_holm=np.concatenate([t.p_holm for t in tables]) if tables else np.zeros(0),
                   differs=np.concatenate([t.differs for t in tables]) if tables else np.zeros(0, bool),
                   flags=tuple(f for t in tables for f in t.flags))

    # -- reading ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.groups)

    @property
    def rate(self) -> np.ndarray:
        """``events / trials``; NaN for a group without trials."""
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = self.events / self.trials
        rate[self.trials == 0] = np.nan
        return rate

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.groups)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(g.label for g in self.groups)

    def row(self, i: int) -> Rate:
        p = float(self.p_holm[i])
        return Rate(group=self.groups[i], n=int(self.trials[i]), k=int(self.events[i]),
                    value=float(self.events[i] / self.trials[i]) if self.trials[i] else float("nan"),
                    ci=(float(self.ci[i, 0]), float(self.ci[i, 1])), flags=self.flags[i],
                    p_holm=None if np.isnan(p) else p, differs=bool(self.differs[i]),
                    bound_only=bool(self.bound_only[i]))

    def __iter__(self) -> Iterator[Rate]:
        return (self.row(i) for i in range(len(self)))

    def get(self, name: str, *, within: str = "") -> Rate:
        """The row of the group called ``name`` (in the stratum ``within``)."""
        for i, group in enumerate(self.groups):
            if group.name == name and group.within == within:
                return self.row(i)
        raise KeyError(name if not within else f"{name} within {within}")

    def where(self, keep: np.ndarray | Sequence[bool]) -> RateTable:
        """Only the rows where ``keep`` is True."""
        index = np.flatnonzero(np.asarray(keep, bool))
        return replace(self, groups=tuple(self.groups[i] for i in index), trials=self.trials[index],
                       events=self.events[index], ci=self.ci[index], bound_only=self.bound_only[index],
                       p_holm=self.p_holm[index], differs=self.differs[index],
                       flags=tuple(self.flags[i] for i in index))

    def of_attribute(self, attribute: str) -> RateTable:
        """The rows of ``attribute``'s groups."""
        return self.where([g.attribute == attribute for g in self.groups])
