"""Verification on real faces: it catches a deliberately weak cover and passes ours."""

import cv2
import numpy as np
import pytest

from unseen.faces.detectors.ensemble import Ensemble
from unseen.faces.types import Detections
from unseen.media.image import decode, encode, load
from unseen.redact.cover import CoverConfig, cover
from unseen.redact.photo import REVIEW_BELOW, RedactConfig
from unseen.redact.record import VerificationRecord
from unseen.faces.registry import build_detector
from unseen.faces.boxes import box_iou
from unseen.redact.verify import Recognizers, Reuse, VerifyConfig, context_windows, verify_redaction

IMAGES = 4
MAX_PIXELS = 1_000_000  # keeps the test quick; the pipeline is the same at any size


@pytest.fixture(scope="module")
def portraits(identities_dir):
    """A few identities photos, each with the faces our default detector covers."""
    detector = Ensemble()
    chosen = []
    for path in sorted((identities_dir / "images").glob("*.jpg"))[::5]:
        image = load(path)
        if image.width * image.height > MAX_PIXELS:
            continue
        faces = detector.detect(image.rgb, threshold=RedactConfig().threshold)
        if len(faces) and faces.score.max() >= REVIEW_BELOW:
            chosen.append((image.rgb, faces))
        if len(chosen) == IMAGES:
            break
    assert len(chosen) == IMAGES
    return detector, chosen


@pytest.fixture(scope="module")
def recognizers():
    models = Recognizers(("dlib", "facenet"))
    if models.unavailable:
        pytest.skip(f"recognizers not installed: {models.unavailable}")
    return models


def _light_blur(rgb: np.ndarray, faces: Detections) -> np.ndarray:
    """What a careless tool does: a small Gaussian blur over the tight face box."""
    out = rgb.copy()
    for x1, y1, x2, y2 in faces.xyxy.astype(int):
        x1, y1 = max(x1, 0), max(y1, 0)
        out[y1:y2, x1:x2] = cv2.GaussianBlur(out[y1:y2, x1:x2], (0, 0), sigmaX=2)
    return out


def _published(rgb: np.ndarray) -> np.ndarray:
    return decode(encode(rgb, file_format="jpeg"))[0]


def test_a_light_blur_is_caught(portraits, recognizers):
    detector, chosen = portraits
    caught = []
    for rgb, faces in chosen:
        result = verify_redaction(original=rgb, redacted=_published(_light_blur(rgb, faces)), faces=faces,
                                  detector=detector, config=VerifyConfig(), recognizers=recognizers)
        caught.append(not result.passed)
        assert len(result.redetected) == len(faces)  # the detector still finds every face
        with np.errstate(invalid="ignore"):
            assert (result.similarity >= result.match_threshold).all()  # and both recognizers match it
    assert all(caught)


@pytest.mark.parametrize("style", ["solid", "mosaic", "blur"])
def test_our_styles_pass(portraits, recognizers, style):
    detector, chosen = portraits
    config = RedactConfig()
    for index, (rgb, faces) in enumerate(chosen):
        covered = cover(rgb, faces, config=CoverConfig(style=style), rng=np.random.default_rng(index))
        result = verify_redaction(original=rgb, redacted=_published(covered.rgb), faces=faces, detector=detector,
                                  config=config.verification, recognizers=recognizers)
        assert result.passed, (style, index, VerificationRecord.of(result).to_json())
        assert result.compared.all()


def test_after_a_redaction_only_the_covered_regions_are_searched_again_and_solid_covers_are_checked_by_colour(
        portraits):
    detector, chosen = portraits
    rgb, faces = chosen[0]
    covered = cover(rgb, faces, config=CoverConfig(), rng=np.random.default_rng(0))
    reuse = Reuse(candidates=faces, fill_colour=CoverConfig().colour)
    result = verify_redaction(original=rgb, redacted=_published(covered.rgb), faces=faces, detector=detector,
                              config=VerifyConfig(), reuse=reuse, independent=build_detector("mtcnn"))
    assert result.passed and result.reused and not result.unfilled.any()
    assert result.embedders == ()  # nothing of a face is left under a solid fill for a recognizer to match
    assert result.statement().startswith("no face found (faces re-detected by ensemble at 0.15 and mtcnn around the")
    tampered = covered.rgb.copy()
    x1, y1, x2, y2 = faces.xyxy[0].astype(int)
    tampered[y1:(y1 + y2) // 2, x1:x2] = rgb[y1:(y1 + y2) // 2, x1:x2]  # half the face put back
    broken = verify_redaction(original=rgb, redacted=_published(tampered), faces=faces, detector=detector,
                              config=VerifyConfig(), reuse=reuse)
    assert not broken.passed and broken.unfilled[0]


def test_the_independent_detector_finds_a_face_the_covering_detector_missed(portraits):
    detector, chosen = portraits
    rgb, faces = chosen[0]
    blind = Reuse(candidates=Detections.empty(), fill_colour=CoverConfig().colour)  # as if nothing had been seen
    result = verify_redaction(original=rgb, redacted=_published(rgb), faces=Detections.empty(), detector=detector,
                              config=VerifyConfig(), reuse=blind, independent=build_detector("mtcnn"))
    assert not result.passed and len(result.exposed) >= 1
    assert set(result.exposed.source) == {"mtcnn"}
    assert box_iou(result.exposed.xyxy, faces.xyxy).max() > 0.3


def test_context_windows_hold_each_face_with_its_surroundings_and_merge_when_they_touch():
    faces = Detections(xyxy=[[100, 100, 120, 130], [130, 100, 150, 130], [400, 400, 440, 440]], score=[1, 1, 1])
    windows = context_windows(faces, width=500, height=460, context=1.0)
    assert windows == [(68, 68, 182, 162), (360, 360, 480, 460)]
