"""The images mode end to end with the built-in detector and recognizers, on real photos:
the identities set (61 photos of 13 people in its pairs list). A test of the pipeline; the
sample is far too small for a bias figure, and the report must say so."""

from __future__ import annotations

import json

import numpy as np
import pytest

from unseen.audit.recognition.enrolment import EnrolConfig
from unseen.audit.recognition.manifest import manifest_from_pairs, read_manifest
from unseen.audit.report import verification as report
from unseen.audit.report import write_csv_table
from unseen.audit.verification.config import OperatingPoint, VerificationConfig
from unseen.audit.verification.images import ImagesConfig, audit_images

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def identities_audit(identities_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("identities")
    derived = manifest_from_pairs(identities_dir / "pairs.csv", images=identities_dir / "images")
    manifest_path = write_csv_table(folder / "manifest.csv", derived.rows())
    manifest = read_manifest(manifest_path, groups=("group",), label_sources=(("group", "none: one group"),))
    config = VerificationConfig(operating_points=(OperatingPoint(target_fmr=1e-3),), extra_targets=(),
                                n_bootstrap=200)
    images = ImagesConfig(enrol=EnrolConfig(detection_side=640), templates=folder / "templates.npz")
    result = audit_images(manifest, models=["dlib", "facenet"], config=config, images=images)
    return derived, result, folder


def test_identities_manifest_comes_from_the_same_person_pairs(identities_audit):
    derived, result, _ = identities_audit
    assert len(derived.paths) == 61 and len(set(derived.subjects)) == 13
    assert {p.name for p in derived.unlisted} == {"couple.jpg", "selfie-many-people.jpg", "img11_reflection.jpg"}
    audit = result.audit
    assert audit.n_mated == 140 and audit.n_pairs - audit.n_mated == 1690   # every pair of the 61 photos


def test_identities_pipeline_separates_people_and_says_it_is_no_bias_figure(identities_audit):
    _, result, folder = identities_audit
    assert all(int(f.rates.events.sum()) == 0 for f in result.failures)   # clear portraits: every face found
    for model, customary in (("dlib", 0.6), ("facenet", 1.1)):
        item = result.audit.result(model=model)
        assert item.scores.auc[0] >= 0.999, f"{model}: ROC AUC {item.scores.auc[0]:.4f}"
        target, fixed = item.operating_points
        assert fixed.point.name == f"customary distance {customary:g}"
        assert fixed.threshold_input_scale == pytest.approx(customary)
        assert target.global_fmr <= 1e-3
        assert 1 - fixed.groups.accuracy[0] <= 0.05      # clear photos: the customary cut-off works too
        assert np.all(np.isfinite(target.groups.fnmr.ci[0]))  # subject-level intervals exist
        assert result.audit.bootstrap_unit.value == "subject"
    assert any("Far too small for any bias figure" in c for c in result.caveats)
    page = report.write_html(folder / "audit.html", result.audit, caveats=result.caveats,
                             enrolment=result.failures).read_text()
    assert "Far too small for any bias figure" in page and "no face / photos" in page
    data = json.loads(report.write_json(folder / "audit.json", result.audit, extra=result.report_extra()).read_text())
    assert [t["operating_point"] for t in data["models"]["facenet"]["thresholds"]] == [
        "FMR 0.001", "customary distance 1.1"]
    assert data["failure_to_enrol"]["dlib"]["group"]["all"] == {"images": 61, "failed": 0, "rate": 0.0}


def test_a_rerun_reuses_every_template(identities_audit, monkeypatch):
    _, first, folder = identities_audit
    manifest = read_manifest(folder / "manifest.csv", groups=("group",))

    class NoEmbedding:
        def __init__(self, real):
            self.real = real
            self.name, self.dimension, self.metric = real.name, real.dimension, real.metric
            self.customary_threshold = real.customary_threshold

        def embed(self, image, faces):
            raise AssertionError("a template was computed again")

        def pair_similarity(self, a, b):
            return self.real.pair_similarity(a, b)

    class NoDetection:
        name = "centerface"

        def detect(self, image, *, threshold=None):
            raise AssertionError("a face was searched for again")

    from unseen.faces import registry

    again = audit_images(manifest, models=["dlib", "facenet"],
                         config=VerificationConfig(extra_targets=(), n_bootstrap=0),
                         images=ImagesConfig(enrol=EnrolConfig(detection_side=640), templates=folder / "templates.npz"),
                         build_embedder=lambda name: NoEmbedding(registry.build_embedder(name)),
                         build_detector=lambda name: NoDetection())
    assert [e.reused for e in again.enrolments] == [61, 61]
    for before, after in zip(first.enrolments, again.enrolments):
        assert np.array_equal(before.templates, after.templates)


def test_streaming_the_pairs_gives_the_listed_tables_figures(identities_audit):
    """Real templates, mated and non-mated pairs: every figure of the streamed audit equals the table's."""
    from tests.audit.verification.same_audit import assert_same_audit

    _, listed, folder = identities_audit
    manifest = read_manifest(folder / "manifest.csv", groups=("group",), label_sources=(("group", "none: one group"),))
    config = VerificationConfig(operating_points=(OperatingPoint(target_fmr=1e-3),), extra_targets=(),
                                n_bootstrap=200)
    streamed = audit_images(manifest, models=["dlib", "facenet"], config=config,
                            images=ImagesConfig(enrol=EnrolConfig(detection_side=640), templates=folder / "templates.npz",
                                                scoring="streaming"))
    assert not any("scored in blocks" in n for n in listed.audit.notes)
    assert any("scored in blocks" in n for n in streamed.audit.notes)
    assert_same_audit(listed.audit, streamed.audit)
