"""Five-point similarity alignment."""

import cv2
import numpy as np
import pytest

from unseen.errors import ConfigError
from unseen.faces.embedders.align import (
    ARCFACE_TEMPLATE, ShapePredictor, align, similarity_transform, template, warp)


def _similarity(angle_degrees, scale, shift):
    angle = np.deg2rad(angle_degrees)
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return np.hstack([rotation, np.array(shift, float)[:, None]])


@pytest.mark.parametrize(("angle", "scale", "shift"), [(0, 1, (0, 0)), (30, 2.5, (10, -4)), (-170, 0.1, (3, 300))])
def test_similarity_transform_recovers_a_known_similarity(angle, scale, shift):
    matrix = _similarity(angle, scale, shift)
    source = np.random.default_rng(1).uniform(0, 100, size=(5, 2))
    target = source @ matrix[:, :2].T + matrix[:, 2]
    np.testing.assert_allclose(similarity_transform(source, target), matrix, atol=1e-9)


def test_similarity_transform_never_mirrors():
    source = np.array([[0, 0], [1, 0], [0, 1]], float)
    mirrored = source * [-1, 1]
    matrix = similarity_transform(source, mirrored)
    assert np.linalg.det(matrix[:, :2]) > 0


@pytest.mark.parametrize(("source", "target"), [(np.zeros((5, 2)), ARCFACE_TEMPLATE), (np.ones((1, 2)), np.ones((1, 2))),
                                                (np.ones((5, 3)), np.ones((5, 3)))])
def test_similarity_transform_refuses_degenerate_points(source, target):
    with pytest.raises(ConfigError, match="similarity_transform"):
        similarity_transform(source, target)


def test_template_scales_with_size_padding_and_shift():
    np.testing.assert_allclose(template(), ARCFACE_TEMPLATE)
    np.testing.assert_allclose(template(224), 2 * ARCFACE_TEMPLATE)
    padded = template(112, padding=0.5)
    np.testing.assert_allclose(padded, (ARCFACE_TEMPLATE + 56) / 2)
    np.testing.assert_allclose(template(160, shift_up=0.1), ARCFACE_TEMPLATE * 160 / 112 - [0, 16])


@pytest.mark.parametrize(("options", "message"), [({"size": 4}, "size"), ({"padding": -0.1}, "padding"),
                                                  ({"shift_up": 0.5}, "shift_up")])
def test_template_options_are_validated(options, message):
    with pytest.raises(ConfigError, match=message):
        template(**options)


def _dots(points, shape, radius=2):
    image = np.zeros(shape, np.uint8)
    for x, y in points:
        cv2.circle(image, (int(round(x * 16)), int(round(y * 16))), radius * 16, (255, 255, 255), -1,
                   lineType=cv2.LINE_AA, shift=4)  # sub-pixel centres
    return image


def _centroid(crop, point, window=6):
    x, y = int(round(point[0])), int(round(point[1]))
    patch = crop[y - window:y + window + 1, x - window:x + window + 1, 0].astype(float)
    ys, xs = np.mgrid[y - window:y + window + 1, x - window:x + window + 1]
    return np.array([(xs * patch).sum(), (ys * patch).sum()]) / patch.sum()


@pytest.mark.parametrize(("angle", "scale", "size"), [(25, 3.0, 112), (-40, 12.0, 160), (0, 0.8, 112)])
def test_align_puts_landmarks_on_the_template(angle, scale, size):
    """Dots drawn at a tilted, scaled face's landmarks land on the template's points,
    also for faces many times larger than the crop (the area-averaged path)."""
    matrix = _similarity(angle, scale, (0, 0))
    landmarks = (ARCFACE_TEMPLATE - 56) @ matrix[:, :2].T
    landmarks += 40 - landmarks.min(axis=0)
    height, width = (landmarks.max(axis=0) + 40).astype(int)[::-1]
    image = _dots(landmarks, (height, width, 3), radius=max(2, int(scale * 1.5)))
    crop = align(image, landmarks[None], size=size)
    assert crop.shape == (1, size, size, 3) and crop.dtype == np.uint8
    for found, expected in zip([_centroid(crop[0], p) for p in template(size)], template(size)):
        np.testing.assert_allclose(found, expected, atol=0.25)


def test_shrinking_first_changes_geometry_by_under_a_pixel():
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.integers(0, 255, (1200, 1200, 3), dtype=np.uint8), (0, 0), 25)
    matrix = np.array([[0.1, 0, -20.0], [0, 0.1, -10.0]])
    direct = cv2.warpAffine(image, matrix, (80, 80), flags=cv2.INTER_LINEAR)
    shrunk_first = warp(image, matrix, 80)
    assert np.abs(direct.astype(int) - shrunk_first.astype(int)).mean() < 2.0


def test_a_crop_wholly_outside_the_image_is_black():
    crop = warp(np.full((50, 50, 3), 200, np.uint8), np.array([[0.1, 0, 500.0], [0, 0.1, 500.0]]), 32)
    assert crop.shape == (32, 32, 3) and not crop.any()


def test_align_refuses_unknown_landmarks():
    with pytest.raises(ConfigError, match="NaN"):
        align(np.zeros((20, 20, 3), np.uint8), np.full((1, 5, 2), np.nan))
    with pytest.raises(ConfigError, match=r"\(n, 5, 2\)"):
        align(np.zeros((20, 20, 3), np.uint8), np.zeros((5, 2)))


def test_shape_predictor_gives_no_landmarks_for_no_boxes():
    predictor = ShapePredictor()
    assert predictor.landmarks(np.zeros((20, 20, 3), np.uint8), np.zeros((0, 4))).shape == (0, 5, 2)
