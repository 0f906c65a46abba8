"""The redaction record: typed entries that read back as they were written, and a damaged
or older record that only means every file is done again."""

import json

from unseen.redact.record import (SCHEMA, BoxRecord, FaceRecord, FileRecord, FileStatus, RecognizerCheck,
                                  RedactionRecord, RunRecord, VerificationRecord)


def _record() -> RedactionRecord:
    face = FaceRecord(box=(10.0, 20.0, 30.0, 44.0), covered_box=(4.0, 12.8, 36.0, 51.2), score=0.81,
                      found_by=("1x", "2xf"), review=False)
    drawn = FaceRecord(box=(50.0, 50.0, 60.0, 62.0), covered_box=(47.0, 46.4, 63.0, 65.6), score=1.0,
                       found_by=(), review=False, chosen_by="person")
    check = VerificationRecord(
        passed=True, statement="no face found (...)", checks=("faces re-detected by ensemble at 0.15",),
        threshold=0.15, redetected=(), exposed=(), candidates=(BoxRecord((1.0, 2.0, 3.0, 4.0), 0.18, "ensemble"),),
        on_fill=(), recognizers=(RecognizerCheck("dlib", 0, -0.31),), unavailable=("facenet",), faces_compared=1,
        faces_matched=())
    written = FileRecord(source="in/a.jpg", status=FileStatus.WRITTEN, output="in/a.redacted.jpg",
                         source_sha256="ab" * 32, config_fingerprint="f" * 16, width=640, height=480, format="jpeg",
                         faces=(face, drawn), review=("1 possible face(s) left uncovered, at 1, 2 (2 x 2 px)",),
                         verification=check)
    failed = FileRecord(source="in/b.jpg", status=FileStatus.FAILED, message="in/b.jpg: not an image")
    return RedactionRecord(config={"threshold": 0.22}, config_fingerprint="f" * 16,
                           runs=[RunRecord(started="2026-01-01T00:00:00Z", finished="2026-01-01T00:00:09Z", files=2,
                                           counts=((FileStatus.WRITTEN, 1), (FileStatus.FAILED, 1)))],
                           files={"in/a.redacted.jpg": written, "in/b.redacted.jpg": failed})


def test_a_record_reads_back_as_it_was_written(tmp_path):
    record = _record()
    path = record.write(tmp_path / "redaction-record.json")
    back = RedactionRecord.read(path)
    assert back == record
    data = json.loads(path.read_text())
    assert data["schema"] == SCHEMA and data["files"]["in/b.redacted.jpg"] == {
        "source": "in/b.jpg", "output": None, "status": "failed", "source_sha256": None,
        "message": "in/b.jpg: not an image"}
    assert data["files"]["in/a.redacted.jpg"]["faces"][1]["chosen_by"] == "person"


def test_a_damaged_or_older_record_is_not_trusted(tmp_path):
    path = tmp_path / "redaction-record.json"
    assert RedactionRecord.read(path) is None
    path.write_text("{ not json")
    assert RedactionRecord.read(path) is None
    path.write_text(json.dumps({"schema": "unseen.redaction-record/1", "files": {}}))
    assert RedactionRecord.read(path) is None
    path.write_text(json.dumps({"schema": SCHEMA, "config": {}, "files": {"x": {"status": "nonsense"}}}))
    assert RedactionRecord.read(path) is None


def test_already_done_keeps_everything_but_the_status():
    entry = _record().files["in/a.redacted.jpg"]
    again = entry.as_already_done()
    assert again.status is FileStatus.ALREADY_DONE and again.done and again.faces == entry.faces
