"""Streamed against listed on real UTKFace templates: 240 photos (30 per race x gender),
FaceNet on the whole aligned crops, every pair non-mated; thresholds at three target FMRs
and the customary one, with subject-level intervals, must be the table's."""

import numpy as np
import pandas as pd
import pytest

from tests.audit.verification.same_audit import assert_same_audit
from unseen.audit.recognition.enrolment import EnrolConfig
from unseen.audit.recognition.manifest import read_manifest
from unseen.audit.report import write_csv_table
from unseen.audit.scale import ScaleConfig
from unseen.audit.verification.config import OperatingPoint, VerificationConfig
from unseen.audit.verification.images import ImagesConfig, audit_images

pytestmark = pytest.mark.slow


def test_streamed_audit_of_real_templates_equals_the_table(utkface_dir, tmp_path):
    labels = pd.read_csv(utkface_dir / "labels.csv")
    chosen = labels.groupby(["race", "gender"], sort=True).head(30)
    manifest = read_manifest(write_csv_table(tmp_path / "manifest.csv", chosen.to_dict("records")),
                             path_column="image", subject_column=None, groups=("race", "gender"),
                             one_image_per_subject=True, images=utkface_dir / "images")
    config = VerificationConfig(operating_points=(OperatingPoint(target_fmr=1e-3),), extra_targets=(1e-2, 1e-4),
                                n_bootstrap=200)
    audits = {}
    for scoring in ("exact", "streaming"):
        images = ImagesConfig(enrol=EnrolConfig(faces="whole-image"), templates=tmp_path / "templates.npz",
                              scoring=scoring, scale=ScaleConfig(memory_mib=8, fine_bins=1 << 16))
        audits[scoring] = audit_images(manifest, models=["facenet"], config=config, images=images,
                                       attributes=["race", "gender", "race x gender"]).audit
    listed, streamed = audits["exact"], audits["streaming"]
    assert listed.n_pairs == 240 * 239 // 2 and listed.n_mated == 0
    assert_same_audit(listed, streamed)
    assert "of them (distance up to" in streamed.notes[-1]          # the upper tail only was kept
    point = streamed.result(model="facenet", attribute="race x gender").operating_points[0]
    assert np.isfinite(point.threshold) and point.global_fmr <= 1e-3
