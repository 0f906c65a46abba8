"""Official WIDER FACE AP: small cases worked out by hand, edge cases, and agreement with a
plain per-image, per-box loop written from the official protocol's description."""

from __future__ import annotations

import numpy as np
import pytest

from unseen.audit.detection.box_files import PackBoxes, read_boxes
from unseen.audit.detection.pack import LabelledFaces, load_pack
from unseen.audit.detection.wider_ap import (
    inclusive_iou, normalise_scores, official_thresholds, voc_ap, wider_ap,
)
from unseen.errors import ConfigError


def pack(images, faces, in_set=None):
    """``faces``: list of (image index, x, y, w, h); ``in_set``: one 0/1 per face (hard set)."""
    faces = sorted(faces, key=lambda f: f[0])
    image_index = [f[0] for f in faces]
    flags = np.ones(len(faces), bool) if in_set is None else np.asarray(in_set, bool)
    return LabelledFaces(images=[f"e/{name}.jpg" for name in images], image_index=image_index,
                         face_id=np.arange(len(faces)), xywh=[f[1:] for f in faces],
                         sets={"easy": flags, "medium": flags, "hard": flags})


def boxes(n_images, per_image):
    """``per_image``: {image: [(x, y, w, h, score), ...]}; images not named have no file."""
    return PackBoxes.from_lists(
        (np.array([b[:4] for b in per_image[i]], float).reshape(-1, 4), np.array([b[4] for b in per_image[i]], float))
        if i in per_image else None for i in range(n_images))


def hard(faces, found):
    return wider_ap(faces, found, settings=["hard"])["hard"]


# -- worked by hand ---------------------------------------------------------------------
def test_thresholds_are_the_official_thousand():
    t = official_thresholds()
    assert len(t) == 1000 and t[0] == pytest.approx(0.999) and t[-1] == 0.0
    assert np.all(np.diff(t) < 0)


def test_hit_miss_hit_gives_five_sixths():
    # Two faces. Scores 0.9 (hits face A), 0.5 (hits nothing), 0.1 (hits face B) normalise
    # to 1, 0.5, 0. Thresholds > 0.5: P = 1, R = 1/2; 0 < t <= 0.5: P = 1/2, R = 1/2;
    # t = 0: P = 2/3, R = 1. Envelope at R = 1/2 is max(1, ...) = 1, at R = 1 it is 2/3:
    # AP = 1/2 * 1 + 1/2 * 2/3 = 5/6.
    faces = pack(["a"], [(0, 0, 0, 20, 20), (0, 100, 0, 20, 20)])
    found = boxes(1, {0: [(0, 0, 20, 20, 0.9), (300, 300, 20, 20, 0.5), (100, 0, 20, 20, 0.1)]})
    result = hard(faces, found)
    assert result.ap == pytest.approx(5 / 6)
    assert result.faces == 2
    t = result.thresholds
    assert result.proposals[t > 0.5].tolist() == [1] * int((t > 0.5).sum())
    assert set(result.proposals[(t <= 0.5) & (t > 0)].tolist()) == {2}
    assert (result.proposals[-1], result.recalled[-1]) == (3, 2)


def test_a_box_on_a_face_outside_the_set_is_neither_proposal_nor_miss():
    # Face A is outside the set, face B inside. The 0.9 box on A is ignored, so thresholds
    # above 0 have no proposal at all (0/0, skipped); at t = 0 the 0.1 box on B gives
    # P = 1, R = 1: AP = 1. Face A is not a miss. (np.maximum would make this NaN.)
    faces = pack(["a"], [(0, 0, 0, 20, 20), (0, 100, 0, 20, 20)], in_set=[0, 1])
    found = boxes(1, {0: [(0, 0, 20, 20, 0.9), (100, 0, 20, 20, 0.1)]})
    result = hard(faces, found)
    assert result.faces == 1
    assert result.proposals[:-1].max() == 0
    assert (result.proposals[-1], result.recalled[-1]) == (1, 1)
    assert result.ap == pytest.approx(1.0)


def test_a_second_box_on_a_found_face_is_a_false_positive():
    faces = pack(["a"], [(0, 0, 0, 20, 20)])
    found = boxes(1, {0: [(0, 0, 20, 20, 0.9), (1, 1, 20, 20, 0.1)]})
    result = hard(faces, found)
    assert (result.proposals[-1], result.recalled[-1]) == (2, 1)
    assert result.precision[-1] == pytest.approx(0.5)
    assert result.ap == pytest.approx(1.0)  # the envelope keeps precision 1 at recall 1


def test_image_without_boxes_still_counts_its_faces():
    faces = pack(["a", "b"], [(0, 0, 0, 20, 20), (1, 0, 0, 20, 20)])
    result = hard(faces, boxes(2, {0: [(0, 0, 20, 20, 0.7)]}))
    assert result.faces == 2 and result.ap == pytest.approx(0.5)


def test_boxes_of_faceless_images_are_normalised_over_but_not_counted():
    # Image b has no face: its boxes (scores 1.0 and 0.0) set the run's min and max, so
    # image a's box keeps 0.5 and enters at threshold 0.5; they are never proposals.
    faces = pack(["a", "b"], [(0, 0, 0, 20, 20)])
    found = boxes(2, {0: [(0, 0, 20, 20, 0.5)], 1: [(0, 0, 9, 9, 1.0), (5, 5, 9, 9, 0.0)]})
    result = hard(faces, found)
    t = result.thresholds
    assert result.recalled[t > 0.5].max() == 0 and result.recalled[t <= 0.5].min() == 1
    assert result.proposals.max() == 1
    assert result.ap == pytest.approx(1.0)


def test_an_image_with_no_face_in_the_set_still_yields_false_positives():
    faces = pack(["a", "b"], [(0, 0, 0, 20, 20), (1, 0, 0, 20, 20)], in_set=[1, 0])
    found = boxes(2, {0: [(0, 0, 20, 20, 0.2)], 1: [(200, 200, 20, 20, 0.9), (0, 0, 20, 20, 0.5)]})
    result = hard(faces, found)
    # normalised: 0.9 -> 1 (false positive in b), 0.5 -> 3/7 (on b's face, outside: ignored),
    # 0.2 -> 0 (recalls a's face). At t = 0: 2 proposals, 1 recalled.
    assert (result.proposals[-1], result.recalled[-1]) == (2, 1)
    assert result.ap == pytest.approx(0.5)


def test_iou_counts_pixels_inclusively():
    # 10 x 10 face (x..x+9 inclusive in the official convention, w = 9) and a box covering
    # its left half: (4+1)*(9+1) / ((9+1)*(9+1)) = 0.5 exactly: a hit. Continuous IoU
    # would be 36 / 81 < 0.5.
    assert inclusive_iou([[0, 0, 9, 9]], [[0, 0, 4, 9]])[0, 0] == 0.5
    faces = pack(["a"], [(0, 0, 0, 9, 9)])
    assert hard(faces, boxes(1, {0: [(0, 0, 4, 9, 0.9)]})).ap == pytest.approx(1.0)
    assert inclusive_iou([[0, 0, 9, 9]], [[20, 20, 9, 9]])[0, 0] == 0.0


def test_a_box_equally_close_to_two_faces_goes_to_the_first():
    box = (5, 0, 10, 10, 0.9)  # IoU 66 / 176 = 0.375 with either face
    first_outside = pack(["a"], [(0, 0, 0, 10, 10), (0, 10, 0, 10, 10)], in_set=[0, 1])
    first_inside = pack(["a"], [(0, 0, 0, 10, 10), (0, 10, 0, 10, 10)], in_set=[1, 0])
    iou = inclusive_iou(first_outside.xywh, [box[:4]])[:, 0]
    assert iou.tolist() == [0.375, 0.375]

    def recalled(faces):
        return wider_ap(faces, boxes(1, {0: [box]}), settings=["hard"], iou_threshold=0.3)["hard"]

    assert (recalled(first_outside).recalled[-1], recalled(first_outside).proposals[-1]) == (0, 0)
    assert (recalled(first_inside).recalled[-1], recalled(first_inside).proposals[-1]) == (1, 1)


def test_tied_scores_do_not_depend_on_file_order():
    faces = pack(["a"], [(0, 0, 0, 20, 20), (0, 100, 0, 20, 20)])
    in_order = [(0, 0, 20, 20, 0.5), (300, 0, 20, 20, 0.5), (100, 0, 20, 20, 0.2)]
    reordered = [in_order[1], in_order[2], in_order[0]]
    a, b = hard(faces, boxes(1, {0: in_order})), hard(faces, boxes(1, {0: reordered}))
    assert a.ap == b.ap
    assert np.array_equal(a.proposals, b.proposals) and np.array_equal(a.recalled, b.recalled)


def test_all_scores_equal_enter_at_the_first_threshold():
    assert normalise_scores(np.array([0.7, 0.7])).tolist() == [1.0, 1.0]
    faces = pack(["a"], [(0, 0, 0, 20, 20)])
    assert hard(faces, boxes(1, {0: [(0, 0, 20, 20, 0.7)]})).ap == pytest.approx(1.0)


def test_no_boxes_at_all_gives_zero_and_no_faces_gives_nan():
    faces = pack(["a"], [(0, 0, 0, 20, 20)])
    assert hard(faces, boxes(1, {})).ap == 0.0
    assert np.isnan(hard(pack(["a"], [(0, 0, 0, 20, 20)], in_set=[0]), boxes(1, {0: [(0, 0, 20, 20, 1)]})).ap)


def test_voc_ap_matches_a_hand_sum():
    assert voc_ap(np.array([0.5, 0.5, 1.0]), np.array([1.0, 0.5, 2 / 3])) == pytest.approx(5 / 6)
    assert voc_ap(np.array([0.0, 1.0]), np.array([np.nan, 1.0])) == pytest.approx(1.0)


def test_missing_set_columns_are_named():
    faces = LabelledFaces(images=["a.jpg"], image_index=[0], face_id=[0], xywh=[[0, 0, 5, 5]])
    with pytest.raises(ConfigError, match="easy, medium, hard"):
        wider_ap(faces, boxes(1, {}))


# -- agreement with the protocol written as plain loops ----------------------------------
def loop_ap(faces: LabelledFaces, found: PackBoxes, setting: str, iou_threshold=0.5) -> float:
    """The official evaluation spelled out image by image, box by box (slow, obvious)."""
    scores = found.score.copy()
    low, high = min(scores.min(), np.finfo(np.float32).max), max(scores.max(), np.finfo(np.float32).tiny)
    scores = np.ones_like(scores) if high == low else (scores - low) / (high - low)
    thresholds = official_thresholds()
    curve = np.zeros((len(thresholds), 2))
    count = 0
    fb, bb = faces.image_bounds(), found.image_bounds()
    for i in range(faces.n_images):
        gt = faces.xywh[fb[i]:fb[i + 1]]
        keep = faces.sets[setting][fb[i]:fb[i + 1]]
        count += int(keep.sum())
        pred, score = found.xywh[bb[i]:bb[i + 1]], scores[bb[i]:bb[i + 1]]
        if len(gt) == 0 or len(pred) == 0:
            continue
        order = np.argsort(-score, kind="stable")
        pred, score = pred[order], score[order]
        recall_list = np.zeros(len(gt))
        proposal = np.ones(len(pred))
        recalled_after = np.zeros(len(pred))
        for h in range(len(pred)):
            overlaps = inclusive_iou(gt, pred[h:h + 1])[:, 0]
            idx = int(np.argmax(overlaps))
            if overlaps[idx] >= iou_threshold:
                if not keep[idx]:
                    recall_list[idx] = -1
                    proposal[h] = -1
                elif recall_list[idx] == 0:
                    recall_list[idx] = 1
            recalled_after[h] = (recall_list == 1).sum()
        for t, thresh in enumerate(thresholds):
            above = np.flatnonzero(score >= thresh)
            if len(above):
                last = above[-1]
                curve[t] += [(proposal[:last + 1] == 1).sum(), recalled_after[last]]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision, recall = curve[:, 1] / curve[:, 0], curve[:, 1] / count
    mrec, mpre = np.r_[0, recall, 1], np.r_[0, precision, 0]
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = mpre[i + 1] if np.isnan(mpre[i]) else max(mpre[i], mpre[i + 1])
    steps = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[steps] - mrec[steps - 1]) * mpre[steps]))


@pytest.mark.parametrize("seed", range(6))
def test_vectorised_equals_the_loops_on_random_crowds(seed):
    rng = np.random.default_rng(seed)
    faces_list, found = [], {}
    for i in range(8):
        n = int(rng.integers(0, 6))
        xy = rng.integers(0, 60, size=(n, 2))
        wh = rng.integers(2, 25, size=(n, 2))
        faces_list += [(i, *xy[j], *wh[j]) for j in range(n)]
        if rng.random() < 0.85:
            jitter = rng.integers(-3, 4, size=(n, 4)) * (rng.random((n, 1)) < 0.8)
            near = [(*(np.r_[xy[j], wh[j]] + jitter[j]).clip(0), round(float(rng.random()), 2)) for j in range(n)]
            extra = [(*rng.integers(0, 80, 2), *rng.integers(2, 25, 2), round(float(rng.random()), 2))
                     for _ in range(int(rng.integers(0, 4)))]
            found[i] = near + near[: int(rng.integers(0, 2))] + extra
    in_set = rng.random(len(faces_list)) < 0.7
    faces = pack([f"{i}" for i in range(8)], faces_list, in_set=in_set)
    predictions = boxes(8, found)
    assert hard(faces, predictions).ap == pytest.approx(loop_ap(faces, predictions, "hard"), abs=1e-12)


def test_vectorised_equals_the_loops_on_real_predictions(wider_pack):
    faces = load_pack(wider_pack)
    found = read_boxes(wider_pack / "predictions" / "yolov7-face", faces)
    events = np.array([faces.image_event(i) for i in range(faces.n_images)])
    chosen = np.isin(events, ["2--Demonstration", "12--Group", "37--Soccer"])
    sub_faces, sub_found = faces.only_images(chosen), found.only_images(chosen)
    assert sub_faces.n_images == chosen.sum() and len(sub_faces) > 1000
    result = wider_ap(sub_faces, sub_found)
    for setting in ("easy", "hard"):
        assert result[setting].ap == pytest.approx(loop_ap(sub_faces, sub_found, setting), abs=1e-12)
    full = wider_ap(faces, found).ap
    assert 0.85 < full["easy"] < 0.99 and full["easy"] > full["medium"] > full["hard"] > 0.7


def test_an_unknown_set_is_refused_with_the_valid_ones():
    faces = pack(["a"], [(0, 0, 0, 20, 20)])
    with pytest.raises(ConfigError, match="unknown value 'extreme'; choose one of: easy, medium, hard"):
        wider_ap(faces, boxes(1, {}), settings=["extreme"])
