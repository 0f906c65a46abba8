"""Two verification audits give the same figures: every threshold, rate, interval, cross-group
cell and summary measure (the streamed audit against the listed table's)."""

import numpy as np


def _values(op):
    g = op.groups
    return {
        "threshold": op.threshold, "threshold_ci": op.threshold_ci, "global_fmr": op.global_fmr,
        "global_fnmr": op.global_fnmr, "n_nonmated": op.n_nonmated, "n_mated": op.n_mated,
        "fmr_events": g.fmr.events, "fmr_trials": g.fmr.trials, "fmr_ci": g.fmr.ci, "fmr_p": g.fmr.p_holm,
        "fnmr_events": g.fnmr.events, "fnmr_trials": g.fnmr.trials, "fnmr_ci": g.fnmr.ci,
        "accuracy": g.accuracy, "accuracy_ci": g.accuracy_ci, "group_threshold": g.group_threshold,
        "shift": g.threshold_shift, "cross": op.cross.fmr, "cross_ci": op.cross.ci,
        "cross_n": op.cross.n_nonmated, "summary": op.summary.values, "summary_ci": op.summary.ci,
    }


def assert_same_audit(listed, streamed, *, rtol=1e-9):
    assert (listed.n_pairs, listed.n_mated, listed.n_subjects) == (streamed.n_pairs, streamed.n_mated,
                                                                    streamed.n_subjects)
    assert listed.skipped_targets == streamed.skipped_targets
    assert [(r.model, r.attribute) for r in listed.results] == [(r.model, r.attribute) for r in streamed.results]
    for a, b in zip(listed.results, streamed.results):
        assert [p.point for p in a.operating_points] == [p.point for p in b.operating_points]
        for p, q in zip(a.operating_points, b.operating_points):
            assert p.flags == q.flags, f"{a.model} / {p.point.name}: {p.flags} != {q.flags}"
            assert p.groups.flags == q.groups.flags, f"{a.model} / {p.point.name}: {p.groups.flags} != {q.groups.flags}"
            for name, x in _values(p).items():
                y = _values(q)[name]
                assert np.allclose(np.asarray(x, float), np.asarray(y, float), rtol=rtol, atol=1e-12,
                                   equal_nan=True), f"{a.model} / {a.attribute} / {p.point.name}: {name} {x} != {y}"
        assert np.allclose(a.scores.d_prime, b.scores.d_prime, rtol=1e-5, equal_nan=True)
