"""The templates file: reused across runs, extended, refused when made another way."""

import numpy as np
import pytest
from PIL import Image

from tests.audit.fakes import FakeDetector, FakeEmbedder
from unseen.audit.recognition.enrolment import EnrolConfig, enrol_images
from unseen.audit.recognition.manifest import read_manifest
from unseen.audit.recognition.templates import TemplateStore
from unseen.errors import ConfigError, InputFileError


def test_templates_file_is_reused_extended_and_guarded(manifest_path, tmp_path):
    manifest = read_manifest(manifest_path, groups=("group",))
    store_path = tmp_path / "kept" / "templates.npz"
    store_path.parent.mkdir()
    first = FakeEmbedder()
    enrolled = enrol_images(manifest.paths, embedders={"fake": first}, detector=FakeDetector(),
                            store=TemplateStore.open(store_path))
    assert first.calls == 35 and store_path.is_file()                  # the black image never reaches the embedder
    again = FakeEmbedder()
    reused = enrol_images(manifest.paths[::-1], embedders={"fake": again}, detector=FakeDetector(),
                          store=TemplateStore.open(store_path))
    assert again.calls == 0 and reused[0].reused == 36
    assert reused[0].failed[::-1].tolist() == enrolled[0].failed.tolist()    # failures are remembered too
    assert np.allclose(reused[0].templates[::-1], enrolled[0].templates)
    new_image = tmp_path / "new.png"
    Image.fromarray(np.full((8, 8, 3), 77, np.uint8)).save(new_image)
    third = FakeEmbedder()
    enrol_images((*manifest.paths, new_image), embedders={"fake": third}, detector=FakeDetector(),
                 store=TemplateStore.open(store_path))
    assert third.calls == 1                                             # only the new image
    with pytest.raises(ConfigError, match="faces='detect'.*faces='whole-image'"):
        enrol_images(manifest.paths, embedders={"fake": FakeEmbedder()}, detector=None,
                     config=EnrolConfig(faces="whole-image"), store=TemplateStore.open(store_path))
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip")
    with pytest.raises(InputFileError, match="templates file"):
        TemplateStore.open(broken)


def test_settings_are_a_typed_block_that_reads_back_as_written():
    from unseen.audit.recognition.templates import TemplateSettings

    detected = EnrolConfig(detection_side=640).settings("dlib")
    whole = EnrolConfig(faces="whole-image").settings("dlib")
    assert TemplateSettings.from_record(detected.to_record()) == detected
    assert list(detected.to_record()) == ["model", "faces", "detector", "detection_side", "detection_threshold",
                                          "unseen_version"]
    assert list(whole.to_record()) == ["model", "faces", "unseen_version"]   # no detector fields without a detector
    assert detected.differences(whole) == [("detection_side", 640, None), ("detector", "centerface", None),
                                           ("faces", "detect", "whole-image")]
    with pytest.raises(ValueError, match="model"):
        TemplateSettings.from_record({"faces": "detect"})
