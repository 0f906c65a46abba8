"""The review session as a library: a person's boxes become the faces covered and the
decisions kept in the record; export goes through the same function as `unseen redact`."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from unseen.errors import ConfigError
from unseen.examples import astronaut_photo
from unseen.faces.types import Detections
from unseen.media.image import load
from unseen.media.metadata import inspect_file
from unseen.redact.photo import PERSON, RedactConfig
from unseen.redact.record import BoxRecord, FileRecord, FileStatus, RedactionRecord, ReviewDecisions
from unseen.redact.verify import FILL_TOLERANCE, VerifyConfig
from unseen.web.session import Analysis, Choices, ReviewSession, ReviewState

DETECTED = Detections(xyxy=[[10, 10, 50, 60], [100, 20, 140, 70], [200, 200, 230, 240]], score=[0.9, 0.4, 0.8],
                      source=["ensemble", "ensemble", "ensemble"])


def analysis() -> Analysis:
    return Analysis(width=300, height=300, detected=DETECTED, low=DETECTED.score < 0.5, verification=None)


def test_a_persons_boxes_become_the_faces_covered_and_the_decisions():
    choices = Choices.checked([[10, 10, 50, 60], [95, 15, 150, 80], [250, 250, 290, 295]], [0, 1, -1],
                              analysis=analysis())
    faces = choices.faces(DETECTED)
    assert np.allclose(faces.xyxy, [[10, 10, 50, 60], [95, 15, 150, 80], [250, 250, 290, 295]])
    assert faces.source.tolist() == ["ensemble", PERSON, PERSON]  # kept as found, resized, drawn
    assert faces.score.tolist() == pytest.approx([0.9, 0.4, 1.0])
    decisions = choices.decisions(DETECTED)
    assert (decisions.kept, decisions.resized, decisions.drawn) == (1, 1, 1)
    assert decisions.removed == (BoxRecord(box=(200.0, 200.0, 230.0, 240.0), score=0.8, source="ensemble"),)
    assert not choices.unchanged(DETECTED)
    assert Choices.as_detected(DETECTED).unchanged(DETECTED)


@pytest.mark.parametrize(("boxes", "detected", "message"), [
    ([[0, 0, 2, 40]], [-1], "at least 4 pixels"),
    ([[0, 0, float("nan"), 40]], [-1], "finite"),
    ([[0, 0, 40, 40]], [3], "out of range"),
    ([[0, 0, 40, 40], [50, 50, 90, 90]], [0, 0], "kept twice"),
    ([[-50, -50, 2, 2]], [-1], "at least 4 pixels"),  # clipped to the photo, nothing is left
])
def test_boxes_that_are_not_boxes_are_refused(boxes, detected, message):
    with pytest.raises(ConfigError, match=message):
        Choices.checked(boxes, detected, analysis=analysis())


def test_boxes_are_clipped_to_the_photo_and_put_upright():
    choices = Choices.checked([[320, 310, 250, 260]], [-1], analysis=analysis())
    assert choices.xyxy.tolist() == [[250, 260, 300, 300]]


def test_review_decisions_survive_the_record_file(tmp_path):
    decisions = ReviewDecisions(kept=3, resized=1, drawn=2, removed=(BoxRecord((1.0, 2.0, 30.0, 40.0), 0.31, "x"),))
    entry = FileRecord(source="a.jpg", status=FileStatus.WRITTEN, output="a.redacted.jpg", review_decisions=decisions)
    record = RedactionRecord(config={}, config_fingerprint="f", files={"a.redacted.jpg": entry})
    read = RedactionRecord.read(record.write(tmp_path / "record.json"))
    assert read.files["a.redacted.jpg"].review_decisions == decisions
    plain = FileRecord(source="b.jpg", status=FileStatus.WRITTEN, output="b.redacted.jpg")
    assert "review_decisions" not in plain.to_json()  # records of `unseen redact` are unchanged


@pytest.fixture(scope="module")
def quick_config() -> RedactConfig:
    return RedactConfig(verification=VerifyConfig(embedders=()))


def test_a_face_left_uncovered_on_purpose_fails_verification_as_it_would_anywhere(tmp_path, quick_config):
    """The astronaut's face removed and a box drawn on her badge: the export covers the badge,
    leaves the face, and verification says a clear face is left bare."""
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(astronaut_photo(), folder / "astronaut.png")
    workdir = tmp_path / "work"
    workdir.mkdir(mode=0o700)
    session = ReviewSession(workdir=workdir, folder=folder, out_dir=tmp_path / "out", config=quick_config)
    (entry,) = session.files()
    analysed = session.analyse(entry.id)
    assert len(analysed.analysis.detected) == 1 and analysed.state is ReviewState.NOT_REVIEWED
    badge = [300, 380, 360, 440]
    chosen = session.choose(entry.id, boxes=[badge], detected=[-1])
    assert chosen.state is ReviewState.REVIEWED

    summary = session.export([entry.id])
    exported = session.file(entry.id)
    assert exported.state is ReviewState.EXPORTED and summary.results[0].record.output == "astronaut.redacted.png"
    output = load(session.output(entry.id)).rgb
    x1, y1, x2, y2 = badge
    assert (output[y1:y2, x1:x2].max(axis=2) <= FILL_TOLERANCE).mean() > 0.98
    face = analysed.analysis.detected.xyxy[0].astype(int)
    original = load(astronaut_photo()).rgb
    assert np.array_equal(output[face[1]:face[3], face[0]:face[2]], original[face[1]:face[3], face[0]:face[2]])
    assert inspect_file(session.output(entry.id)).clean

    record = json.loads(session.record_path.read_text())
    written = record["files"]["astronaut.redacted.png"]
    assert written["verification"]["passed"] is False and len(written["verification"]["exposed"]) == 1
    assert written["review_decisions"]["drawn"] == 1 and len(written["review_decisions"]["removed"]) == 1
    assert [face["chosen_by"] for face in written["faces"]] == ["person"]
    assert written["source"] == str((folder / "astronaut.png").resolve())
    assert exported.record.passed is False
    assert record["runs"][-1]["written"] == 1

    (folder / "astronaut.png").write_bytes(b"replaced by something else")
    session.export([entry.id])
    changed = session.file(entry.id)
    assert changed.state is ReviewState.FAILED
    assert changed.message == "astronaut.png: the file changed since it was opened on the page; open it again to review it"
    assert changed.analysis is None  # opening it again finds its faces again
