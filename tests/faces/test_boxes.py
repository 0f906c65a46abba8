"""Box conversions, IoU, pixel ranges and the one cover raster, against brute force."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unseen.errors import ConfigError
from unseen.faces.boxes import (
    merged_windows,
    CoverShape, box_iou, centred_ranges, greedy_clusters, covering_ranges, range_areas, range_sums, shape_mask, snapped_to_grid,
    union_mask, xywh_to_xyxy, xyxy_to_xywh,
)

coordinate = st.floats(min_value=-50, max_value=150, allow_nan=False, width=32)
extent = st.floats(min_value=0, max_value=80, allow_nan=False, width=32)


@st.composite
def xyxy_boxes(draw, min_size=0, max_size=6):
    n = draw(st.integers(min_size, max_size))
    rows = [(x, y, x + w, y + h) for x, y, w, h in
            (draw(st.tuples(coordinate, coordinate, extent, extent)) for _ in range(n))]
    return np.array(rows, np.float64).reshape(-1, 4)


@st.composite
def pixel_boxes(draw, max_size=5):
    """Integer boxes inside a 40 x 30 image (so brute-force pixel counting is exact)."""
    n = draw(st.integers(1, max_size))
    rows = []
    for _ in range(n):
        x1, x2 = sorted(draw(st.tuples(st.integers(0, 40), st.integers(0, 40))))
        y1, y2 = sorted(draw(st.tuples(st.integers(0, 30), st.integers(0, 30))))
        rows.append((x1, y1, x2, y2))
    return np.array(rows, np.float64)


@given(xyxy_boxes())
def test_xyxy_and_xywh_round_trip(boxes):
    xywh = xyxy_to_xywh(boxes)
    assert np.all(xywh[:, 2:] >= 0)
    assert np.allclose(xywh_to_xyxy(xywh), boxes)
    assert xywh_to_xyxy(xywh).dtype == boxes.dtype


def test_conversions_keep_the_dtype_and_refuse_other_shapes():
    assert xywh_to_xyxy(np.array([[10, 20, 5, 6]], np.float32)).tolist() == [[10, 20, 15, 26]]
    assert xywh_to_xyxy(np.array([[10, 20, 5, 6]], np.float32)).dtype == np.float32
    assert xyxy_to_xywh(np.zeros((0, 4))).shape == (0, 4)
    with pytest.raises(ConfigError, match=r"\(n, 4\)"):
        xywh_to_xyxy(np.zeros((2, 3)))


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([0, 0, 10, 10], [0, 0, 10, 10], 1.0),
        ([0, 0, 10, 10], [5, 0, 15, 10], 50 / 150),
        ([0, 0, 10, 10], [20, 20, 30, 30], 0.0),
        ([0, 0, 0, 0], [0, 0, 0, 0], 0.0),
    ],
)
def test_box_iou(a, b, expected):
    assert box_iou(np.array([a]), np.array([b]))[0, 0] == pytest.approx(expected)


@given(xyxy_boxes(), xyxy_boxes())
def test_iou_is_symmetric_and_a_share(a, b):
    forward, backward = box_iou(a, b), box_iou(b, a)
    assert forward.shape == (len(a), len(b))
    assert np.allclose(forward, backward.T)
    assert np.all((forward >= 0) & (forward <= 1 + 1e-12))


@given(pixel_boxes(), pixel_boxes())
def test_iou_counts_pixels_on_integer_boxes(a, b):
    def pixels(box):
        mask = np.zeros((30, 40), bool)
        x1, y1, x2, y2 = box.astype(int)
        mask[y1:y2, x1:x2] = True
        return mask

    iou = box_iou(a, b)
    for i, box_a in enumerate(a):
        for j, box_b in enumerate(b):
            pa, pb = pixels(box_a), pixels(box_b)
            union = (pa | pb).sum()
            assert iou[i, j] == pytest.approx((pa & pb).sum() / union if union else 0.0)


@given(xyxy_boxes(min_size=1))
def test_ranges_hold_the_pixels_they_say(boxes):
    width, height = 120, 90
    for box, touched, centred in zip(boxes, covering_ranges(boxes, width, height),
                                     centred_ranges(boxes, width, height)):
        x1, y1, x2, y2 = box.tolist()
        c0, r0, c1, r1 = centred.tolist()
        assert list(range(c0, c1)) == [i for i in range(width) if x1 <= i + 0.5 < x2]
        assert list(range(r0, r1)) == [i for i in range(height) if y1 <= i + 0.5 < y2]
        c0, r0, c1, r1 = touched.tolist()
        if x2 > x1 and y2 > y1:  # every pixel the box overlaps, nothing else
            assert list(range(c0, c1)) == [i for i in range(width) if i < x2 and i + 1 > x1]
            assert list(range(r0, r1)) == [i for i in range(height) if i < y2 and i + 1 > y1]
        else:
            assert c0 == c1 and r0 == r1


@given(xyxy_boxes(), st.integers(1, 70), st.integers(1, 50))
@settings(max_examples=60)
def test_union_and_sums_match_a_loop(boxes, width, height):
    ranges = covering_ranges(boxes, width, height)
    expected = np.zeros((height, width), bool)
    for c0, r0, c1, r1 in ranges:
        expected[r0:r1, c0:c1] = True
    assert np.array_equal(union_mask(ranges, width, height), expected)
    assert np.array_equal(shape_mask(boxes, width=width, height=height, shape="box"), expected)
    values = np.arange(width * height).reshape(height, width) % 7
    sums = range_sums(values, ranges)
    assert sums.tolist() == [int(values[r0:r1, c0:c1].sum()) for c0, r0, c1, r1 in ranges]
    assert range_areas(ranges).tolist() == [(c1 - c0) * (r1 - r0) for c0, r0, c1, r1 in ranges]


def test_snapping_widens_to_the_block_grid_inside_the_image():
    snapped = snapped_to_grid(np.array([[37, 45, 61, 77], [-5, 3, 99, 98.5]]), 8, 100, 100)
    assert snapped.tolist() == [[32, 40, 64, 80], [0, 0, 100, 100]]


def test_ellipse_is_inscribed_in_its_box():
    mask = shape_mask(np.array([[0, 0, 40, 40]]), width=40, height=40, shape="ellipse")
    assert mask[20, 20] and mask[0, 20] and mask[20, 0]
    assert not mask[0, 0] and not mask[39, 39]
    assert mask.sum() / 1600 == pytest.approx(np.pi / 4, abs=0.03)
    assert not shape_mask(np.array([[5, 5, 5, 9]]), width=10, height=10, shape=CoverShape.ELLIPSE).any()


def test_shape_mask_refuses_unknown_shapes_and_empty_images():
    with pytest.raises(ConfigError, match="unknown value 'star'"):
        shape_mask(np.zeros((0, 4)), width=2, height=2, shape="star")
    with pytest.raises(ConfigError, match="positive image size"):
        shape_mask(np.zeros((0, 4)), width=0, height=2)


def test_windows_are_shared_where_faces_crowd_and_apart_where_they_do_not():
    crowd = [[100 + 30 * i, 100, 120 + 30 * i, 125] for i in range(5)]
    far = [[900, 700, 920, 725]]
    windows = merged_windows(np.array(crowd + far, float), width=1000, height=800, margin=1.0, least=16)
    assert len(windows) == 2
    assert windows[1] == (875, 675, 945, 750) or windows[0] == (875, 675, 945, 750)


def _clusters_one_seed_at_a_time(boxes, threshold):
    """The plain greedy loop: the best box left seeds a cluster of every box left near it."""
    left, seeds, cluster = list(range(len(boxes))), [], np.full(len(boxes), -1)
    while left:
        seed = left[0]
        near = [j for j in left if j == seed or box_iou(boxes[seed:seed + 1], boxes[j:j + 1])[0, 0] >= threshold]
        cluster[near] = len(seeds)
        seeds.append(seed)
        left = [j for j in left if j not in near]
    return seeds, cluster.tolist()


@given(xyxy_boxes(max_size=40), st.sampled_from([0.3, 0.4, 0.5]), st.integers(1, 7))
@settings(max_examples=150)
def test_greedy_clusters_match_the_plain_loop_across_blocks(boxes, threshold, block):
    seeds, cluster = greedy_clusters(boxes, threshold, block=block)  # small blocks: clusters span them
    expected_seeds, expected_cluster = _clusters_one_seed_at_a_time(boxes, threshold)
    assert seeds.tolist() == expected_seeds
    assert cluster.tolist() == expected_cluster
