"""The detection audit: group rates with image-bootstrap intervals, regressions, coverage."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.audit.detection.synthetic import crowd
from unseen.audit.detection.audit import DetectionAuditConfig, audit_detection
from unseen.audit.detection.box_files import PackBoxes, read_boxes
from unseen.audit.detection.pack import LabelledFaces, load_pack
from unseen.audit.report.detection import odds_rows, rate_rows, report_data
from unseen.audit.report.json_io import report_document
from unseen.errors import ConfigError


FAST = DetectionAuditConfig(replicates=200, seed=1)


def record_of(audit):
    """The JSON document exactly as written (NaN as null)."""
    return report_document(report_data(audit))


def test_recall_by_group_with_intervals_and_size_confounding():
    faces, boxes, found = crowd()
    audit = audit_detection(faces, boxes, config=FAST)
    light, dark = audit.recall.get("skin=I"), audit.recall.get("skin=VI")
    skin = faces.attributes["skin"]
    assert light.value == pytest.approx(found[skin == "I"].mean())
    assert light.n == int((skin == "I").sum())
    for estimate in (light, dark, audit.recall.overall):
        assert estimate.ci[0] <= estimate.value <= estimate.ci[1]
    assert dark.value < light.value - 0.1  # smaller faces, missed more...
    assert dark.differs and dark.p_holm is not None and dark.p_holm < 0.05
    raw, sized, adjusted = audit.models["skin"]
    (raw_or,) = raw.for_variable("skin")
    (adjusted_or,) = adjusted.for_variable("skin")
    assert raw_or.level == "VI" and raw_or.reference == "I"
    assert raw_or.ci[0] > 1.5  # ...so the raw odds of a miss are clearly higher,
    assert sized.for_variable("skin")[0].ci[0] < 1 < sized.for_variable("skin")[0].ci[1]
    assert adjusted_or.ci[0] < 1 < adjusted_or.ci[1]  # but not once size is in the model
    (size_or,) = adjusted.for_variable("size")
    assert size_or.value < 0.6  # doubling a face's height cuts the odds of a miss
    assert [o.level for o in adjusted.for_variable("blur")] == ["normal blur", "heavy blur"]
    assert audit.ap is None  # no easy/medium/hard flags in this pack


def test_no_gap_when_sizes_match():
    faces, boxes, _ = crowd(size_gap=False, seed=3)
    audit = audit_detection(faces, boxes, config=FAST)
    (raw_or,) = audit.models["skin"][0].for_variable("skin")
    assert raw_or.ci[0] < 1 < raw_or.ci[1]
    assert not audit.recall.get("skin=VI").differs


def test_small_groups_are_flagged_and_perfect_ones_get_a_rule_of_three_bound():
    faces, boxes, _ = crowd(60)
    skin = faces.attributes["skin"].copy()
    skin[:5] = "V"
    faces = LabelledFaces(images=faces.images, image_index=faces.image_index, face_id=faces.face_id,
                          xywh=faces.xywh, attributes={"skin": skin}, conditions=faces.conditions)
    all_found = PackBoxes(image_index=faces.image_index, xywh=faces.xywh, score=np.ones(len(faces)),
                          found=np.ones(faces.n_images, bool))
    audit = audit_detection(faces, all_found, config=FAST)
    small = audit.recall.get("skin=V")
    assert small.n == 5 and "fewer than 30 faces" in small.flags and small.p_holm is None
    assert small.value == 1.0 and small.ci == (pytest.approx(0.05 ** (1 / 5)), 1.0)  # 1 - (1 - (0.05)^(1/n))
    assert any("rule of three" in f for f in small.flags)
    assert audit.models["skin"][0].note  # nothing missed: no regression, and it says why


def test_false_positives_are_per_image_only():
    faces, boxes, _ = crowd(50)
    image_index = np.r_[boxes.image_index, [0, 0, 49]]
    order = np.argsort(image_index, kind="stable")
    extra = PackBoxes(image_index=image_index[order],
                      xywh=np.r_[boxes.xywh, [[5000, 0, 10, 10], [6000, 0, 10, 10], [7000, 0, 10, 10]]][order],
                      score=np.r_[boxes.score, [0.9, 0.9, 0.9]][order], found=boxes.found)
    audit = audit_detection(faces, extra, config=FAST)
    assert audit.false_positives == 3
    assert audit.false_positives_per_image.value == pytest.approx(3 / 50)
    record = record_of(audit)
    assert set(record["false_positives"]) == {"per_image", "total", "images"}
    assert not any(k.startswith("false") for k in record["recall"])


def test_seeded_and_serialisable():
    faces, boxes, _ = crowd(80)
    a = record_of(audit_detection(faces, boxes, config=FAST))
    b = record_of(audit_detection(faces, boxes, config=FAST))
    assert a == b
    text = json.dumps(a, allow_nan=False)
    assert '"skin=VI"' in text
    assert {"value", "ci", "n"} <= set(a["recall"]["skin=VI"])
    c = record_of(audit_detection(faces, boxes, config=DetectionAuditConfig(replicates=200, seed=2)))
    assert c["recall"]["skin=VI"]["ci"] != a["recall"]["skin=VI"]["ci"]


def test_coverage_when_the_boxes_are_a_redactors():
    faces, _, _ = crowd(30)
    light = faces.attributes["skin"] == "I"
    covers = PackBoxes(image_index=faces.image_index[light], xywh=faces.xywh[light],
                       score=np.ones(light.sum()), found=np.ones(faces.n_images, bool))
    sizes = np.tile([2500, 500], (faces.n_images, 1))
    audit = audit_detection(faces, covers, config=FAST, cover_shape="box", image_sizes=sizes)
    assert audit.coverage.hidden.get("skin=I").value == 1.0
    assert audit.coverage.hidden.get("skin=VI").value < 0.05  # only where a neighbour's box spills over
    assert 0 < audit.coverage.covered_share.value < 0.2
    record = record_of(audit)
    assert record["coverage"]["shape"] == "box" and "skin=I" in record["coverage"]["hidden"]
    measures = {row["measure"] for row in rate_rows(audit)}
    assert measures == {"recall", "hidden"}


def test_config_is_validated():
    with pytest.raises(ConfigError, match="replicates"):
        DetectionAuditConfig(replicates=5)
    with pytest.raises(ConfigError, match="level"):
        DetectionAuditConfig(level=1.5)


def test_real_predictions_audit(wider_pack):
    faces = load_pack(wider_pack)
    boxes = read_boxes(wider_pack / "predictions" / "retinaface-fork", faces)
    audit = audit_detection(faces, boxes, config=DetectionAuditConfig(replicates=200))
    record = record_of(audit)
    json.dumps(record, allow_nan=False)
    assert 0.85 < record["ap"]["easy"] < 0.95 and record["ap"]["hard"] < record["ap"]["easy"]
    assert record["recall"]["skin=VI"]["n"] == 225
    assert record["recall"]["skin=VI"]["value"] < record["recall"]["skin=I"]["value"]
    adjusted = {o["level"]: o for o in record["regression"]["skin"]["adjusted"]["odds_ratios"]}
    assert adjusted["face height x2"]["value"] < 1 and adjusted["heavy occlusion"]["ci"][0] > 2
    assert len(odds_rows(audit)) > 20


def test_progress_hears_each_step():
    from unseen.progress import Recorded

    faces, boxes, _ = crowd(30)
    progress = Recorded()
    audit_detection(faces, boxes, config=FAST, progress=progress)
    assert progress.stages == ["matching boxes to faces", "recall by group (image bootstrap)", "logistic regressions"]
