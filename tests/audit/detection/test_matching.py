"""Matching boxes to annotated faces."""

from __future__ import annotations

import numpy as np
import pytest

from tests.audit.detection.synthetic import faces_of
from unseen.audit.detection.box_files import PackBoxes, read_boxes
from unseen.audit.detection.groups import count_rates, height_groups
from unseen.audit.detection.matching import match_boxes
from unseen.audit.detection.pack import load_pack
from unseen.errors import ConfigError


def boxes_of(per_image):
    return PackBoxes.from_lists(
        (np.array([b[:4] for b in boxes], float).reshape(-1, 4), np.array([b[4] for b in boxes], float))
        for boxes in per_image)


def test_each_box_finds_at_most_one_face_and_duplicates_are_false_positives():
    faces = faces_of([[(0, 0, 10, 10), (40, 0, 10, 10)], [(0, 0, 20, 20)]])
    found = boxes_of([[(0, 0, 10, 10, 0.9), (1, 0, 10, 10, 0.8), (100, 100, 5, 5, 0.7)], []])
    matches = match_boxes(faces, found)
    assert matches.detected.tolist() == [True, False, False]
    assert matches.box_face.tolist() == [0, -1, -1]
    assert matches.false_positives_per_image().tolist() == [2, 0]
    assert matches.iou[0] == pytest.approx(1.0) and matches.score[0] == pytest.approx(0.9)
    assert np.isnan(matches.score[1])


def test_best_score_chooses_first_and_falls_back_to_the_next_face():
    # Two overlapping faces; the better box overlaps both but face 1 most; the weaker box
    # overlaps face 1 most too, and so falls back to face 0 (still >= 0.5).
    faces = faces_of([[(0, 0, 10, 10), (2, 0, 10, 10)]])
    found = boxes_of([[(1.5, 0, 10, 10, 0.6), (2, 0, 10, 10, 0.9)]])
    matches = match_boxes(faces, found)
    assert matches.box_face.tolist() == [0, 1]
    assert matches.detected.all()


def test_iou_just_below_half_is_a_miss():
    faces = faces_of([[(0, 0, 10, 10)]])
    found = boxes_of([[(0, 0, 4.9, 10, 0.9)]])  # IoU 0.49
    assert not match_boxes(faces, found).detected[0]
    assert match_boxes(faces, boxes_of([[(0, 0, 5, 10, 0.9)]])).detected[0]  # IoU 0.5


def test_images_must_agree():
    with pytest.raises(ConfigError, match="images"):
        match_boxes(faces_of([[(0, 0, 1, 1)]]), boxes_of([[], []]))


def test_real_predictions_recall_grows_with_face_size(wider_pack):
    faces = load_pack(wider_pack)
    found = read_boxes(wider_pack / "predictions" / "yolov7-face", faces).above(0.5)
    matches = match_boxes(faces, found)
    recall = count_rates(height_groups(faces, faces.valid), matches.detected).rate
    assert np.all(np.diff(recall) > 0)
    assert recall[0] < 0.2 and recall[-1] > 0.85
    assert 0 < matches.false_positives_per_image().mean() < 5
