"""Which image pairs are compared, and the comparisons built from them."""

import numpy as np
import pytest

from tests.audit.fakes import FakeDetector, FakeEmbedder
from unseen.audit.recognition.comparisons import Comparisons, ScoreScale
from unseen.audit.recognition.enrolment import enrol_images
from unseen.audit.recognition.manifest import read_manifest
from unseen.audit.recognition.pairs import comparisons_from_images, plan_pairs


def test_comparisons_from_images_match_the_general_builder(manifest_path):
    manifest = read_manifest(manifest_path, groups=("group", "tone"))
    detector, embedder = FakeDetector(), FakeEmbedder()
    enrolments = enrol_images(manifest.paths, embedders={"fake": embedder}, detector=detector)
    fast = comparisons_from_images(manifest, enrolments, [embedder])
    enrolled = np.flatnonzero(~enrolments[0].failed)
    plan = plan_pairs(manifest.subjects[enrolled], rng=np.random.default_rng(0))   # all pairs: no sampling
    a, b = enrolled[plan.a], enrolled[plan.b]
    row = {image: k for k, image in enumerate(enrolments[0].image_index)}
    distance = np.linalg.norm(enrolments[0].templates[[row[x] for x in a]] -
                              enrolments[0].templates[[row[x] for x in b]], axis=1)
    general = Comparisons.build(scores=distance, mated=manifest.subjects[a] == manifest.subjects[b],
                                labels_a={"group": manifest.labels[a, 0], "tone": manifest.labels[a, 1]},
                                labels_b={"group": manifest.labels[b, 0], "tone": manifest.labels[b, 1]},
                                subjects_a=manifest.subjects[a], subjects_b=manifest.subjects[b], models=["fake"],
                                scales=["distance"])
    assert fast.score("fake") == pytest.approx(general.score("fake"), abs=1e-5)
    assert np.array_equal(fast.mated, general.mated) and fast.n_mated == 34
    assert fast.group_names == general.group_names and fast.subject_names == general.subject_names
    for name in ("labels_a", "labels_b", "subject_a", "subject_b"):
        assert np.array_equal(getattr(fast, name), getattr(general, name)), name
    assert fast.scales == (ScoreScale.DISTANCE,)


def test_plan_pairs_samples_non_mated_when_capped():
    subjects = np.repeat(np.arange(50), 2)
    plan = plan_pairs(subjects, max_nonmated=300, rng=np.random.default_rng(1))
    assert plan.sampled and plan.mated.sum() == 50 and (~plan.mated).sum() == 300
    assert np.all(subjects[plan.a[~plan.mated]] != subjects[plan.b[~plan.mated]])
    assert len({(a, b) for a, b in zip(plan.a, plan.b)}) == len(plan.a)
    full = plan_pairs(np.arange(5), rng=np.random.default_rng(1))
    assert not full.sampled and full.mated.sum() == 0 and len(full.a) == 10
