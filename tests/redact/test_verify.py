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
from unseen.redact.verify import Recognizers, VerifyConfig, verify_redaction

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
