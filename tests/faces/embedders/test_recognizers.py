"""The built-in recognizers on real photos of the same and of different people."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from unseen.audit.verification.metrics import roc_auc
from unseen.errors import ConfigError
from unseen.faces.detect import largest_face
from unseen.faces.embedders import Embedder, Metric, similarity_threshold
from unseen.faces.registry import build_detector, build_embedder
from unseen.faces.types import Detections
from unseen.media.image import load

RECOGNIZERS = ["dlib", "facenet"]
DETECTION_SIDE = 640  # faces here are large: detect on a copy this size, embed at full size


@pytest.fixture(scope="module")
def pairs(identities_dir: Path) -> pd.DataFrame:
    return pd.read_csv(identities_dir / "pairs.csv")


@pytest.fixture(scope="module")
def embedders() -> dict[str, Embedder]:
    return {name: build_embedder(name) for name in RECOGNIZERS}


@pytest.fixture(scope="module")
def templates(identities_dir, pairs, embedders) -> dict[str, dict[str, np.ndarray]]:
    """Each recognizer's template of the largest face of every photo in the pairs (computed once)."""
    detector = build_detector("centerface")
    found: dict[str, dict[str, np.ndarray]] = {name: {} for name in embedders}
    for image_name in sorted(set(pairs.image_a) | set(pairs.image_b)):
        image = load(identities_dir / "images" / image_name).rgb
        face = largest_face(image, detector, max_side=DETECTION_SIDE)
        assert len(face) == 1, f"no face found in {image_name}"
        for name, embedder in embedders.items():
            found[name][image_name] = embedder.embed(image, face)[0]
    return found


@pytest.mark.slow
@pytest.mark.parametrize("name", RECOGNIZERS)
def test_recognizers_separate_same_from_different_people(name, pairs, templates, embedders):
    embedder = embedders[name]
    a = np.stack([templates[name][image] for image in pairs.image_a])
    b = np.stack([templates[name][image] for image in pairs.image_b])
    scores = embedder.pair_similarity(a, b)
    same = pairs.same_person.to_numpy() == 1
    auc = roc_auc(mated=scores[same], nonmated=scores[~same])
    assert auc >= 0.99, f"{name}: ROC AUC {auc:.4f} on {len(pairs)} pairs"
    # The customary cut-off, put on the similarity scale, splits these clear photos well too.
    threshold = similarity_threshold(embedder)
    accuracy = np.mean((scores >= threshold) == same)
    assert accuracy >= 0.9, f"{name}: accuracy {accuracy:.3f} at the customary threshold {embedder.customary_threshold}"


@pytest.mark.parametrize("name", RECOGNIZERS)
def test_recognizers_follow_the_protocol(name, embedders):
    embedder = embedders[name]
    assert isinstance(embedder, Embedder)
    assert embedder.metric == Metric.EUCLIDEAN
    assert similarity_threshold(embedder) == -embedder.customary_threshold
    assert embedder.dimension == {"dlib": 128, "facenet": 512}[name]


@pytest.mark.parametrize("name", RECOGNIZERS)
def test_no_faces_give_a_typed_empty_array(name, embedders):
    templates = embedders[name].embed(np.zeros((40, 60, 3), np.uint8), Detections.empty())
    assert templates.shape == (0, embedders[name].dimension)
    assert templates.dtype == np.float32


@pytest.fixture(scope="module")
def one_face(identities_dir, pairs) -> tuple[str, np.ndarray, Detections]:
    name = pairs.image_a.iloc[0]
    image = load(identities_dir / "images" / name).rgb
    return name, image, largest_face(image, build_detector("centerface"), max_side=DETECTION_SIDE)


def _closer_to_self_than_to_others(name, template, image_name, pairs, templates, embedders):
    embedder = embedders[name]
    strangers = pairs[(pairs.image_a == image_name) & (pairs.same_person == 0)].image_b
    assert len(strangers) > 0
    own = embedder.pair_similarity(template[None], templates[name][image_name][None])[0]
    others = embedder.similarity(template[None], np.stack([templates[name][s] for s in strangers]))[0]
    assert own >= similarity_threshold(embedder), f"{name}: {own:.3f} below the customary threshold"
    assert own > others.max()


@pytest.mark.parametrize("name", RECOGNIZERS)
def test_a_grayscale_photo_still_matches_its_colour_original(name, one_face, pairs, templates, embedders):
    image_name, image, face = one_face
    gray = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    template = embedders[name].embed(gray, face)[0]
    _closer_to_self_than_to_others(name, template, image_name, pairs, templates, embedders)


@pytest.mark.parametrize("name", RECOGNIZERS)
def test_a_face_cut_by_the_image_border_still_embeds(name, one_face, pairs, templates, embedders):
    image_name, image, face = one_face
    x1, y1, x2, y2 = face.xyxy[0]
    left = int(x1 + 0.15 * (x2 - x1))  # the image now starts inside the face
    cut = np.ascontiguousarray(image[:, left:])
    shifted = face.shifted(-left, 0)
    assert shifted.xyxy[0, 0] < 0
    template = embedders[name].embed(cut, shifted)
    assert template.shape == (1, embedders[name].dimension)
    assert np.all(np.isfinite(template))
    _closer_to_self_than_to_others(name, template[0], image_name, pairs, templates, embedders)


@pytest.mark.parametrize("name", RECOGNIZERS)
def test_a_face_filling_a_tiny_image_embeds(name, embedders):
    image = np.full((24, 20, 3), 128, np.uint8)
    template = embedders[name].embed(image, Detections(xyxy=[[0, 0, 20, 24]], score=[1.0]))
    assert template.shape == (1, embedders[name].dimension)
    assert np.all(np.isfinite(template))


def test_faces_without_landmarks_are_aligned_from_their_box(one_face, pairs, templates, embedders):
    image_name, image, face = one_face
    boxes_only = Detections(xyxy=face.xyxy, score=face.score)
    assert not boxes_only.has_landmarks.any()
    template = embedders["facenet"].embed(image, boxes_only)[0]
    _closer_to_self_than_to_others("facenet", template, image_name, pairs, templates, embedders)


@pytest.mark.parametrize("name", RECOGNIZERS)
@pytest.mark.parametrize(
    ("image", "faces", "message"),
    [
        ("photo.jpg", Detections.empty(), "expected a numpy array"),
        (np.zeros((10, 10), np.uint8), Detections.empty(), "expected an RGB array"),
        (np.zeros((10, 10, 3), np.float32), Detections.empty(), "expected dtype uint8"),
        (np.zeros((10, 10, 3), np.uint8), [[0, 0, 5, 5]], "expected unseen.faces.Detections"),
        (np.zeros((10, 10, 3), np.uint8), Detections(xyxy=[[2, 2, 2, 8]], score=[1.0]), "smaller than one pixel"),
    ],
)
def test_bad_inputs_raise_clear_errors(name, image, faces, message, embedders):
    with pytest.raises(ConfigError, match=message):
        embedders[name].embed(image, faces)


def test_shape_predictor_landmarks_land_near_the_detectors(one_face):
    from unseen.faces.embedders.align import ShapePredictor

    _, image, face = one_face
    derived = ShapePredictor().landmarks(image, face.xyxy)[0]
    truth = face.landmarks[0]
    error = np.linalg.norm(derived - truth, axis=1).mean() / np.linalg.norm(truth[0] - truth[1])
    assert error < 0.2, f"mean landmark error {error:.3f} of the eye distance"
