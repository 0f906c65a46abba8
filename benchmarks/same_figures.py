"""Compare two verification audit JSON reports figure by figure (e.g. the listed table's and
the streamed audit of the same images).

    python benchmarks/same_figures.py listed.json streamed.json

Walks both reports and compares every number: rates, thresholds, intervals, counts,
summary measures. The threshold-free score figures (``score_level``: DET points, score
histograms, AUC, d') are reported apart, as the streamed audit computes them from counts
on a fine grid. Notes and provenance texts are skipped.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

SKIPPED = {"data", "caveats", "enrolment", "notes", "title", "unseen_version", "null_values"}


def leaves(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in SKIPPED:
                yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from leaves(item, (*path, i))
    else:
        yield path, value


def differ(a, b, rtol: float) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if math.isnan(a) and math.isnan(b):
            return False
        return not math.isclose(a, b, rel_tol=rtol, abs_tol=1e-12)
    return a != b


def det_gaps(first: dict, second: dict) -> tuple[int, float]:
    """DET curves: how many, and the largest distance (in decades of FMR) from a point of the
    second report's curve to the first's curve, read at the same threshold (log-linear between
    the first curve's points, where both have pairs)."""
    import numpy as np

    curves, worst = 0, 0.0

    def walk(a, b):
        nonlocal curves, worst
        if isinstance(a, dict) and isinstance(a.get("det"), dict):
            x, y = a["det"], b["det"]
            tx, fx = np.asarray(x["threshold"], float), np.asarray(x["fmr"], float)
            ty, fy = np.asarray(y["threshold"], float), np.asarray(y["fmr"], float)
            inside = (ty >= tx.min()) & (ty <= tx.max()) & (fy > 0)
            if inside.any() and (fx > 0).all():
                curves += 1
                expected = np.interp(ty[inside], tx, np.log10(fx))
                worst = max(worst, float(np.abs(np.log10(fy[inside]) - expected).max()))
        elif isinstance(a, dict):
            for key in a:
                if key in b:
                    walk(a[key], b[key])

    walk(first, second)
    return curves, worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--rtol", type=float, default=1e-9)
    args = parser.parse_args()
    trees = [json.loads(p.read_text()) for p in (args.first, args.second)]
    first, second = (dict(leaves(tree)) for tree in trees)
    for part, keep in (("figures", lambda p: "score_level" not in p),
                       ("score-level figures but DET", lambda p: "score_level" in p and "det" not in p)):
        keys = [k for k in first if keep(k)]
        missing = [k for k in keys if k not in second]
        different = [k for k in keys if k in second and differ(first[k], second[k], args.rtol)]
        numbers = sum(isinstance(first[k], (int, float)) for k in keys)
        print(f"{part}: {len(keys):,} values ({numbers:,} numbers) compared, {len(different):,} differ "
              f"(relative tolerance {args.rtol:g}), {len(missing):,} missing from the second")
        worst = sorted(((abs(first[k] - second[k]) / max(abs(first[k]), 1e-300), k) for k in different
                        if isinstance(first[k], (int, float)) and isinstance(second[k], (int, float))), reverse=True)
        for error, key in worst[:5]:
            print(f"  {'/'.join(map(str, key))}: {first[key]!r} vs {second[key]!r} (relative {error:.1e})")
        for key in [k for k in different if not isinstance(first[k], (int, float))][:5]:
            print(f"  {'/'.join(map(str, key))}: {first[key]!r} vs {second[key]!r}")
    curves, worst = det_gaps(trees[0], trees[1])
    print(f"DET curves: {curves} compared; the second's points lie within {worst:.2g} decades of FMR of the first's "
          "curve at the same threshold")


if __name__ == "__main__":
    main()

