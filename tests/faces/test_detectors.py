"""Detectors on real crowd photos (WIDER FACE) and on edge-case synthetic arrays."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from unseen.errors import ConfigError
from unseen.faces.detectors.base import Detector
from unseen.faces.detectors.centerface import STRIDE, CenterFace, CenterFaceConfig, balanced_spans
from unseen.faces.registry import build_detector
from unseen.faces.boxes import box_iou
from unseen.media.image import load

DETECTORS = ["centerface", "mtcnn"]


@pytest.fixture(scope="module", params=DETECTORS)
def detector(request) -> Detector:
    return build_detector(request.param)


def _large_faces_sample(wider_pack, n_images=12):
    faces = pd.read_csv(wider_pack / "faces.csv")
    faces = faces[(faces.invalid == 0) & (faces.h >= 40) & (faces.occlusion == 0)]
    images = sorted(faces.image.unique())[:: max(1, faces.image.nunique() // n_images)][:n_images]
    return faces[faces.image.isin(images)]


def test_detectors_follow_the_protocol(detector):
    assert isinstance(detector, Detector)
    assert 0 < detector.default_threshold < 1


def test_detectors_find_clear_large_faces_in_real_crowds(detector, wider_pack):
    sample = _large_faces_sample(wider_pack)
    found = []
    for image_name, truth in sample.groupby("image"):
        image = load(wider_pack / "images" / image_name)
        boxes = truth[["x", "y", "w", "h"]].to_numpy(float)
        boxes[:, 2:] += boxes[:, :2]
        detections = detector.detect(image.rgb)
        assert detections.xyxy.dtype == np.float32
        ious = box_iou(boxes, detections.xyxy) if len(detections) else np.zeros((len(boxes), 1))
        found.extend(ious.max(axis=1) >= 0.5)
    assert len(found) >= 20
    assert np.mean(found) >= 0.85, f"{detector.name} found only {np.mean(found):.0%} of clear faces >= 40 px"


@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 13, 3), (33, 65, 3), (200, 37, 3)])
def test_any_image_size_works_and_blank_images_have_no_faces(detector, shape):
    detections = detector.detect(np.zeros(shape, np.uint8))
    assert len(detections) == 0
    assert detections.xyxy.shape == (0, 4)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((10, 10), np.uint8), "expected an RGB array"),
        (np.zeros((10, 10, 3), np.float32), "expected dtype uint8"),
        ("photo.jpg", "expected a numpy array"),
    ],
)
def test_bad_images_raise_clear_errors(detector, image, message):
    with pytest.raises(ConfigError, match=message):
        detector.detect(image)


def test_threshold_out_of_range_is_refused(detector):
    with pytest.raises(ConfigError, match="between 0 and 1"):
        detector.detect(np.zeros((32, 32, 3), np.uint8), threshold=1.5)


def test_centerface_tiling_matches_one_pass_on_real_photo(wider_pack):
    sample = _large_faces_sample(wider_pack, n_images=3)
    image = load(wider_pack / "images" / sample.image.iloc[0]).rgb
    whole = CenterFace().detect(image)
    tiled = CenterFace(CenterFaceConfig(tile=384, tile_overlap=160, coarse_side=0)).detect(image)
    assert len(whole) > 0
    matched = box_iou(whole.xyxy, tiled.xyxy).max(axis=1) >= 0.7 if len(tiled) else np.zeros(len(whole), bool)
    assert matched.mean() >= 0.9


def test_centerface_finds_a_face_that_fills_a_large_photo():
    from unseen.examples import astronaut_photo
    import cv2

    image = cv2.resize(load(astronaut_photo()).rgb, (4096, 4096))
    detections = CenterFace().detect(image)
    assert len(detections) >= 1
    best = detections[int(np.argmax(detections.score))]
    assert best.height[0] > 700  # the whole face (about 1000 px), not a fragment


def test_centerface_config_is_validated():
    with pytest.raises(ConfigError, match="scales"):
        CenterFaceConfig(scales=())
    with pytest.raises(ConfigError, match="tile"):
        CenterFaceConfig(tile=100)


def test_largest_face_on_a_smaller_copy_is_given_in_pixels_of_the_photo():
    import cv2

    from unseen.examples import astronaut_photo
    from unseen.faces.detect import largest_face

    image = cv2.resize(load(astronaut_photo()).rgb, (1536, 1536))
    detector = CenterFace()
    full = largest_face(image, detector)
    reduced = largest_face(image, detector, max_side=384)
    assert len(full) == len(reduced) == 1
    assert full.height[0] > 200
    assert box_iou(full.xyxy, reduced.xyxy)[0, 0] > 0.8
    assert len(largest_face(np.zeros((64, 64, 3), np.uint8), detector)) == 0


@given(length=st.integers(1, 20_000), most=st.sampled_from([384, 1024, 2048]), overlap=st.sampled_from([0, 64, 160]))
def test_balanced_tiles_cover_the_side_with_the_overlap_and_no_more_tiles_than_needed(length, most, overlap):
    spans = balanced_spans(length, most, overlap)
    assert spans[0][0] == 0 and spans[-1][0] + spans[-1][1] == length
    assert all(size <= max(most + STRIDE, length) and size == spans[0][1] for _, size in spans)
    for (start, size), (following, _) in zip(spans, spans[1:]):
        assert start + size - following >= overlap
    assert len(spans) == (1 if length <= most else -(-(length - overlap) // (most - overlap)))


def test_mtcnn_finds_the_same_faces_after_handing_its_memory_back(wider_pack):
    sample = _large_faces_sample(wider_pack, n_images=2)
    image = load(wider_pack / "images" / sample.image.iloc[0]).rgb
    mtcnn = build_detector("mtcnn")
    before = mtcnn.detect(image)
    mtcnn.release()
    assert not mtcnn._cascades
    after = mtcnn.detect(image)
    assert len(before) > 0
    np.testing.assert_allclose(after.xyxy, before.xyxy)
    np.testing.assert_allclose(after.score, before.score)
