import json

import numpy as np
import pytest

from unseen.errors import ConfigError
from unseen.faces.types import Detections


def make(boxes, scores=None, **kwargs):
    boxes = np.asarray(boxes, np.float32)
    scores = np.linspace(0.9, 0.5, len(boxes)) if scores is None else scores
    return Detections(xyxy=boxes, score=scores, **kwargs)


def test_empty_is_typed_and_zero_length():
    empty = Detections.empty()
    assert len(empty) == 0
    assert empty.xyxy.shape == (0, 4) and empty.xyxy.dtype == np.float32
    assert empty.landmarks.shape == (0, 5, 2)
    assert empty.to_records() == []


@pytest.mark.parametrize(
    ("xyxy", "score", "message"),
    [
        (np.zeros((2, 3)), np.zeros(2), "expected shape (n, 4)"),
        ([[0, 0, 10, 10]], [0.5, 0.4], "Detections.score: expected shape (1,)"),
        ([[10, 0, 0, 10]], [0.5], "x2 >= x1"),
        ([[0, 0, np.nan, 10]], [0.5], "finite"),
    ],
)
def test_invalid_detections_cannot_exist(xyxy, score, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Detections(xyxy=xyxy, score=score)


def test_arrays_are_read_only():
    d = make([[0, 0, 10, 10]])
    with pytest.raises(ValueError):
        d.xyxy[0, 0] = 5


def test_indexing_by_mask_slice_int_and_list():
    d = make([[0, 0, 10, 10], [20, 20, 30, 40], [5, 5, 6, 6]], scores=[0.9, 0.3, 0.6], source="x")
    assert len(d[d.score >= 0.5]) == 2
    assert d[1].xyxy.tolist() == [[20, 20, 30, 40]]
    assert len(d[:2]) == 2
    assert d[[0, 2]].score.tolist() == pytest.approx([0.9, 0.6])
    assert d.above(0.6).score.tolist() == pytest.approx([0.9, 0.6])
    assert d.source.tolist() == ["x", "x", "x"]


def test_geometry_scale_shift_grow_clip():
    d = make([[10, 20, 30, 60]], landmarks=np.full((1, 5, 2), 15.0))
    assert d.width.tolist() == [20] and d.height.tolist() == [40] and d.area.tolist() == [800]
    assert d.scaled(2).xyxy.tolist() == [[20, 40, 60, 120]]
    assert d.scaled(2).landmarks[0, 0].tolist() == [30, 30]
    assert d.shifted(1, -1).xyxy.tolist() == [[11, 19, 31, 59]]
    assert d.grown(0.25).xyxy.tolist() == [[5, 10, 35, 70]]
    assert d.grown((0, 0.5, 0, 0)).xyxy.tolist() == [[10, 0, 30, 60]]
    clipped = make([[-5, -5, 15, 15], [50, 50, 60, 60]]).clipped(12, 12)
    assert clipped.xyxy.tolist() == [[0, 0, 12, 12]]
    with pytest.raises(ConfigError, match="inside out"):
        d.grown(-0.5)


def test_nms_keeps_best_of_each_cluster_and_original_order():
    d = make([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], scores=[0.6, 0.9, 0.7])
    kept = d.nms(0.4)
    assert kept.score.tolist() == pytest.approx([0.9, 0.7])


def test_merge_and_equality():
    a = make([[0, 0, 1, 1]], source="centerface")
    b = make([[2, 2, 3, 3]], source="mtcnn")
    merged = Detections.merge([a, Detections.empty(), b])
    assert merged.source.tolist() == ["centerface", "mtcnn"]
    assert Detections.merge([]) == Detections.empty()
    assert merged[0] == a and merged[0] != b


def test_records_round_trip_through_json():
    d = make([[0.5, 1.25, 10, 20]], landmarks=np.arange(10).reshape(1, 5, 2), source="mtcnn", track_id=[3])
    back = Detections.from_records(json.loads(json.dumps(d.to_records())))
    assert back == d
    no_landmarks = make([[0, 0, 4, 4]])
    assert "landmarks" not in no_landmarks.to_records()[0]
    assert Detections.from_records(no_landmarks.to_records()) == no_landmarks


def test_from_xywh():
    d = Detections.from_xywh([[10, 20, 5, 6]])
    assert d.xyxy.tolist() == [[10, 20, 15, 26]] and d.score.tolist() == [1.0]


def test_found_by_names_the_passes_and_survives_merge_indexing_and_records():
    a = Detections(xyxy=[[0, 0, 4, 4], [5, 5, 9, 9]], score=[0.9, 0.4], source="ensemble",
                   passes=("1x", "2x"), found_by=[[True, True], [False, True]])
    b = Detections(xyxy=[[1, 1, 3, 3]], score=[0.5], source="ensemble", passes=("2x", "mtcnn"),
                   found_by=[[False, True]])
    merged = Detections.merge([a, b])
    assert merged.passes == ("1x", "2x", "mtcnn")
    assert [merged.found_by_names(i) for i in range(3)] == [["1x", "2x"], ["2x"], ["mtcnn"]]
    assert merged[[2]].found_by_names(0) == ["mtcnn"]
    back = Detections.from_records(json.loads(json.dumps(merged.to_records())))
    assert [back.found_by_names(i) for i in range(3)] == [["1x", "2x"], ["2x"], ["mtcnn"]]
    with pytest.raises(ConfigError, match="found_by"):
        Detections(xyxy=[[0, 0, 1, 1]], score=[1.0], passes=("1x",), found_by=[[True, False]])
