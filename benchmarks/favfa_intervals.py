"""Subject-level vs pair-level bootstrap intervals on FaVFA's RFW pairs with BUPT_RFW distances.

    python benchmarks/favfa_intervals.py [DATA_ROOT] [REPLICATES]

Subject ids come from the file names (``m.0bxsfw_0001.jpg`` -> ``m.0bxsfw``). Prints per
group FMR/FNMR at FMR 1e-3 with both intervals and the ratio of their widths.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from unseen.audit.recognition.readers import TableColumns, read_comparisons
from unseen.audit.verification.audit import audit_verification
from unseen.audit.verification.config import OperatingPoint, VerificationConfig


def main(root: Path, replicates: int) -> None:
    favfa = root / "scores" / "favfa"
    columns = TableColumns(scores=("dist:distance",), groups=("ethnicity",), subjects=("img_1", "img_2"),
                           subjects_from_files=True, mated="y_true", join=favfa / "rfw.csv", join_on=("img_1", "img_2"))
    comparisons = read_comparisons(favfa / "BUPT_RFW.csv", columns=columns)
    print(f"{len(comparisons)} pairs, {comparisons.n_mated} mated, {len(comparisons.subject_names)} subjects")
    for note in comparisons.provenance.notes:
        print("note:", note)
    audits = {}
    for unit in ("subject", "pair"):
        config = VerificationConfig(operating_points=(OperatingPoint(target_fmr=1e-3),), extra_targets=(),
                                    n_bootstrap=replicates, bootstrap_unit=unit, seed=1)
        audits[unit] = audit_verification(comparisons, config=config).results[0].operating_points[0]
    subject, pair = audits["subject"], audits["pair"]
    print(f"threshold (distance) {subject.threshold_input_scale:.4f}; subject-level interval "
          f"{np.round(subject.threshold_ci, 4).tolist()}, pair-level {np.round(pair.threshold_ci, 4).tolist()}")
    print(f"{'group':10s} {'rate':5s} {'value':>9s} {'subject-level':>22s} {'pair-level':>22s} width ratio")
    for rate in ("fmr", "fnmr"):
        for k, name in enumerate(subject.groups.names):
            s_ci = getattr(subject.groups, rate).ci[k]
            p_ci = getattr(pair.groups, rate).ci[k]
            value = getattr(subject.groups, rate).rate[k]
            ratio = (s_ci[1] - s_ci[0]) / (p_ci[1] - p_ci[0]) if p_ci[1] > p_ci[0] else float("nan")
            print(f"{name:10s} {rate:5s} {value:9.2e} [{s_ci[0]:.2e}, {s_ci[1]:.2e}] [{p_ci[0]:.2e}, {p_ci[1]:.2e}] "
                  f"{ratio:5.2f}")
    for name in ("fmr_max_min", "fnmr_max_min", "fmr_max_geomean", "ir", "garbe"):
        s_ci, p_ci = subject.summary.interval(name), pair.summary.interval(name)
        print(f"{name:16s} {subject.summary[name]:.3g}  subject [{s_ci[0]:.3g}, {s_ci[1]:.3g}]  "
              f"pair [{p_ci[0]:.3g}, {p_ci[1]:.3g}]")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1].parent / "shared" / "data",
         int(sys.argv[2]) if len(sys.argv) > 2 else 1000)
