"""Every pair of a set of templates, scored a block at a time and counted as it goes.

A verification audit of ``n`` images has ``n (n - 1) / 2`` comparisons: 45,000 images give a
billion. None of them is listed here. The templates are sorted by group (and by subject
within a group), and each block of rows x columns, one (group, group) *cell* at a time, is
scored by one float32 matrix product; the block is then counted and dropped:

- **counts at or above every edge of a score grid, per cell** (`StreamedCounts`): a fine
  uniform grid (``fine_bins`` bins, about 1e-6 wide for cosine scores at the default) over
  the upper part of the score range, coarse levels below it, and any extra thresholds
  given (e.g. a model's customary one) counted exactly. A threshold for a target FMR is then
  the lowest edge whose count is at most the target share: never more false matches than
  the target, and off the sorted scores' threshold by at most one fine bin.
- **the pairs at or above a floor** (`pairs_at_or_above`), when exact scores of the upper
  tail are wanted: a second pass that keeps the indices of those pairs only.

Pairs of one subject (mated pairs) and pairs of an image with itself or with an earlier
one are left out of every block, so each non-mated pair is counted once. Memory is set by
`ScaleConfig.memory_mib`, never by the number of comparisons: one block of scores, the
grid's counts per cell and the templates themselves.

The block products run on the GPU when ``backend`` allows it and CuPy or PyTorch with CUDA
is installed (`Backend`); the counts are the same integers, the scores float32 either way.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from unseen.choices import Choice
from unseen.errors import ConfigError
from unseen.faces.embedders.base import Metric, l2_normalised
from unseen.progress import SILENT, Progress

PILOT_SIDE = 512
"""Scores of this many random templates against as many others (about 262,000 pairs, one
block product) place the fine grid and the coarse levels when the fine grid covers only the
top of the distribution."""

COARSE_SHARES = (0.95, 0.9, 0.75, 0.5, 0.25, 0.1, 0.05)
"""Where coarse levels go below the fine grid: scores with these shares of the pilot's pairs
at or above them."""


class Backend(Choice):
    """Where the block products run. ``auto``: a CUDA GPU through CuPy or PyTorch when one of
    them is installed and sees a GPU, else NumPy on the CPU."""

    AUTO = "auto"
    NUMPY = "numpy"
    CUPY = "cupy"
    TORCH = "torch"


@dataclass(frozen=True)
class ScaleConfig:
    """How all-pairs scoring uses memory and hardware.

    ``memory_mib``: what one scoring pass may hold besides the templates (a block of scores,
    the grid's counts per cell). ``fine_bins``: bins of the fine grid at most (fewer when
    the cells' counts would not fit). ``fine_share``: the top share of the comparisons the
    fine grid covers (1: the whole score range; smaller shares make each block cheaper to
    count, and the coarse levels below it, at ``coarse_shares`` of the pairs, are only for
    plots; each costs a comparison per score).
    """

    memory_mib: int = 1024
    fine_bins: int = 1 << 20
    fine_share: float = 1.0
    coarse_shares: tuple[float, ...] = COARSE_SHARES
    backend: Backend = Backend.AUTO
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "backend", Backend.parse(self.backend, "--backend"))
        if self.memory_mib < 8:
            raise ConfigError(f"--memory: expected at least 8 MiB, got {self.memory_mib}")
        if self.fine_bins < 256:
            raise ConfigError(f"fine_bins: expected at least 256, got {self.fine_bins}")
        if not 0.0 < self.fine_share <= 1.0:
            raise ConfigError(f"fine_share: expected a share in (0, 1], got {self.fine_share}")
        if any(not 0.0 < share < 1.0 for share in self.coarse_shares):
            raise ConfigError(f"coarse_shares: expected shares in (0, 1), got {self.coarse_shares}")

    @property
    def memory_bytes(self) -> int:
        return int(self.memory_mib) << 20

    @property
    def block_elements(self) -> int:
        """Scores per block: the block and its temporaries (about 60 bytes a score when the
        whole range is binned finely) take a quarter of the memory; at most 8 M scores."""
        return int(min(1 << 23, max(1 << 16, self.memory_bytes // 256)))


@dataclass(frozen=True)
class TemplateGroups:
    """Templates to compare all against all, each with a group and a subject.

    ``group[i]`` is in ``range(n_groups)``; pairs are counted per unordered cell (g, h),
    g <= h (`cell_index`). Pairs of one subject are mated and never counted. ``metric``:
    cosine similarity, or euclidean distance (scores are its negative, as everywhere).
    """

    templates: np.ndarray
    group: np.ndarray
    subject: np.ndarray
    n_groups: int
    metric: Metric

    def __post_init__(self) -> None:
        templates = np.asarray(self.templates)
        if templates.ndim != 2 or len(templates) < 2:
            raise ConfigError(f"templates: expected at least two rows of shape (n, d), got shape {templates.shape}")
        if not np.all(np.isfinite(templates)):
            raise ConfigError("templates: every value must be a finite number")
        n = len(templates)
        group = np.asarray(self.group, np.int64)
        subject = np.asarray(self.subject, np.int64)
        if group.shape != (n,) or subject.shape != (n,):
            raise ConfigError(f"group/subject: expected one per template ({n}), got {group.shape} and {subject.shape}")
        if np.any(group < 0) or np.any(group >= self.n_groups):
            raise ConfigError(f"group: expected codes in 0..{self.n_groups - 1}")
        object.__setattr__(self, "metric", Metric.parse(self.metric, "metric"))
        object.__setattr__(self, "group", group)
        object.__setattr__(self, "subject", subject)

    def __len__(self) -> int:
        return len(self.templates)

    @property
    def n_cells(self) -> int:
        return self.n_groups * (self.n_groups + 1) // 2

    def cell_index(self, g: np.ndarray | int, h: np.ndarray | int) -> np.ndarray:
        """The cell of groups ``g`` and ``h`` (either order)."""
        return cell_index(g, h, self.n_groups)

    def bounds(self) -> tuple[float, float]:
        """Scores can lie only in this range (from the templates' norms)."""
        if self.metric is Metric.COSINE:
            return -1.0, 1.0
        largest = float(np.linalg.norm(np.asarray(self.templates, np.float64), axis=1).max())
        return -2.0 * largest, 0.0

    def pair_counts(self) -> np.ndarray:
        """Non-mated pairs per cell, counted from the groups and subjects alone."""
        per = np.zeros((int(self.subject.max()) + 1, self.n_groups))
        np.add.at(per, (self.subject, self.group), 1.0)
        sizes = per.sum(axis=0)
        out = np.zeros(self.n_cells, np.int64)
        for g in range(self.n_groups):
            for h in range(g, self.n_groups):
                same_subject = float((per[:, g] * per[:, h]).sum())
                pairs = sizes[g] * sizes[h] - same_subject if g != h else (sizes[g] ** 2 - same_subject) / 2
                out[self.cell_index(g, h)] = int(round(pairs))
        return out


def cell_index(g: np.ndarray | int, h: np.ndarray | int, n_groups: int) -> np.ndarray:
    """Index of the unordered cell {g, h} among the ``n_groups (n_groups + 1) / 2`` cells."""
    low, high = np.minimum(g, h), np.maximum(g, h)
    return low * n_groups - low * (low - 1) // 2 + (high - low)


@dataclass(frozen=True)
class ScoreGrid:
    """The edges counts are kept at: coarse levels, the extra thresholds, then the fine grid
    ``cut + k * width`` for ``k < fine_bins``."""

    coarse: np.ndarray
    cut: float
    width: float
    fine_bins: int

    @property
    def fine_edges(self) -> np.ndarray:
        return self.cut + self.width * np.arange(self.fine_bins)

    @classmethod
    def spanning(cls, low: float, high: float, fine_bins: int, coarse: Sequence[float] = ()) -> ScoreGrid:
        """Fine bins from ``low`` to just above ``high``; ``coarse`` levels below ``low``."""
        width = (np.nextafter(high, np.inf) - low) / fine_bins
        levels = np.unique(np.asarray([c for c in coarse if c < low], np.float64))
        return cls(levels, float(low), float(width), int(fine_bins))


@dataclass(frozen=True)
class StreamedCounts:
    """Non-mated pairs per cell at or above each of ``edges`` (sorted ascending).

    ``above[c, k]``: pairs of cell ``c`` scoring ``>= edges[k]`` (float32 scores); ``total[c]``:
    all of the cell's pairs; ``sums`` / ``squares``: the sum of their scores and of the
    squared scores (float64), for d'. ``high``: the largest score seen.
    """

    edges: np.ndarray
    above: np.ndarray
    total: np.ndarray
    sums: np.ndarray
    squares: np.ndarray
    high: float
    n_groups: int

    def __post_init__(self) -> None:
        if self.above.shape != (len(self.total), len(self.edges)):
            raise ConfigError(f"StreamedCounts.above: expected shape {(len(self.total), len(self.edges))}, "
                              f"got {self.above.shape}")

    def combined(self, cells: np.ndarray | Sequence[int]) -> tuple[np.ndarray, int]:
        """Counts at or above each edge and the total over several cells."""
        cells = np.asarray(cells, np.int64)
        return self.above[cells].sum(axis=0), int(self.total[cells].sum())

    def threshold_at_most(self, target: float, cells: np.ndarray | Sequence[int] | None = None) -> tuple[float, int]:
        """The threshold for an FMR of at most ``target`` over ``cells`` (all: None), and its edge index.

        Of the edges where the share at or above is at most the target, the lowest whose
        bin holds a pair: between the edges below it no pair scores, so the FMR is the
        same, and the sorted scores' threshold (`unseen.audit.stats.counts`) lies in that
        bin or the one below. ``(inf, -1)`` when even the highest edge is above the target
        or there are no pairs.
        """
        above, total = self.combined(np.arange(len(self.total)) if cells is None else cells)
        return threshold_on(self.edges, above, total, target)

    def count_at_or_above(self, threshold: float, cells: np.ndarray | Sequence[int] | None = None) -> int:
        """Pairs at or above ``threshold``, which must be one of the edges."""
        k = int(np.searchsorted(self.edges, threshold))
        if k >= len(self.edges) or self.edges[k] != threshold:
            raise ConfigError(f"threshold {threshold!r}: not an edge of the grid; give it as an extra threshold")
        above, _ = self.combined(np.arange(len(self.total)) if cells is None else cells)
        return int(above[k])


def threshold_on(edges: np.ndarray, above: np.ndarray, total: int, target: float) -> tuple[float, int]:
    """`StreamedCounts.threshold_at_most` for counts ``above`` each of ``edges`` out of ``total``."""
    ok = np.flatnonzero(above <= target * total * (1.0 + 1e-12))
    if total == 0 or len(ok) == 0:
        return float("inf"), -1
    occupied = np.flatnonzero(above[ok[0]:-1] > above[ok[0] + 1:])
    k = int(ok[0] + (occupied[0] if len(occupied) else len(above) - 1 - ok[0]))
    return float(edges[k]), k


# -- the blocks ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Block:
    cell: int
    rows: slice
    cols: slice
    excluded: Any  # boolean mask of pairs not to count (same subject, or not above the diagonal), or None


class _Layout:
    """Templates sorted by group, then subject; the blocks of every cell."""

    def __init__(self, groups: TemplateGroups, block_elements: int) -> None:
        self.order = np.lexsort((groups.subject, groups.group))
        self.group = groups.group[self.order]
        self.subject = groups.subject[self.order]
        self.starts = np.searchsorted(self.group, np.arange(groups.n_groups + 1))
        self.side = int(max(256, np.sqrt(block_elements)))
        self.groups = groups

    def blocks(self) -> Iterator[tuple[int, slice, slice]]:
        groups = self.groups
        for g in range(groups.n_groups):
            row_cuts = self._cuts(g)
            for h in range(g, groups.n_groups):
                cell = int(groups.cell_index(g, h))
                col_cuts = self._cuts(h)
                for i, (r0, r1) in enumerate(zip(row_cuts[:-1], row_cuts[1:])):
                    first = i if g == h else 0   # within a group: the blocks on and above the diagonal
                    for c0, c1 in zip(col_cuts[first:-1], col_cuts[first + 1:]):
                        yield cell, slice(int(r0), int(r1)), slice(int(c0), int(c1))

    def _cuts(self, g: int) -> np.ndarray:
        """Group ``g``'s rows in equal spans of at most ``side`` (no sliver at the end)."""
        start, stop = self.starts[g], self.starts[g + 1]
        spans = max(1, -(-(stop - start) // self.side))
        return np.linspace(start, stop, spans + 1).round().astype(np.int64)

    def excluded(self, rows: slice, cols: slice) -> np.ndarray | None:
        """Pairs of a block that are not counted: the diagonal and below, and one subject's pairs."""
        mask = None
        if cols.start < rows.stop:   # the block reaches the diagonal
            mask = np.arange(cols.start, cols.stop)[None, :] <= np.arange(rows.start, rows.stop)[:, None]
        row_subjects, col_subjects = self.subject[rows], self.subject[cols]
        if row_subjects.max() >= col_subjects.min() and col_subjects.max() >= row_subjects.min():
            same = row_subjects[:, None] == col_subjects[None, :]
            if same.any():
                mask = same if mask is None else (mask | same)
        return mask


def float32_at_least(value: float) -> np.float32:
    """The smallest float32 at or above ``value``: a float32 score is >= ``value`` exactly when
    it is >= this."""
    rounded = np.float32(value)
    return np.nextafter(rounded, np.float32(np.inf)) if rounded < value else rounded


# -- backends --------------------------------------------------------------------------------
class _ArrayBlocks:
    """Block products and counts with an array library that speaks NumPy's language (NumPy on
    the CPU, CuPy on the GPU). Counts stay with the arrays until `totals`."""

    def __init__(self, groups: TemplateGroups, order: np.ndarray, xp: Any = np) -> None:
        self.xp, self.metric = xp, groups.metric
        rows = l2_normalised(groups.templates) if groups.metric is Metric.COSINE \
            else np.asarray(groups.templates, np.float32)
        self.rows = xp.asarray(np.ascontiguousarray(rows[order], dtype=np.float32))
        self.squares = (self.rows * self.rows).sum(axis=1) if groups.metric is Metric.EUCLIDEAN else None

    def scores(self, rows: slice | np.ndarray, cols: slice | np.ndarray, excluded: np.ndarray | None) -> Any:
        """Scores of ``rows`` against ``cols`` (positions in the sorted order, as slices or
        index arrays); pairs in ``excluded`` get -inf (never counted)."""
        xp = self.xp
        if isinstance(rows, np.ndarray):
            rows, cols = xp.asarray(rows), xp.asarray(cols)
        block = self.rows[rows] @ self.rows[cols].T
        if self.metric is Metric.EUCLIDEAN:
            block *= -2.0
            block += self.squares[rows][:, None]
            block += self.squares[cols][None, :]
            xp.maximum(block, 0.0, out=block)
            xp.sqrt(block, out=block)
            xp.negative(block, out=block)
        if excluded is not None:
            block[xp.asarray(excluded)] = -xp.inf
        return block

    def start_counts(self, grid: ScoreGrid, cells: int) -> None:
        xp = self.xp
        self.grid = grid
        self.levels = [float32_at_least(v) for v in grid.coarse]
        self.cut = float32_at_least(grid.cut)
        self.fine = xp.zeros((cells, grid.fine_bins), xp.int64)
        self.level_counts = xp.zeros((cells, len(self.levels)), xp.int64)
        self.sums = xp.zeros(cells, xp.float64)
        self.squares_sum = xp.zeros(cells, xp.float64)
        self.high = xp.full(1, -xp.inf, xp.float64)

    def count(self, cell: int, block: Any, moments: bool) -> None:
        """Add one block's scores to the cell's counts (excluded pairs are -inf: never counted)."""
        xp, grid = self.xp, self.grid
        for k, level in enumerate(self.levels):
            self.level_counts[cell, k] += xp.count_nonzero(block >= level)
        flat = block.ravel()
        values = flat[xp.flatnonzero(flat >= self.cut)]
        if len(values):
            codes = ((values - np.float32(grid.cut)) * np.float32(1.0 / grid.width)).astype(xp.int64)
            xp.clip(codes, 0, grid.fine_bins - 1, out=codes)
            if len(codes) > grid.fine_bins // 8:
                self.fine[cell] += xp.bincount(codes, minlength=grid.fine_bins)
            else:   # few: sorting them beats touching every bin
                bins, counts = xp.unique(codes, return_counts=True)
                self.fine[cell, bins] += counts
        if moments:
            valid = flat[xp.isfinite(flat)].astype(xp.float64)
            if len(valid):
                self.sums[cell] += valid.sum()
                self.squares_sum[cell] += xp.dot(valid, valid)
                self.high[0] = xp.maximum(self.high[0], valid.max())

    def totals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
        host = self.to_numpy
        return (host(self.fine), host(self.level_counts), host(self.sums), host(self.squares_sum),
                float(host(self.high)[0]))

    def at_or_above(self, block: Any, floor: float) -> np.ndarray:
        """Flat indices of the block's scores at or above ``floor``."""
        return self.to_numpy(self.xp.flatnonzero(block.ravel() >= float32_at_least(floor)))

    def to_numpy(self, array: Any) -> np.ndarray:
        return np.asarray(array) if self.xp is np else self.xp.asnumpy(array)


class _TorchBlocks:
    """The same block products and counts with PyTorch on a CUDA device."""

    def __init__(self, groups: TemplateGroups, order: np.ndarray, device: str = "cuda") -> None:
        import torch

        self.torch, self.device, self.metric = torch, device, groups.metric
        rows = l2_normalised(groups.templates) if groups.metric is Metric.COSINE \
            else np.asarray(groups.templates, np.float32)
        self.rows = torch.from_numpy(np.ascontiguousarray(rows[order], dtype=np.float32)).to(device)
        self.squares = (self.rows * self.rows).sum(dim=1) if groups.metric is Metric.EUCLIDEAN else None

    def scores(self, rows: slice | np.ndarray, cols: slice | np.ndarray, excluded: np.ndarray | None) -> Any:
        torch = self.torch
        if isinstance(rows, np.ndarray):
            rows, cols = torch.from_numpy(rows).to(self.device), torch.from_numpy(cols).to(self.device)
        block = self.rows[rows] @ self.rows[cols].T
        if self.metric is Metric.EUCLIDEAN:
            block = -torch.sqrt(torch.clamp(self.squares[rows][:, None] + self.squares[cols][None, :] - 2.0 * block,
                                            min=0.0))
        if excluded is not None:
            block[torch.from_numpy(excluded).to(self.device)] = -float("inf")
        return block

    def start_counts(self, grid: ScoreGrid, cells: int) -> None:
        torch, device = self.torch, self.device
        self.grid = grid
        self.levels = [float32_at_least(v) for v in grid.coarse]
        self.cut = float32_at_least(grid.cut)
        self.fine = torch.zeros((cells, grid.fine_bins), dtype=torch.int64, device=device)
        self.level_counts = torch.zeros((cells, len(self.levels)), dtype=torch.int64, device=device)
        self.sums = torch.zeros(cells, dtype=torch.float64, device=device)
        self.squares_sum = torch.zeros(cells, dtype=torch.float64, device=device)
        self.high = torch.full((1,), -float("inf"), dtype=torch.float64, device=device)

    def count(self, cell: int, block: Any, moments: bool) -> None:
        torch, grid = self.torch, self.grid
        for k, level in enumerate(self.levels):
            self.level_counts[cell, k] += torch.count_nonzero(block >= float(level))
        values = block[block >= float(self.cut)]
        if values.numel():
            codes = ((values - grid.cut) * (1.0 / grid.width)).to(torch.int64).clamp_(0, grid.fine_bins - 1)
            self.fine[cell] += torch.bincount(codes, minlength=grid.fine_bins)
        if moments:
            valid = block[torch.isfinite(block)].to(torch.float64)
            if valid.numel():
                self.sums[cell] += valid.sum()
                self.squares_sum[cell] += (valid * valid).sum()
                self.high[0] = torch.maximum(self.high[0], valid.max())

    def totals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
        return (self.fine.cpu().numpy(), self.level_counts.cpu().numpy(), self.sums.cpu().numpy(),
                self.squares_sum.cpu().numpy(), float(self.high.cpu().numpy()[0]))

    def at_or_above(self, block: Any, floor: float) -> np.ndarray:
        return self.torch.nonzero(block.reshape(-1) >= float(float32_at_least(floor))).reshape(-1).cpu().numpy()

    def to_numpy(self, array: Any) -> np.ndarray:
        return array.cpu().numpy()


def gpu_backend() -> Backend | None:
    """The GPU library that can run the block products here, if any (CuPy first)."""
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            return Backend.CUPY
    except Exception:  # noqa: BLE001 - no CuPy, no driver or no device all mean "no GPU here"
        pass
    try:
        import torch

        if torch.cuda.is_available():
            return Backend.TORCH
    except Exception:  # noqa: BLE001 - as above
        pass
    return None


def resolved_backend(backend: Backend = Backend.AUTO) -> Backend:
    """The backend ``backend`` means here: ``auto`` becomes the GPU library found, else NumPy."""
    backend = Backend.parse(backend, "--backend")
    if backend is Backend.AUTO:
        return gpu_backend() or Backend.NUMPY
    return backend


def backend_name(backend: Backend = Backend.AUTO) -> str:
    """What ``backend`` runs the block products on here, in words."""
    return {Backend.CUPY: "CuPy (GPU)", Backend.TORCH: "PyTorch (GPU)"}.get(resolved_backend(backend),
                                                                         "NumPy (CPU)")


def _blocks_for(groups: TemplateGroups, order: np.ndarray, backend: Backend):
    chosen = resolved_backend(backend)
    if chosen is Backend.CUPY:
        import cupy

        return _ArrayBlocks(groups, order, cupy)
    if chosen is Backend.TORCH:
        return _TorchBlocks(groups, order)
    return _ArrayBlocks(groups, order)


# -- the passes ------------------------------------------------------------------------------
def _pilot(blocks: Any, n: int, seed: int) -> np.ndarray:
    """Scores of random pairs of different templates (any subjects), sorted."""
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, min(n, PILOT_SIDE), replace=False))
    cols = np.sort(rng.choice(n, min(n, PILOT_SIDE), replace=False))
    scores = blocks.to_numpy(blocks.scores(rows, cols, rows[:, None] == cols[None, :])).astype(np.float64)
    return np.sort(scores[np.isfinite(scores)])


def plan_grid(groups: TemplateGroups, config: ScaleConfig, *, extra: Sequence[float] = (),
              blocks: Any = None) -> ScoreGrid:
    """The grid for ``groups``: fine bins over the top ``config.fine_share`` of the scores (the
    whole range when it is 1), as many as memory allows; coarse levels below; ``extra``
    thresholds counted exactly."""
    low, high = groups.bounds()
    budget = config.memory_bytes // 4 // 8 // max(1, groups.n_cells)   # counts per bin, twice while summed up
    bins = int(min(config.fine_bins, 1 << int(np.log2(max(256, budget)))))
    coarse: list[float] = []
    cut = low
    if config.fine_share < 1.0:
        pilot = _pilot(blocks or _blocks_for(groups, np.arange(len(groups)), config.backend), len(groups), config.seed)
        share = min(1.0, 2.0 * config.fine_share)   # the pilot's estimate, with room to spare
        cut = max(low, float(pilot[int((1.0 - share) * (len(pilot) - 1))]))
        coarse = [float(pilot[int((1.0 - s) * (len(pilot) - 1))]) for s in config.coarse_shares if s > share]
    grid = ScoreGrid.spanning(cut, high, bins, coarse)
    if len(extra):
        grid = ScoreGrid(np.unique(np.r_[grid.coarse, np.asarray(extra, np.float64)]), grid.cut, grid.width,
                         grid.fine_bins)
    return grid


@dataclass(frozen=True)
class Block:
    """One block of pairs: rows by columns of the sorted templates, all in one cell."""

    cell: int
    rows: slice
    cols: slice


@dataclass(frozen=True)
class BlockCounts:
    """What counting some blocks gave: per cell the pairs per fine bin and at each coarse
    level, all the pairs, the scores' sums and squares, and the largest score. Adds up."""

    fine: np.ndarray
    levels: np.ndarray
    total: np.ndarray
    sums: np.ndarray
    squares: np.ndarray
    high: float

    def __add__(self, other: BlockCounts) -> BlockCounts:
        return BlockCounts(self.fine + other.fine, self.levels + other.levels, self.total + other.total,
                           self.sums + other.sums, self.squares + other.squares, max(self.high, other.high))


class BlockRunner(Protocol):
    """Runs the blocks of a pass somewhere (this process by default; a Ray cluster in
    `unseen.distributed`) and returns what `count_blocks` / `find_in_blocks` return for all."""

    def count(self, groups: TemplateGroups, grid: ScoreGrid, blocks: Sequence[Block], config: ScaleConfig,
              moments: bool, progress: Progress) -> BlockCounts: ...

    def find(self, groups: TemplateGroups, floor: float, blocks: Sequence[Block], config: ScaleConfig,
             progress: Progress) -> tuple[np.ndarray, np.ndarray]: ...


def count_blocks(groups: TemplateGroups, grid: ScoreGrid, blocks: Sequence[Block], config: ScaleConfig, *,
                 moments: bool = True, progress: Progress = SILENT) -> BlockCounts:
    """Score ``blocks`` of ``groups`` and count them on ``grid`` (``progress`` hears pairs)."""
    layout = _Layout(groups, config.block_elements)
    scorer = _blocks_for(groups, layout.order, config.backend)
    scorer.start_counts(grid, groups.n_cells)
    total = np.zeros(groups.n_cells, np.int64)
    for block in blocks:
        excluded = layout.excluded(block.rows, block.cols)
        size = _size(block.rows, block.cols, excluded)
        scorer.count(block.cell, scorer.scores(block.rows, block.cols, excluded), moments)
        total[block.cell] += size
        progress.advance(size)
    fine, levels, sums, squares, high = scorer.totals()
    return BlockCounts(fine, levels, total, sums, squares, high)


def find_in_blocks(groups: TemplateGroups, floor: float, blocks: Sequence[Block], config: ScaleConfig, *,
                   progress: Progress = SILENT) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of ``blocks`` whose float32 score is at least ``floor``: template indices ``(a, b)``."""
    layout = _Layout(groups, config.block_elements)
    scorer = _blocks_for(groups, layout.order, config.backend)
    found_a: list[np.ndarray] = [np.zeros(0, np.int64)]
    found_b: list[np.ndarray] = [np.zeros(0, np.int64)]
    for block in blocks:
        excluded = layout.excluded(block.rows, block.cols)
        flat = scorer.at_or_above(scorer.scores(block.rows, block.cols, excluded), floor)
        width = block.cols.stop - block.cols.start
        found_a.append(layout.order[block.rows.start + flat // width])
        found_b.append(layout.order[block.cols.start + flat % width])
        progress.advance(_size(block.rows, block.cols, excluded))
    return np.concatenate(found_a), np.concatenate(found_b)


class LocalRunner:
    """The blocks in this process, one after another."""

    def count(self, groups: TemplateGroups, grid: ScoreGrid, blocks: Sequence[Block], config: ScaleConfig,
              moments: bool, progress: Progress) -> BlockCounts:
        return count_blocks(groups, grid, blocks, config, moments=moments, progress=progress)

    def find(self, groups: TemplateGroups, floor: float, blocks: Sequence[Block], config: ScaleConfig,
             progress: Progress) -> tuple[np.ndarray, np.ndarray]:
        return find_in_blocks(groups, floor, blocks, config, progress=progress)


def all_blocks(groups: TemplateGroups, config: ScaleConfig) -> list[Block]:
    """Every block of every cell (see the module text)."""
    return [Block(cell, rows, cols) for cell, rows, cols in _Layout(groups, config.block_elements).blocks()]


def count_pairs(groups: TemplateGroups, *, config: ScaleConfig = ScaleConfig(), extra: Sequence[float] = (),
                moments: bool = True, progress: Progress = SILENT, description: str = "scoring",
                runner: BlockRunner | None = None) -> StreamedCounts:
    """Score every non-mated pair of ``groups`` once and count it on the grid (`plan_grid`)
    per cell. ``extra``: thresholds whose counts must be exact (they become edges).
    ``moments``: also sum the scores and their squares (for d'; a little slower).
    ``runner``: where the blocks run (default: here)."""
    grid = plan_grid(groups, config, extra=extra)
    progress.start(float(groups.pair_counts().sum()), unit="comparisons", description=description)
    counted = (runner or LocalRunner()).count(groups, grid, all_blocks(groups, config), config, moments, progress)
    edges, above = _at_or_above(grid, counted.fine, counted.levels)
    return StreamedCounts(edges=edges, above=above, total=counted.total, sums=counted.sums, squares=counted.squares,
                          high=counted.high if moments else float("nan"), n_groups=groups.n_groups)


def _at_or_above(grid: ScoreGrid, fine: np.ndarray, level_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts per fine bin and at each level -> counts at or above every edge, edges ascending."""
    above_fine = np.empty_like(fine)
    for cell, row in enumerate(fine):   # a row at a time: NumPy accumulates along rows slowly
        above_fine[cell, ::-1] = np.cumsum(row[::-1])
    if not len(grid.coarse):
        return grid.fine_edges, above_fine
    edges = np.r_[grid.coarse, grid.fine_edges]
    order = np.argsort(edges, kind="stable")
    return edges[order], np.concatenate([level_counts, above_fine], axis=1)[:, order]


def _size(rows: slice, cols: slice, excluded: np.ndarray | None) -> int:
    """Pairs a block counts."""
    return (rows.stop - rows.start) * (cols.stop - cols.start) - (int(excluded.sum()) if excluded is not None else 0)


@dataclass(frozen=True)
class PairIndex:
    """Pairs of templates, as indices into the `TemplateGroups` they came from (``a < b``)."""

    a: np.ndarray
    b: np.ndarray

    def __len__(self) -> int:
        return len(self.a)


def pairs_at_or_above(groups: TemplateGroups, floor: float, *, config: ScaleConfig = ScaleConfig(),
                      limit: int | None = None, progress: Progress = SILENT,
                      description: str = "keeping the upper tail", runner: BlockRunner | None = None) -> PairIndex:
    """Every non-mated pair whose float32 score is at least ``floor`` (a second pass over the
    blocks). ``limit``: raise rather than keep more pairs than this (checked as the blocks
    come back: per block here, per share of blocks on a cluster)."""
    progress.start(float(groups.pair_counts().sum()), unit="comparisons", description=description)
    runner = runner or LocalRunner()
    found_a: list[np.ndarray] = [np.zeros(0, np.int64)]
    found_b: list[np.ndarray] = [np.zeros(0, np.int64)]
    kept = 0
    for share in _shares(all_blocks(groups, config), groups, limit):
        a, b = runner.find(groups, floor, share, config, progress)
        found_a.append(a)
        found_b.append(b)
        kept += len(a)
        if limit is not None and kept > limit:
            raise ConfigError(f"--memory: more than {limit:,} pairs score at or above {floor:.6g}; raise --memory")
    a, b = np.concatenate(found_a), np.concatenate(found_b)
    return PairIndex(np.minimum(a, b), np.maximum(a, b))


def _shares(blocks: Sequence[Block], groups: TemplateGroups, limit: int | None) -> Iterator[Sequence[Block]]:
    """The blocks in shares of about a tenth of all pairs, so a limit is checked as they come."""
    if limit is None:
        yield blocks
        return
    step = max(1, len(blocks) // 10)
    for start in range(0, len(blocks), step):
        yield blocks[start:start + step]
