"""Speed of the verification audit: 1e7 comparisons (no bootstrap) and 1,000 subject-level
bootstrap replicates on 24,000 pairs, with wall time and peak memory (resident set).

    python benchmarks/audit_speed.py [N_COMPARISONS]

Synthetic scores (4 groups, 1% mated); the work does not depend on what the scores are.
"""

from __future__ import annotations

import resource
import sys
import time

import numpy as np

from unseen.audit.comparisons import Comparisons
from unseen.audit.verification import OperatingPoint, VerificationConfig, audit_verification


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def table(n: int, n_subjects: int, rng: np.random.Generator) -> Comparisons:
    groups = np.array(["A", "B", "C", "D"])
    subject_group = rng.integers(0, 4, n_subjects)
    mated = rng.random(n) < 0.01
    a = rng.integers(0, n_subjects, n)
    b = np.where(mated, a, rng.integers(0, n_subjects, n))
    b = np.where(~mated & (b == a), (a + 1) % n_subjects, b)
    scores = np.where(mated, rng.normal(2, 1, n), rng.normal(0, 1, n))
    return Comparisons.build(scores=scores, mated=mated, labels_a={"g": groups[subject_group[a]]},
                             labels_b={"g": groups[subject_group[b]]}, subjects_a=a, subjects_b=b)


def timed(label: str, comparisons: Comparisons, config: VerificationConfig) -> None:
    start = time.perf_counter()
    audit = audit_verification(comparisons, config=config)
    op = audit.results[0].operating_points[0]
    print(f"{label}: {time.perf_counter() - start:.1f} s, peak RSS {peak_mib():.0f} MiB "
          f"(threshold {op.threshold:.3f}, global FMR {op.global_fmr:.1e})")


def main(n_large: int) -> None:
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    large = table(n_large, 20_000, rng)
    print(f"built {n_large:.0e} comparisons in {time.perf_counter() - start:.1f} s, peak RSS {peak_mib():.0f} MiB")
    timed(f"{n_large:.0e} comparisons, FMR 1e-4 and 1e-3/1e-5, no bootstrap", large,
          VerificationConfig(n_bootstrap=0))
    del large
    small = table(24_000, 2_000, rng)
    timed("24,000 pairs, 1,000 subject-level replicates (FMR 1e-3, threshold re-estimated)", small,
          VerificationConfig(operating_points=(OperatingPoint(target_fmr=1e-3),), extra_targets=(), n_bootstrap=1000))
    timed("24,000 pairs, 1,000 pair-level replicates (FMR 1e-3)", small,
          VerificationConfig(operating_points=(OperatingPoint(target_fmr=1e-3),), extra_targets=(), n_bootstrap=1000,
                             bootstrap_unit="pair"))


if __name__ == "__main__":
    main(int(float(sys.argv[1])) if len(sys.argv) > 1 else 10_000_000)
