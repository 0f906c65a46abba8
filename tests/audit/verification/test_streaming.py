"""The streamed audit of every pair gives the listed table's figures, within memory."""

from pathlib import Path

import numpy as np
import pytest

from tests.audit.fakes import fakes
from tests.audit.verification.same_audit import assert_same_audit
from unseen.audit.recognition.enrolment import Enrolment
from unseen.audit.recognition.manifest import Manifest, read_manifest
from unseen.audit.recognition.pairs import comparisons_from_images
from unseen.audit.scale import ScaleConfig
from unseen.audit.verification.audit import audit_verification
from unseen.audit.verification.config import OperatingPoint, VerificationConfig
from unseen.audit.verification.images import ImagesConfig, all_pairs, audit_images
from unseen.audit.verification.streaming import audit_all_pairs, subject_strata
from unseen.errors import ConfigError
from unseen.faces.embedders.base import Metric, TemplateScoring

ATTRIBUTES = ["race", "gender", "race x gender"]


class Scorer(TemplateScoring):
    def __init__(self, metric, dimension):
        self.metric, self.dimension = metric, dimension


def _images(n=320, d=12, seed=3):
    """People with one to three photos, three races and two genders (some missing), one
    person labelled differently in two photos; templates that cluster by person."""
    rng = np.random.default_rng(seed)
    subjects = np.repeat(np.arange(n), rng.integers(1, 4, n))[:n]
    race = rng.choice(["A", "B", "C"], n)
    gender = rng.choice(["F", "M", ""], n, p=[0.47, 0.47, 0.06])
    race[np.flatnonzero(subjects == subjects[5])] = "A"
    race[5] = "B"
    manifest = Manifest(paths=tuple(Path(f"p{i}.png") for i in range(n)), subjects=subjects.astype(str).astype(object),
                        attributes=("race", "gender"), labels=np.column_stack([race, gender]).astype(object))
    people = rng.standard_normal((n, d))
    templates = (people[subjects] + 0.7 * rng.standard_normal((n, d)) + 0.4 * (race == "B")[:, None]).astype(
        np.float32)
    enrolments, scorers = [], []
    for metric in (Metric.COSINE, Metric.EUCLIDEAN):
        enrolments.append(Enrolment(model=metric.value, templates=templates, image_index=np.arange(n),
                                    failed=np.zeros(n, bool), similarity_threshold=None, customary_threshold=None,
                                    metric=metric))
        scorers.append(Scorer(metric, d))
    return manifest, enrolments, scorers


CONFIG = VerificationConfig(operating_points=(OperatingPoint(target_fmr=1e-3),
                                              OperatingPoint(policy="fixed", threshold=0.3, model="cosine"),
                                              OperatingPoint(policy="per-group", target_fmr=1e-2)),
                            extra_targets=(1e-2, 1e-4), n_bootstrap=60)


def test_streamed_audit_equals_the_listed_table():
    manifest, enrolments, scorers = _images()
    listed = audit_verification(comparisons_from_images(manifest, enrolments, scorers), config=CONFIG,
                                attributes=ATTRIBUTES)
    streamed = audit_all_pairs(all_pairs(manifest, enrolments, scorers), config=CONFIG,
                               scale=ScaleConfig(memory_mib=8, fine_bins=1 << 12), attributes=ATTRIBUTES)
    assert_same_audit(listed, streamed)
    assert all("kept with exact scores" in n and "of them (" in n for n in streamed.notes[1:])   # the tail only
    for a, b in zip(listed.results, streamed.results):
        assert np.allclose(a.scores.auc, b.scores.auc, atol=1e-3)
        assert np.array_equal(a.scores.mated_histogram.sum(axis=1), b.scores.mated_histogram.sum(axis=1))
        assert np.array_equal(a.scores.nonmated_histogram.sum(axis=1), b.scores.nonmated_histogram.sum(axis=1))
        for det_a, det_b in zip(a.scores.det, b.scores.det):    # DET points within one bin of the sorted scores'
            assert np.interp(det_b.thresholds, det_a.thresholds, det_a.fmr) == pytest.approx(det_b.fmr, abs=0.02)
    assert any("kept with exact scores" in note for note in streamed.notes)


def test_memory_too_small_for_a_threshold_skips_that_point_and_says_so():
    manifest, enrolments, scorers = _images(n=500, d=8, seed=1)
    config = VerificationConfig(operating_points=(OperatingPoint(target_fmr=1e-3),
                                                  OperatingPoint(policy="fixed", threshold=-0.5, model="cosine")),
                                extra_targets=(), n_bootstrap=0)
    streamed = audit_all_pairs(all_pairs(manifest, enrolments[:1], scorers[:1]), config=config,
                               scale=ScaleConfig(memory_mib=8, fine_bins=1 << 12), attributes=["race"])
    (item,) = streamed.results
    assert [p.point.name for p in item.operating_points] == ["FMR 0.001"]
    assert any("fixed -0.5" in s and "raise --memory" in s for s in streamed.skipped_targets)


def test_policies_that_need_every_score_are_refused():
    manifest, enrolments, scorers = _images(n=40)
    pairs = all_pairs(manifest, enrolments, scorers)
    with pytest.raises(ConfigError, match="eer: needs every score"):
        audit_all_pairs(pairs, config=VerificationConfig(operating_points=(OperatingPoint(policy="eer"),)))
    with pytest.raises(ConfigError, match="bootstrap-unit pair"):
        audit_all_pairs(pairs, config=VerificationConfig(bootstrap_unit="pair", n_bootstrap=10))


def test_subject_strata_follow_the_tables_rule():
    from unseen.audit.verification.weights import _subject_strata

    manifest, enrolments, scorers = _images(n=60)
    comparisons = comparisons_from_images(manifest, enrolments, scorers)
    pairs = all_pairs(manifest, enrolments, scorers)
    for attribute in ATTRIBUTES:
        _, codes = pairs.codes(attribute)
        expected = _subject_strata(comparisons, comparisons.grouping(attribute))
        assert np.array_equal(subject_strata(pairs.subjects, codes, len(pairs.subject_names)), expected)


def test_images_mode_streams_when_asked_and_gives_the_same_audit(manifest_path):
    manifest = read_manifest(manifest_path, groups=("group", "tone"))
    config = VerificationConfig(operating_points=(OperatingPoint(target_fmr=0.05),), extra_targets=(), n_bootstrap=30)
    results = {}
    for scoring in ("exact", "streaming", "auto"):
        _, _, builders = fakes()
        results[scoring] = audit_images(manifest, models=["fake"], config=config, attributes=["group", "group x tone"],
                                        images=ImagesConfig(scoring=scoring, scale=ScaleConfig(memory_mib=8)),
                                        **builders)
    assert_same_audit(results["exact"].audit, results["streaming"].audit)
    assert not any("scored in blocks" in n for n in results["auto"].audit.notes)   # small: listed
    assert any("scored in blocks" in n for n in results["streaming"].audit.notes)
    with pytest.raises(ConfigError, match="--scoring"):
        ImagesConfig(scoring="fast")
