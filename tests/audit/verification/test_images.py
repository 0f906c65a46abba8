"""The images mode with a small fake detector and embedder (real models: test_images_real.py)."""

import pandas as pd
import pytest

from tests.audit.fakes import fakes
from unseen.audit.recognition.comparisons import ScoreScale
from unseen.audit.recognition.manifest import read_manifest
from unseen.audit.verification.config import OperatingPoint, VerificationConfig
from unseen.audit.verification.images import audit_images


def test_images_mode_counts_pairs_and_failures_to_enrol(manifest_path):
    manifest = read_manifest(manifest_path, groups=("group", "tone"), label_sources=(("group", "synthetic"),))
    config = VerificationConfig(operating_points=(OperatingPoint(target_fmr=0.05),), extra_targets=(), n_bootstrap=20)
    _, _, builders = fakes()
    result = audit_images(manifest, models=["fake"], config=config, attributes=["group", "group x tone"], **builders)
    audit = result.audit
    assert audit.n_pairs == 35 * 34 // 2 and audit.n_mated == 11 * 3 + 1   # image s0_0 failed
    fte = {(r.group.attribute, r.group.label): r.k for f in result.failures for r in f.rates}
    assert fte[("group", "A")] == 0 and fte[("group", "B")] == 1 and fte[("group x tone", "B x dark")] == 1
    points = audit.results[0].operating_points
    assert [p.point.policy.value for p in points] == ["target-fmr", "fixed"]
    assert points[1].point.name == "customary distance 10"
    assert points[1].threshold == pytest.approx(-10.0)           # the similarity scale: distance negated
    assert points[1].threshold_input_scale == pytest.approx(10.0)  # and reported as the distance it is
    assert audit.scale("fake") is ScoreScale.DISTANCE
    assert any("Far too small" in c for c in result.caveats)
    assert result.failures[0].to_record()["group"]["B"] == {"images": 18, "failed": 1, "rate": 1 / 18}


def test_identical_files_are_left_out_and_reported(manifest_path):
    import shutil

    frame = pd.read_csv(manifest_path)
    shutil.copy(manifest_path.parent / "s1_0.png", manifest_path.parent / "copy.png")
    frame = pd.concat([frame, pd.DataFrame([{"path": "copy.png", "subject": "s99", "group": "B", "tone": "dark"}])])
    frame.to_csv(manifest_path, index=False)
    manifest = read_manifest(manifest_path, groups=("group",))
    config = VerificationConfig(operating_points=(OperatingPoint(target_fmr=0.05),), extra_targets=(), n_bootstrap=0)
    _, embedder, builders = fakes()
    result = audit_images(manifest, models=["fake"], config=config, **builders)
    assert result.audit.n_pairs == 35 * 34 // 2                      # the copy is in no pair
    assert embedder.calls == 36                                     # but it was enrolled (and found)
    (copy,) = result.copies
    assert copy.image.name == "copy.png" and copy.copy_of.name == "s1_0.png"
    caveat = next(c for c in result.caveats if "byte-identical" in c)
    assert "different labels" in caveat and "s1_0.png: A vs B" in caveat
    assert result.report_extra()["identical_copies_left_out"][0]["labels_of_copy_of"] == ["A"]
