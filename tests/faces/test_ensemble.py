"""The ensemble detector: passes put back in place, scores fused by competent passes, more
small faces found in real crowds than one pass finds."""

import numpy as np
import pandas as pd
import pytest

from unseen.errors import ConfigError
from unseen.examples import astronaut_photo
from unseen.faces.detectors.base import Detector
from unseen.faces.detectors.centerface import CenterFace
from unseen.faces.detectors.ensemble import Ensemble, EnsembleConfig, is_first_look
from unseen.faces.boxes import box_iou
from unseen.faces.types import Detections
from unseen.media.image import load


@pytest.fixture(scope="module")
def off_centre_face():
    rgb = load(astronaut_photo()).rgb[::2, ::2]
    canvas = np.full((300, 500, 3), 128, np.uint8)
    canvas[20:276, 30:286] = rgb
    return canvas


def _one(box, score, source):
    return Detections(xyxy=[box], score=[score], source=[source])


def test_follows_the_detector_protocol_and_finds_nothing_in_blank_images():
    ensemble = Ensemble()
    assert isinstance(ensemble, Detector)
    found = ensemble.detect(np.zeros((40, 70, 3), np.uint8))
    assert len(found) == 0 and found.xyxy.shape == (0, 4)


def test_mirrored_pass_is_put_back_where_the_face_is(off_centre_face):
    ensemble = Ensemble()
    straight, mirrored = (ensemble.run_pass(off_centre_face, one, threshold=0.5)
                          for one in ensemble.passes_for(*off_centre_face.shape[:2]) if one.scale == 1.0)
    assert len(straight) == 1 and len(mirrored) == 1
    assert box_iou(straight.xyxy, mirrored.xyxy)[0, 0] > 0.8
    left_eye, right_eye = mirrored.landmarks[0, 0], mirrored.landmarks[0, 1]
    assert left_eye[0] < right_eye[0]  # the subject's sides swapped back after mirroring


def test_a_face_every_pass_finds_keeps_its_score_and_a_blip_is_diluted():
    ensemble = Ensemble(EnsembleConfig(scales=(1.0, 2.0), flip=True))
    names = [one.name for one in ensemble.passes_for(480, 640)]
    face = (100, 100, 160, 170)
    found = [_one(face, 0.8, name) for name in names] + [_one((300, 50, 340, 95), 0.6, names[0])]
    fused = ensemble.fuse(found, image_size=(480, 640))
    assert len(fused) == 2
    strongest = fused[int(np.argmax(fused.score))]
    assert strongest.score[0] == pytest.approx(0.8)
    assert strongest.found_by_names(0) == names and strongest.source.tolist() == ["ensemble"]
    assert fused.score.min() == pytest.approx(0.6 / 4)


def test_upscaled_passes_stay_within_the_pixel_budget():
    ensemble = Ensemble(EnsembleConfig(scales=(1.0, 2.0), flip=True, max_pass_pixels=16_000_000))
    assert [one.name for one in ensemble.passes_for(768, 1024)] == ["1x", "2x", "1xf", "2xf"]
    assert [one.name for one in ensemble.passes_for(2000, 3000)] == ["1x", "1.63x", "1xf", "1.63xf"]
    assert [one.name for one in ensemble.passes_for(3024, 4032)] == ["1x", "1xf"]


def test_only_passes_that_can_see_a_face_of_that_size_count():
    ensemble = Ensemble(EnsembleConfig(scales=(1.0, 2.0), flip=False, seen_px=(10, 500)))
    tiny = (50, 50, 57, 58)  # 8 px tall: only the 2x pass sees it at >= 10 px
    fused = ensemble.fuse([_one(tiny, 0.7, "2x")], image_size=(100, 100))
    assert fused.score[0] == pytest.approx(0.7)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"scales": ()}, "scales"), ({"scales": (1.0, -2.0)}, "scales"), ({"merge_iou": 2.0}, "merge_iou"),
    ({"seen_px": (50, 10)}, "seen_px"),
])
def test_config_is_validated(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        EnsembleConfig(**kwargs)


@pytest.mark.slow
def test_finds_more_small_faces_in_real_crowds_than_one_pass(wider_pack):
    faces = pd.read_csv(wider_pack / "faces.csv")
    faces = faces[faces.invalid == 0]
    crowded = faces[(faces.h >= 10) & (faces.h < 24)].groupby("image").size()
    images = sorted(crowded[crowded >= 15].index)[::7][:3]
    ensemble, single = Ensemble(), CenterFace()
    hits = {"ensemble": [], "single": []}
    for name in images:
        truth = faces[(faces.image == name) & (faces.h >= 10) & (faces.h < 24)][["x", "y", "w", "h"]].to_numpy(float)
        truth[:, 2:] += truth[:, :2]
        x0, y0 = _densest_window(truth, 384)
        rgb = np.ascontiguousarray(load(wider_pack / "images" / name).rgb[y0:y0 + 384, x0:x0 + 384])
        inside = (truth[:, 0] >= x0) & (truth[:, 1] >= y0) & (truth[:, 2] <= x0 + 384) & (truth[:, 3] <= y0 + 384)
        truth = truth[inside] - [x0, y0, x0, y0]
        for label, found in (("ensemble", ensemble.detect(rgb)), ("single", single.detect(rgb, threshold=0.3))):
            iou = box_iou(truth, found.xyxy).max(axis=1) if len(found) else np.zeros(len(truth))
            hits[label].extend(iou >= 0.5)
    assert len(hits["ensemble"]) >= 40
    missed = {label: 1 - np.mean(found) for label, found in hits.items()}
    assert missed["ensemble"] <= 0.6 * missed["single"], missed


def _densest_window(boxes: np.ndarray, side: int) -> tuple[int, int]:
    """Top-left corner of the ``side`` square (on a 32 px grid) holding the most boxes."""
    best, corner = -1, (0, 0)
    for x0 in range(0, int(boxes[:, 2].max()), 32):
        for y0 in range(0, int(boxes[:, 3].max()), 32):
            count = int(((boxes[:, 0] >= x0) & (boxes[:, 1] >= y0)
                         & (boxes[:, 2] <= x0 + side) & (boxes[:, 3] <= y0 + side)).sum())
            if count > best:
                best, corner = count, (x0, y0)
    return corner


def test_refined_detection_looks_twice_only_near_what_it_found(off_centre_face):
    canvas = np.full((800, 1200, 3), 128, np.uint8)
    canvas[300:596, 700:1200] = off_centre_face[:296]
    full = Ensemble(EnsembleConfig(refine_above=10 ** 9)).detect(canvas)
    refined_ensemble = Ensemble(EnsembleConfig(refine_above=0, sure=1.0))  # every face gets its second looks
    refined = refined_ensemble.detect(canvas)
    assert len(full) == len(refined) == 1
    assert box_iou(full.xyxy, refined.xyxy)[0, 0] > 0.9 and refined.score[0] == pytest.approx(full.score[0], abs=0.05)
    first = [one for one in refined_ensemble.passes_for(800, 1200) if is_first_look(one)]
    candidates = refined_ensemble.fuse([refined_ensemble.run_pass(canvas, one, threshold=0.05) for one in first],
                                       image_size=(800, 1200), passes=first)
    second = next(one for one in refined_ensemble.passes_for(800, 1200) if one.flipped and one.scale == 1.0)
    windows = refined_ensemble.second_look_windows(candidates.above(0.2), second, image_size=(800, 1200))
    assert windows is not None and sum((x2 - x1) * (y2 - y1) for x1, y1, x2, y2 in windows) < 0.3 * 800 * 1200
