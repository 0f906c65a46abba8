"""Reproduce Fairness_OCFR's published RFW table from its scores, then audit the same scores
the default way (NIST: one threshold at a target FMR over all non-mated pairs).

    python benchmarks/reproduce_ocfr.py [DATA_ROOT]     # default ../shared/data

Prints, per model: the threshold maximising accuracy - std (ours, exhaustive over every
distinct score), the threshold that reproduces the published accuracies (when different),
both objective values, and the published vs reproduced figures; then the default audit.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from unseen.audit.recognition.readers import TableColumns, read_comparisons
from unseen.audit.verification.audit import audit_verification
from unseen.audit.verification.config import OperatingPoint, VerificationConfig

MODELS = ("balanced34", "global34", "balanced50", "global50")
RACES = ("African", "Asian", "Caucasian", "Indian")


def accuracies_at(frame: pd.DataFrame, model: str, threshold: float) -> np.ndarray:
    out = []
    for race in RACES:
        part = frame[frame.race == race]
        accept = part[model].to_numpy() >= threshold
        out.append(np.mean(accept == (part.mated.to_numpy() == 1)))
    return np.array(out)


def thresholds_matching(frame: pd.DataFrame, model: str, target: np.ndarray) -> list[float]:
    """Every distinct-score threshold whose per-race accuracies equal ``target`` (to 1e-9)."""
    found = []
    for t in np.unique(frame[model].to_numpy()):
        if np.allclose(accuracies_at(frame, model, t), target, atol=1e-9, rtol=0):
            found.append(float(t))
    return found


def main(root: Path) -> None:
    pairs_path = root / "scores" / "rfw-ocfr" / "pairs-RFW0-RFW0.csv"
    frame = pd.read_csv(pairs_path)
    published = pd.read_csv(root / "scores" / "rfw-ocfr" / "published-accuracy-fairness.csv").set_index("Model")
    published_rates = pd.read_csv(root / "scores" / "rfw-ocfr" / "published-fmr-fnmr.csv").set_index("Model")
    comparisons = read_comparisons(pairs_path, columns=TableColumns(scores=MODELS, mated="mated", groups=("race",)))
    paper = audit_verification(comparisons, config=VerificationConfig(
        operating_points=(OperatingPoint(policy="accuracy-minus-std"),), rates_over="all-pairs",
        extra_targets=(), n_bootstrap=0))
    print("== Fairness_OCFR policy (accuracy - std, rates over all pairs) ==")
    for model in MODELS:
        row = published.loc[model.capitalize()]
        rates_row = published_rates.loc[model.capitalize()]
        op = paper.result(model=model).operating_points[0]
        theirs = np.array([row[r] / 100 for r in RACES])
        ours = op.groups.accuracy
        print(f"\n{model}: our threshold {op.threshold:.7f}, objective mean-std "
              f"{ours.mean() - ours.std():.6f}")
        print(f"  accuracy ours     {np.round(ours, 6).tolist()}")
        print(f"  accuracy theirs   {np.round(theirs, 6).tolist()}")
        print(f"  FMR ours          {np.round(op.groups.fmr.rate, 6).tolist()}")
        print(f"  FMR theirs        {[round(rates_row[f'{r}_FMR'], 6) for r in RACES]}")
        print(f"  FNMR ours         {np.round(op.groups.fnmr.rate, 6).tolist()}")
        print(f"  FNMR theirs       {[round(rates_row[f'{r}_FNMR'], 6) for r in RACES]}")
        for ours_name, theirs_name, scale in (("std", "STD", 100), ("ser", "SER", 1), ("fdr", "FDR", 1),
                                              ("ir", "IR", 1), ("garbe", "GARBE", 1)):
            print(f"  {theirs_name:5s} ours {op.summary[ours_name] * scale:.6f}  theirs {row[theirs_name]:.6f}")
        if not np.allclose(ours, theirs, atol=1e-9):
            matches = thresholds_matching(frame, model, theirs)
            for t in matches:
                acc = accuracies_at(frame, model, t)
                print(f"  published accuracies reproduced at threshold {t:.7f}: objective "
                      f"{acc.mean() - acc.std():.6f} (< ours: a local optimum)")
        fm_theirs = np.array([rates_row[f"{r}_FMR"] for r in RACES])
        if not np.allclose(op.groups.fmr.rate, fm_theirs, atol=1e-9):
            for t in np.unique(frame[model].to_numpy()):
                fmr = [np.mean(frame[(frame.race == r) & (frame.mated == 0)][model].to_numpy() >= t) for r in RACES]
                if np.allclose(fmr, fm_theirs, atol=1e-9):
                    print(f"  published FMR/FNMR row reproduced at threshold {t:.7f} (not the accuracy table's)")
    print("\n== Default method: one threshold at target FMR over all 12,000 non-mated pairs ==")
    default = audit_verification(comparisons, config=VerificationConfig(
        operating_points=(OperatingPoint(target_fmr=1e-3),), extra_targets=(1e-4,), n_bootstrap=1000))
    for model in MODELS:
        for op in default.result(model=model).operating_points:
            g = op.groups
            print(f"\n{model} at {op.point.name}: threshold {op.threshold:.5f} (global FMR {op.global_fmr:.2e})")
            for race, fmr, fnmr in zip(g.names, g.fmr, g.fnmr):
                print(f"  {race:10s} FMR {fmr.value:.2e} [{fmr.ci[0]:.1e}, {fmr.ci[1]:.1e}] "
                      f"({fmr.k}/{fmr.n})  FNMR {fnmr.value:.4f} [{fnmr.ci[0]:.4f}, {fnmr.ci[1]:.4f}]")
            s = op.summary
            print("  " + ", ".join(f"{n} {s[n]:.3g}{'(lower bound)' if s.bounded[s.names.index(n)] else ''}"
                                   for n in ("fmr_max_min", "fnmr_max_min", "fmr_max_geomean", "fdr", "ir", "garbe")))
            for flag in op.flags:
                print(f"  ! {flag}")
    for note in default.notes:
        print(f"note: {note}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1].parent / "shared" / "data")
