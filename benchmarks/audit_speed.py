"""Speed of the verification audit: 1e7 comparisons (no bootstrap), 1,000 subject-level
bootstrap replicates on 24,000 pairs, and 1,000 on every pair of 4,000 one-photo people
(about 8 million pairs, 8 groups, as a UTKFace-sized false-match audit with a loose fixed
threshold beside three target FMRs), with wall time and peak memory (resident set).

    python benchmarks/audit_speed.py [N_COMPARISONS] [N_PEOPLE]

Synthetic scores (4 groups, 1% mated); the work does not depend on what the scores are.
"""

from __future__ import annotations

import resource
import sys
import time

import numpy as np

from unseen.audit.recognition.comparisons import Comparisons, ScoreScale
from unseen.audit.verification.audit import audit_verification
from unseen.audit.verification.config import OperatingPoint, VerificationConfig


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


def all_pairs(n_people: int, rng: np.random.Generator) -> Comparisons:
    """Every pair of ``n_people`` one-photo people (all non-mated), 4 x 2 groups."""
    race, gender = rng.integers(0, 4, n_people), rng.integers(0, 2, n_people)
    features = rng.normal(size=(n_people, 8)) + 0.3 * race[:, None]
    a, b = np.triu_indices(n_people, 1)
    distance = np.empty(len(a))
    for start in range(0, len(a), 1_000_000):
        block = slice(start, start + 1_000_000)
        distance[block] = np.linalg.norm(features[a[block]] - features[b[block]], axis=1)
    labels = np.column_stack([race, gender])
    return Comparisons(scores=-distance[:, None], models=("m",), mated=np.zeros(len(a), bool), subject_a=a,
                       subject_b=b, subject_names=tuple(map(str, range(n_people))), attributes=("race", "gender"),
                       labels_a=labels[a], labels_b=labels[b], group_names=(("A", "B", "C", "D"), ("F", "M")),
                       scales=(ScoreScale.DISTANCE,))


def timed(label: str, comparisons: Comparisons, config: VerificationConfig, attributes=None) -> None:
    start = time.perf_counter()
    audit = audit_verification(comparisons, config=config, attributes=attributes)
    op = audit.results[0].operating_points[0]
    print(f"{label}: {time.perf_counter() - start:.1f} s, peak RSS {peak_mib():.0f} MiB "
          f"(threshold {op.threshold:.3f}, global FMR {op.global_fmr:.1e})")


def main(n_large: int, n_people: int) -> None:
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
    del small
    people = all_pairs(n_people, rng)
    loose = float(np.quantile(people.score("m"), 0.7))   # a fixed threshold with FMR 0.3
    timed(f"all {len(people):,} pairs of {n_people:,} people, race x gender, 1,000 subject-level replicates "
          "(FMR 1e-4, 1e-3, 1e-5 and a fixed threshold at FMR 0.3)", people,
          VerificationConfig(operating_points=(OperatingPoint(target_fmr=1e-4),
                                               OperatingPoint(policy="fixed", threshold=loose, label="loose")),
                             n_bootstrap=1000), attributes=["race x gender"])


if __name__ == "__main__":
    main(int(float(sys.argv[1])) if len(sys.argv) > 1 else 10_000_000,
         int(sys.argv[2]) if len(sys.argv) > 2 else 4_000)
