"""All-pairs scoring at NIST's scale: N non-mated comparisons of 512-D templates in four
groups, streamed through the library's scoring and counting path (`unseen.audit.scale`),
beside the plain NumPy approach (every score listed, then np.sort) at the largest size it
survives, in the same run.

    python benchmarks/audit_scale.py --comparisons 1e9 --json OUT.json [--memory 1024]

Templates are random unit vectors (the speed does not depend on what they are; correctness
on real scores is tested in tests/audit/verification/test_streaming_real.py). For each
target FMR (1e-4, 1e-5, 1e-6) the JSON gives the threshold the streamed counts set and the
one np.sort sets on the same scores, both on a subsample small enough to sort (about
``--subsample`` comparisons, the first templates of each group). Peak RSS is the process's
after the streamed run (the subsample's sort and the plain approach come after it; the
plain approach runs in a child process under a memory cap, ``--plain-cap-gib``).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import resource
import time
from pathlib import Path

import numpy as np

from unseen.audit.scale import Backend, ScaleConfig, TemplateGroups, backend_name, count_pairs
from unseen.faces.embedders.base import Metric

TARGETS = (1e-4, 1e-5, 1e-6)
GROUPS = 4


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def templates_for(comparisons: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random unit 512-D rows, enough for about ``comparisons`` pairs, in four equal groups."""
    n = int(math.ceil((1 + math.sqrt(1 + 8 * comparisons)) / 2))
    n += (-n) % GROUPS
    rng = np.random.default_rng(seed)
    rows = np.empty((n, 512), np.float32)
    for start in range(0, n, 8192):   # a block at a time: no float64 copy of the whole set
        block = rng.standard_normal((min(8192, n - start), 512), dtype=np.float32)
        rows[start:start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return rows, np.repeat(np.arange(GROUPS), n // GROUPS)


def streamed(rows: np.ndarray, group: np.ndarray, config: ScaleConfig) -> tuple[dict, float, int]:
    groups = TemplateGroups(rows, group, np.arange(len(rows)), GROUPS, Metric.COSINE)
    start = time.perf_counter()
    counts = count_pairs(groups, config=config, moments=False)
    seconds = time.perf_counter() - start
    thresholds = {f"{t:g}": counts.threshold_at_most(t)[0] for t in TARGETS}
    return {"counts": counts, "thresholds": thresholds}, seconds, int(counts.total.sum())


def exact_threshold(sorted_scores: np.ndarray, target: float) -> float:
    """The smallest score u with #(scores >= u) <= target * n (`unseen.audit.stats.counts`'s rule)."""
    n = len(sorted_scores)
    allowed = int(math.floor(target * n * (1.0 + 1e-12)))
    index = n - allowed
    if index >= n:
        return float(np.nextafter(sorted_scores[-1], np.inf))
    value = sorted_scores[index]
    if n - np.searchsorted(sorted_scores, value, side="left") <= allowed:
        return float(value)
    after = np.searchsorted(sorted_scores, value, side="right")
    return float(sorted_scores[after]) if after < n else float(np.nextafter(sorted_scores[-1], np.inf))


def all_scores(rows: np.ndarray, block: int = 2048) -> np.ndarray:
    """Every pair's float32 score (i < j), listed."""
    n = len(rows)
    out = np.empty(n * (n - 1) // 2, np.float32)
    at = 0
    for start in range(0, n, block):
        stop = min(n, start + block)
        scores = rows[start:stop] @ rows[start:].T
        for i in range(stop - start):
            row = scores[i, i + 1:]
            out[at:at + len(row)] = row
            at += len(row)
    return out


def products_alone(rows: np.ndarray, comparisons: float = 2e8, side: int = 2048) -> float:
    """Comparisons per second of the float32 block products alone (2048 x 2048 blocks, no counting)."""
    a, b = rows[:side], rows[side:2 * side]
    out = np.empty((side, side), np.float32)
    blocks = max(1, int(comparisons // (side * side)))
    start = time.perf_counter()
    for _ in range(blocks):
        np.matmul(a, b.T, out=out)
    return blocks * side * side / (time.perf_counter() - start)


def subsample(rows: np.ndarray, group: np.ndarray, comparisons: float) -> tuple[np.ndarray, np.ndarray]:
    per_group = int(math.ceil((1 + math.sqrt(1 + 8 * comparisons)) / 2)) // GROUPS
    keep = np.concatenate([np.flatnonzero(group == g)[:per_group] for g in range(GROUPS)])
    return rows[keep], group[keep]


def plain_numpy(n_comparisons: int, seed: int, out: multiprocessing.Queue, cap_gib: float) -> None:
    """The plain approach in a child: every score (the full matrix, its upper triangle), np.sort."""
    cap = int(cap_gib * (1 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    try:
        rows, _ = templates_for(n_comparisons, seed)
        start = time.perf_counter()
        matrix = rows @ rows.T
        scores = matrix[np.triu_indices(len(rows), 1)]
        del matrix
        scores.sort()
        thresholds = {f"{t:g}": exact_threshold(scores, t) for t in TARGETS}
        out.put({"comparisons": int(len(scores)), "seconds": time.perf_counter() - start,
                 "peak_rss_mib": peak_rss_mib(), "thresholds": thresholds})
    except MemoryError:
        out.put({"comparisons": int(n_comparisons), "failed": f"MemoryError under a {cap_gib:g} GiB cap"})


def largest_plain(limit: float, seed: int, cap_gib: float) -> tuple[dict | None, dict | None]:
    """The plain approach at 1e7, 3e7, 1e8, ... comparisons until it fails (or reaches ``limit``)."""
    context = multiprocessing.get_context("spawn")
    survived, failed = None, None
    size = 1e7
    while size <= limit:
        queue = context.Queue()
        child = context.Process(target=plain_numpy, args=(int(size), seed, queue, cap_gib))
        child.start()
        child.join()
        result = queue.get() if not queue.empty() else {"comparisons": int(size),
                                                          "failed": f"killed (exit {child.exitcode})"}
        if "failed" in result:
            failed = result
            break
        survived = result
        print(f"plain numpy: {result['comparisons']:.3g} comparisons in {result['seconds']:.1f} s "
              f"({result['comparisons'] / result['seconds']:.3g}/s), peak RSS {result['peak_rss_mib']:.0f} MiB")
        size *= math.sqrt(10)
    return survived, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comparisons", type=float, required=True)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--memory", type=int, default=1024, help="MiB for the streamed run (ScaleConfig.memory_mib)")
    parser.add_argument("--subsample", type=float, default=1e8)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--plain-cap-gib", type=float, default=8.0)
    parser.add_argument("--no-plain", action="store_true", help="skip the plain NumPy approach")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    config = ScaleConfig(memory_mib=args.memory, fine_bins=1 << 20, fine_share=1e-3, coarse_shares=(),
                         backend=Backend.parse(args.backend, "--backend"))
    load_before = os.getloadavg()
    rows, group = templates_for(args.comparisons, args.seed)
    n_templates = len(rows)
    full, seconds, n = streamed(rows, group, config)
    peak = peak_rss_mib()
    print(f"streamed {n:,} comparisons ({len(rows):,} templates, 4 groups, {backend_name(config.backend)}) in "
          f"{seconds:.1f} s: {n / seconds:.3g} comparisons/s, peak RSS {peak:.0f} MiB")
    alone = products_alone(rows)
    print(f"float32 block products alone, right after: {alone:.3g} comparisons/s")
    counts = full["counts"]
    threshold = full["thresholds"]["0.0001"]
    k = int(np.searchsorted(counts.edges, threshold))
    cross = {f"{g}-{h}": float(counts.above[cell, k] / counts.total[cell])
             for cell, (g, h) in enumerate((g, h) for g in range(GROUPS) for h in range(g, GROUPS))}

    sub_rows, sub_group = subsample(rows, group, min(args.subsample, args.comparisons))
    del rows
    sub, sub_seconds, sub_n = streamed(sub_rows, sub_group, config)
    start = time.perf_counter()
    scores = all_scores(sub_rows)
    scores.sort()
    sort_seconds = time.perf_counter() - start
    exact = {f"{t:g}": exact_threshold(scores, t) for t in TARGETS}
    streamed_fmr = {key: float(len(scores) - np.searchsorted(scores, np.float32(v))) / len(scores)
                    for key, v in sub["thresholds"].items()}
    exact_fmr = {key: float(len(scores) - np.searchsorted(scores, np.float32(v))) / len(scores)
                 for key, v in exact.items()}
    del scores
    thresholds = {key: {"streaming": sub["thresholds"][key], "exact": exact[key],
                        "difference": sub["thresholds"][key] - exact[key],
                        "fmr_streaming": streamed_fmr[key], "fmr_exact": exact_fmr[key]} for key in exact}
    for key, row in thresholds.items():
        print(f"FMR {key}: streaming {row['streaming']:.6f}, exact (np.sort) {row['exact']:.6f} "
              f"(difference {row['difference']:+.1e}; FMR {row['fmr_streaming']:.3g} vs {row['fmr_exact']:.3g}) "
              f"on {sub_n:,} comparisons")
    plain, plain_failed = (None, None) if args.no_plain else largest_plain(args.comparisons, args.seed,
                                                                           args.plain_cap_gib)
    result = {
        "comparisons": n, "seconds": seconds, "peak_rss_mib": peak, "comparisons_per_second": n / seconds,
        "products_alone_per_second": alone,
        "thresholds": thresholds, "subsample_comparisons": sub_n, "subsample_streamed_seconds": sub_seconds,
        "subsample_sort_seconds": sort_seconds,
        "thresholds_full_run": full["thresholds"], "cross_group_fmr_at_1e-4": cross,
        "plain_numpy_largest": plain, "plain_numpy_failed_at": plain_failed,
        "templates": n_templates,
        "memory_mib": args.memory, "fine_bins": config.fine_bins, "backend": backend_name(config.backend),
        "cpus": os.cpu_count(), "load_average_before": load_before, "load_average_after": os.getloadavg(),
    }
    args.json.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
