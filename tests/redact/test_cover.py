"""Covering: no face pixel survives, the input is never changed, styles scale with the face."""

import numpy as np
import pytest

from unseen.errors import ConfigError
from unseen.faces.types import Detections
from unseen.redact.cover import MIN_PADDING, CoverConfig, CoverShape, CoverStyle, cover, cover_mask


def _photo(height=200, width=300, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _faces(*boxes, score=0.9):
    return Detections(xyxy=np.asarray(boxes, np.float32), score=np.full(len(boxes), score, np.float32))


FACES_AT_EDGES = [
    (100, 60, 140, 110),  # inside
    (0, 0, 30, 40),  # top-left corner
    (270, 150, 300, 200),  # bottom-right corner
    (-10, 80, 20, 120),  # partly outside (a box a detector extends past the edge)
    (150, 190, 170, 215),
]


@pytest.mark.parametrize("shape", list(CoverShape))
@pytest.mark.parametrize("face", FACES_AT_EDGES)
def test_no_pixel_of_the_face_box_survives_a_solid_cover(shape, face):
    rgb = _photo()
    covered = cover(rgb, _faces(face), config=CoverConfig(shape=shape, colour=(1, 2, 3)))
    x1, y1, x2, y2 = (int(np.clip(v, 0, limit)) for v, limit in zip(face, (300, 200, 300, 200)))
    assert np.all(covered.rgb[y1:y2, x1:x2] == (1, 2, 3))
    assert covered.mask[y1:y2, x1:x2].all()


@pytest.mark.parametrize("shape", list(CoverShape))
def test_every_jpeg_block_the_face_touches_is_fully_covered(shape):
    face = (37, 45, 61, 77)  # edges off the 8 px grid
    mask = cover_mask(_faces(face), width=300, height=200, config=CoverConfig(shape=shape))
    assert mask[40:80, 32:64].all()  # blocks [40, 80) x [32, 64) hold the face


def test_the_default_padding_is_covered_on_every_side_of_a_box():
    mask = cover_mask(_faces((100, 60, 140, 100)), width=300, height=200, config=CoverConfig(shape="box"))
    assert mask[50:110, 90:150].all()
    assert not mask[:45].any() and not mask[:, :85].any()


def test_covering_leaves_the_input_alone_and_is_opaque_on_alpha():
    rgb = _photo()
    alpha = np.full(rgb.shape[:2], 10, np.uint8)
    before_rgb, before_alpha = rgb.copy(), alpha.copy()
    covered = cover(rgb, _faces((100, 60, 140, 110)), alpha=alpha)
    assert np.array_equal(rgb, before_rgb) and np.array_equal(alpha, before_alpha)
    assert np.all(covered.alpha[covered.mask] == 255)
    assert np.all(covered.alpha[~covered.mask] == 10)
    assert np.array_equal(covered.rgb[~covered.mask], rgb[~covered.mask])


def test_no_faces_means_an_identical_copy():
    rgb = _photo()
    covered = cover(rgb, Detections.empty())
    assert np.array_equal(covered.rgb, rgb) and covered.rgb is not rgb and not covered.mask.any()


@pytest.mark.parametrize("face_width", [24, 60, 180])
def test_mosaic_has_at_most_six_cells_across_any_face(face_width):
    x = np.arange(400)
    ramp = np.clip(40 + 170 * (x - 100) / face_width, 0, 255)  # rises 170 grey levels across the face
    rgb = np.repeat(np.repeat(ramp[None, :, None], 400, axis=0), 3, axis=2).astype(np.uint8)
    face = (100, 100, 100 + face_width, 100 + face_width)
    config = CoverConfig(style="mosaic", shape="box", noise=8)
    covered = cover(rgb, _faces(face), config=config, rng=np.random.default_rng(1))
    row = covered.rgb[100 + face_width // 2, 100:100 + face_width, 0].astype(int)
    steps = np.flatnonzero(np.diff(row) > 14)  # a cell edge raises the mean by ~170/6; noise alone rarely does
    assert 2 <= len(steps) <= config.mosaic_cells
    assert not np.array_equal(row, rgb[100 + face_width // 2, 100:100 + face_width, 0])


def test_mosaic_and_blur_need_a_generator_and_are_reproducible_with_a_seed():
    rgb = _photo()
    faces = _faces((100, 60, 140, 110))
    for style in ("mosaic", "blur"):
        with pytest.raises(ConfigError, match="rng"):
            cover(rgb, faces, config=CoverConfig(style=style))
        one = cover(rgb, faces, config=CoverConfig(style=style), rng=np.random.default_rng(5)).rgb
        two = cover(rgb, faces, config=CoverConfig(style=style), rng=np.random.default_rng(5)).rgb
        other = cover(rgb, faces, config=CoverConfig(style=style), rng=np.random.default_rng(6)).rgb
        assert np.array_equal(one, two) and not np.array_equal(one, other)


def test_blur_is_strong():
    rgb = _photo(seed=3)
    face = (100, 60, 160, 120)
    blurred = cover(rgb, _faces(face), config=CoverConfig(style="blur", noise=8), rng=np.random.default_rng(0)).rgb
    inner = blurred[70:110, 110:150].astype(float)
    # the original's pixel noise (std ~74) is gone; what remains is the added noise
    assert inner.std() < 20


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"padding": (0.25, 0.2, 0.25, 0.25)}, f"at least {MIN_PADDING:.0%}"),
        ({"padding": 0.1}, "at least"),
        ({"style": "pixelate"}, "unknown value 'pixelate'; choose one of: solid, mosaic, blur"),
        ({"shape": "circle"}, "choose one of: box, ellipse"),
        ({"style": "mosaic", "noise": 0}, "noise"),
        ({"mosaic_cells": 20}, "mosaic_cells"),
        ({"colour": (0, 0, 300)}, "colour"),
    ],
)
def test_config_is_validated(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        CoverConfig(**kwargs)


def test_defaults_are_solid_and_padded():
    config = CoverConfig()
    assert config.style is CoverStyle.SOLID
    assert min(config.padding) >= MIN_PADDING


@pytest.mark.parametrize("style", list(CoverStyle))
@pytest.mark.parametrize("shape", list(CoverShape))
def test_covered_pixels_are_the_fill_and_the_rest_the_photo(style, shape):
    photo = _photo()
    config = CoverConfig(style=style, shape=shape)
    faces = _faces(*FACES_AT_EDGES)
    covered = cover(photo, faces, config=config, rng=np.random.default_rng(3))
    mask = cover_mask(faces, width=300, height=200, config=config)
    np.testing.assert_array_equal(covered.mask, mask)
    np.testing.assert_array_equal(covered.rgb[~mask], photo[~mask])
    if style is CoverStyle.SOLID:
        assert (covered.rgb[mask] == np.asarray(config.colour, np.uint8)).all()
    else:
        assert (covered.rgb[mask] != photo[mask]).any(axis=1).mean() > 0.9
