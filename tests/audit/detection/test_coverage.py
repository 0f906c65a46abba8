"""Coverage of annotated faces by a redactor's covered boxes or ellipses."""

from __future__ import annotations

import numpy as np
import pytest

from unseen.audit.detection.box_files import PackBoxes
from unseen.audit.detection.coverage import (
    covered_fractions, covered_mask, image_coverage, near_faces_mask, pack_coverage,
)
from unseen.audit.detection.pack import LabelledFaces
from unseen.errors import ConfigError
from unseen.faces.types import Detections
from unseen.redact.cover import CoverConfig, cover_mask, drawn_regions


def test_the_covered_area_is_the_raster_redaction_draws():
    mask = covered_mask(np.array([[1, 1, 3, 4], [8.4, 0, 20, 2.2]]), width=10, height=5)
    expected = np.zeros((5, 10), bool)
    expected[1:4, 1:3] = True
    expected[0:3, 8:10] = True  # every pixel a box touches (8.4 -> from pixel 8, 2.2 -> to row 2), clipped at 10
    assert np.array_equal(mask, expected)
    assert not covered_mask(np.zeros((0, 4)), width=4, height=4).any()
    faces = Detections(xyxy=[[30, 20, 52.5, 47.3], [0, 60, 9.5, 75]], score=[0.9, 0.8])
    for shape in ("box", "ellipse"):
        config = CoverConfig(shape=shape, block=1)  # no block grid: the drawn regions are the whole cover
        regions = drawn_regions(faces, width=100, height=90, config=config)
        assert np.array_equal(covered_mask(regions.xyxy, width=100, height=90, shape=shape),
                              cover_mask(faces, width=100, height=90, config=config))


def test_ellipse_is_inscribed_in_its_box():
    mask = covered_mask(np.array([[0, 0, 10, 10]]), width=10, height=10, shape="ellipse")
    assert mask[5, 5] and mask[0, 5] and mask[5, 0]
    assert not mask[0, 0] and not mask[9, 9]
    # OpenCV fills the boundary pixels too: a little more than pi/4 of a small box, pi/4 of a large one
    assert np.pi / 4 < mask.sum() / 100 < 0.84
    large = covered_mask(np.array([[0, 0, 400, 400]]), width=400, height=400, shape="ellipse")
    assert large.sum() / 400 ** 2 == pytest.approx(np.pi / 4, abs=0.005)


def test_face_fraction_counts_pixels_under_cover():
    mask = covered_mask(np.array([[0, 0, 8, 10]]), width=20, height=20)
    fractions = covered_fractions(np.array([[0, 0, 10, 10], [10, 0, 20, 10], [0, 0, 0, 0], [18, 18, 30, 30]]), mask)
    assert fractions[0] == pytest.approx(0.8) and fractions[1] == 0.0
    assert np.isnan(fractions[2])  # no pixel
    assert fractions[3] == 0.0  # only its part inside the image counts


def test_near_faces_grow_by_half_the_larger_side():
    near = near_faces_mask(np.array([[10, 10, 14, 18]]), width=30, height=30)  # larger side 8 -> 4 px
    rows, cols = np.nonzero(near)
    assert (cols.min(), cols.max(), rows.min(), rows.max()) == (6, 17, 6, 21)


def test_image_coverage_shares():
    result = image_coverage(face_xyxy=np.array([[0, 0, 10, 10]]), cover_xyxy=np.array([[0, 0, 10, 10], [80, 80, 100, 100]]),
                            width=100, height=100)
    assert result.face_fraction.tolist() == [1.0]
    assert result.covered_share == pytest.approx((100 + 400) / 10000)
    assert result.covered_away_share == pytest.approx(400 / 10000)
    assert result.hidden().tolist() == [True]


def test_ellipse_hides_less_of_a_face_than_its_box():
    def hidden_share(size, shape):
        face = np.array([[0, 0, size, size]])
        return image_coverage(face_xyxy=face, cover_xyxy=face, width=2 * size, height=2 * size,
                              shape=shape).face_fraction[0]

    for size in (20, 64, 400):
        assert hidden_share(size, "box") == 1.0 and hidden_share(size, "ellipse") < 0.84
    assert hidden_share(400, "ellipse") < 0.8  # on a large face an ellipse in the face box alone does not hide it


def test_pack_coverage_by_image():
    faces = LabelledFaces(images=["a.jpg", "b.jpg"], image_index=[0, 0, 1], face_id=[0, 1, 0],
                          xywh=[[0, 0, 10, 10], [20, 0, 10, 10], [0, 0, 4, 4]])
    covers = PackBoxes.from_lists([(np.array([[0, 0, 10, 10], [20, 0, 5, 10]]), np.array([1.0, 1.0])), None])
    result = pack_coverage(faces, covers, image_sizes=np.array([[40, 10], [8, 8]]))
    assert result.face_fraction.tolist() == [1.0, 0.5, 0.0]
    assert result.hidden.tolist() == [True, False, False]
    assert result.covered_share.tolist() == [150 / 400, 0.0]
    assert result.mean_covered_share() == pytest.approx(150 / 800)
    with pytest.raises(ConfigError, match="image_sizes"):
        pack_coverage(faces, covers, image_sizes=np.array([[40, 10]]))


def test_unknown_shapes_are_refused():
    with pytest.raises(ConfigError, match="unknown value 'star'"):
        covered_mask(np.zeros((0, 4)), width=2, height=2, shape="star")
