"""Enrolment: one face per image, embedded once; interrupted runs keep what they embedded."""

import numpy as np
import pytest
from PIL import Image

from tests.audit.fakes import FakeDetector, FakeEmbedder
from unseen.audit.recognition.enrolment import EnrolConfig, enrol_images
from unseen.audit.recognition.manifest import read_manifest
from unseen.audit.recognition.templates import TemplateStore
from unseen.errors import ConfigError


def test_an_interrupted_enrolment_keeps_what_it_embedded(manifest_path, tmp_path):
    manifest = read_manifest(manifest_path, groups=("group",))
    store_path = tmp_path / "templates.npz"
    with pytest.raises(KeyboardInterrupt):
        enrol_images(manifest.paths, embedders={"fake": FakeEmbedder(fail_after=10)}, detector=FakeDetector(),
                     store=TemplateStore.open(store_path), checkpoint_every=4)
    resumed = FakeEmbedder()
    enrol_images(manifest.paths, embedders={"fake": resumed}, detector=FakeDetector(),
                 store=TemplateStore.open(store_path))
    assert resumed.calls == 35 - 10


def test_whole_image_faces_skip_the_detector_and_large_images_are_detected_small(tmp_path):
    path = tmp_path / "big.png"
    Image.fromarray(np.full((300, 200, 3), 90, np.uint8)).save(path)
    embedder = FakeEmbedder()
    enrol_images([path], embedders={"fake": embedder}, detector=None, config=EnrolConfig(faces="whole-image"))
    assert embedder.boxes[0].tolist() == [[0, 0, 200, 300]]
    detector, embedder = FakeDetector(), FakeEmbedder()
    enrol_images([path], embedders={"fake": embedder}, detector=detector, config=EnrolConfig(detection_side=150))
    assert detector.seen == [(150, 100)]
    assert embedder.boxes[0] == pytest.approx(np.array([[0, 0, 200, 300]]))  # box back in full-size pixels
    with pytest.raises(ConfigError, match="--faces"):
        EnrolConfig(faces="crop")


def test_progress_counts_images(manifest_path):
    from unseen.progress import Recorded

    manifest = read_manifest(manifest_path, groups=("group",))
    progress = Recorded()
    enrol_images(manifest.paths, embedders={"fake": FakeEmbedder()}, detector=FakeDetector(), progress=progress)
    assert (progress.stages, progress.unit, progress.total, progress.done) == (["enrolling"], "images", 36, 36)


def test_worker_processes_give_this_processs_templates_and_resume(manifest_path, tmp_path):
    from tests.audit.fakes import build_fake_detector, build_fake_embedder
    from unseen.audit.recognition.enrolment import ProcessEmbedding

    manifest = read_manifest(manifest_path, groups=("group",))
    here = enrol_images(manifest.paths, embedders={"fake": FakeEmbedder()}, detector=FakeDetector())
    store_path = tmp_path / "templates.npz"
    enrol_images(manifest.paths[:20], embedders={"fake": FakeEmbedder()}, detector=FakeDetector(),
                 store=TemplateStore.open(store_path))
    local = FakeEmbedder()
    with ProcessEmbedding(["fake"], EnrolConfig(), workers=2, build_embedder=build_fake_embedder,
                          build_detector=build_fake_detector) as embedding:
        there = enrol_images(manifest.paths, embedders={"fake": local}, detector=FakeDetector(),
                             store=TemplateStore.open(store_path), embedding=embedding)
    (a,), (b,) = here, there
    assert local.calls == 0 and b.reused == 20                   # the rest was embedded by the workers
    assert np.array_equal(a.templates, b.templates) and np.array_equal(a.failed, b.failed)
    with pytest.raises(ConfigError, match="--workers"):
        with ProcessEmbedding(["fake"], EnrolConfig(), workers=2, build_embedder=lambda name: FakeEmbedder(),
                              build_detector=build_fake_detector):
            pass
