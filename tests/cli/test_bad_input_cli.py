"""Bad input through the command line: a bad row is named and the audit runs; a bad file is
named on one line, the rest of a batch is done, and the exit status is the documented one."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from unseen.errors import ExitCode

HEADER = "img_1,img_2,score,mated,race\n"
GOOD = ["a_1.jpg,a_2.jpg,0.9,1,A", "a_1.jpg,b_1.jpg,0.2,0,A", "c_1.jpg,d_1.jpg,0.3,0,B", "c_1.jpg,c_2.jpg,0.8,1,B"]


def test_the_audit_commands_print_the_rows_set_aside_and_refuse_them_under_strict(run_main, tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text(HEADER + "\n".join(GOOD + ["e_1.jpg,f_1.jpg,inf,0,A"]) + "\n")
    out = tmp_path / "audit.json"
    ran = run_main("audit", "scores", path, "--score", "score", "--mated", "mated", "--group", "race",
                   "--subjects-from", "img_1,img_2", "--bootstrap", "0", "--json", out)
    assert ran.code == 0, ran.err
    assert f"set aside: {path} line 6: infinite number (score 'inf'); left out" in ran.out
    assert json.loads(out.read_text())["data"]["set_aside"]["count"] == 1
    strict = run_main("audit", "scores", path, "--score", "score", "--mated", "mated", "--group", "race",
                      "--subjects-from", "img_1,img_2", "--bootstrap", "0", "--strict")
    assert strict.code == 3 and "pairs.csv line 6: infinite number" in strict.err and "--strict" in strict.err


@pytest.fixture
def pack_with_a_negative_width(tmp_path):
    """WIDER's published oddity: a face with w -2 (39--Ice_Skating ... 39_583, face 7), in the
    hard set, beside a face a saved box finds."""
    pack = tmp_path / "pack"
    (pack / "images" / "39--Ice_Skating").mkdir(parents=True)
    Image.new("RGB", (1200, 800), (90, 90, 90)).save(pack / "images" / "39--Ice_Skating" / "skate.jpg")
    (pack / "faces.csv").write_text(
        "image,face,x,y,w,h,blur,invalid,easy,medium,hard,skin\n"
        "39--Ice_Skating/skate.jpg,0,100,100,50,50,0,0,1,1,1,II\n"
        "39--Ice_Skating/skate.jpg,7,1026,474,-2,23,0,0,0,0,1,\n")
    boxes = tmp_path / "boxes" / "39--Ice_Skating"
    boxes.mkdir(parents=True)
    (boxes / "skate.txt").write_text("skate\n1\n100 100 50 50 0.9\n")
    return pack, tmp_path / "boxes"


def test_audit_detection_names_the_negative_width_row_and_gives_the_official_ap(
        run_main, tmp_path, pack_with_a_negative_width):
    pack, boxes = pack_with_a_negative_width
    out = tmp_path / "audit.json"
    ran = run_main("audit", "detection", pack, "--boxes", boxes, "--json", out, "--bootstrap", "100")
    assert ran.code == ExitCode.OK, ran.err
    assert "faces.csv line 3: negative width or height (x 1026, y 474, w -2, h 23); kept, but not a valid face" \
        in ran.out.replace("\n", "")
    report = json.loads(out.read_text())
    # the official tool counts the face in the hard set and no box can match it: hard AP 0.5
    assert report["ap"] == {"easy": 1.0, "medium": 1.0, "hard": 0.5}
    assert report["data"]["valid_faces"] == 1 and report["recall"]["all"]["value"] == 1.0
    assert report["set_aside"]["count"] == 1
    assert report["set_aside"]["rows"][0]["problem"] == "negative width or height"
    strict = run_main("audit", "detection", pack, "--boxes", boxes, "--strict")
    assert strict.code == ExitCode.BAD_INPUT and "faces.csv line 3: negative width or height" in strict.err


def test_a_batch_names_each_bad_file_on_one_line_redacts_the_rest_and_exits_3(run_main, tmp_path, astronaut_png):
    import struct

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a-bomb.gif").write_bytes(
        b"GIF89a" + struct.pack("<HH", 65535, 65535) + b"\x00\x00\x00," + struct.pack("<HHHH", 0, 0, 65535, 65535)
        + b"\x00\x02\x02\x44\x01\x00;")
    (folder / "b-empty.jpg").write_bytes(b"")
    (folder / "c-text.png").write_text("not a picture")
    (folder / "d-no-frames.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2")
    (folder / "e-face.png").write_bytes(astronaut_png.read_bytes())
    ran = run_main("redact", folder, "-o", tmp_path / "out", "--no-verify", "--workers", "1")
    assert ran.code == ExitCode.BAD_INPUT
    lines = [line for line in ran.out.splitlines() if line.startswith("failed ")]
    assert [line.split(":")[0] for line in lines] == [f"failed {folder / name}" for name in (
        "a-bomb.gif", "b-empty.jpg", "c-text.png", "d-no-frames.mp4")]
    assert "decompression bomb" in lines[0] and "empty (0 bytes)" in lines[1] and "a text file" in lines[2]
    assert (tmp_path / "out" / "in" / "e-face.redacted.png").is_file()
    assert "could not redact 4 file(s)" in ran.err and len(ran.err.strip().splitlines()) == 1


def test_inspect_and_verify_refuse_a_bomb_on_one_line(run_main, tmp_path, astronaut_png):
    import struct

    bomb = tmp_path / "bomb.png"
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    import zlib

    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + header
                     + struct.pack(">I", zlib.crc32(b"IHDR" + header)) + b"\x00\x00\x00\x00IEND\xaeB`\x82")
    for args in (("inspect", bomb), ("verify", astronaut_png, bomb), ("detect", bomb)):
        ran = run_main(*args)
        assert ran.code == ExitCode.BAD_INPUT, (args, ran.err)
        assert str(bomb) in ran.err and len(ran.err.strip().splitlines()) == 1, ran.err


@pytest.fixture
def astronaut_png(tmp_path):
    from unseen.examples import astronaut_photo
    from unseen.media.image import load

    path = tmp_path / "face.png"
    Image.fromarray(np.ascontiguousarray(load(astronaut_photo()).rgb[::4, ::4])).save(path)
    return path


def test_a_full_disk_exits_6_with_one_line_and_the_summary(run_main, tmp_path, astronaut_png, monkeypatch):
    from tests.redact.test_crash_safety import _full_after

    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "b", "c"):
        (folder / f"{name}.png").write_bytes(astronaut_png.read_bytes())
    _full_after(monkeypatch, 2)
    ran = run_main("redact", folder, "-o", tmp_path / "out", "--no-verify", "--workers", "1")
    assert ran.code == ExitCode.OUTPUT_FAILED
    assert "No space left on device" in ran.err and len(ran.err.strip().splitlines()) == 1
    assert "not started (run stopped)" in " ".join(ran.out.split())
