"""Box files: WIDER txt folders and JSON lines, and the shape a redactor covered."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from unseen.audit.detection.box_files import (
    PackBoxes, read_boxes, read_cover_shape, read_wider_txt, write_jsonl, write_wider_dir, write_wider_txt,
)
from unseen.audit.detection.pack import load_pack
from unseen.errors import ConfigError, InputFileError
from unseen.faces.boxes import CoverShape


def test_wider_txt_round_trip(tmp_path):
    path = write_wider_txt(tmp_path / "e" / "a.txt", "a", np.array([[1.5, 2, 10, 12]]), np.array([0.87654321]))
    assert path.read_text().splitlines() == ["a", "1", "1.50 2.00 10.00 12.00 0.876543"]
    read = read_wider_txt(path)
    assert read.name == "a" and read.xywh.tolist() == [[1.5, 2, 10, 12]] and read.score.tolist() == [0.876543]


def test_wider_txt_reads_as_the_official_tool(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("0--Parade/a.jpg\n2\n1 2 3 4 0.9 7 7 \n5 6 7 8 0.5\n\n")
    read = read_wider_txt(path)
    assert read.name == "0--Parade/a.jpg" and read.xywh.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert read.score.tolist() == [0.9, 0.5] and not read.set_aside
    path.write_text("a\n0\n")
    assert read_wider_txt(path).xywh.shape == (0, 4)


@pytest.mark.parametrize(("text", "message", "boxes"), [
    ("a\n", "bad.txt: malformed line .*count line", 0),
    ("a\ntwo\n", "bad.txt line 2: malformed line .*expected the number", 0),
    ("a\n3\n1 2 3 4 0.5\n", "line 2: .*announces 3 boxes but 1", 1),
    ("a\n1\n1 2 3 4 0.5\n1 2 3 4 0.5\n", "line 4: .*beyond the 1 boxes", 1),
    ("a\n2\n1 2 3 4 0.5\n1 2 3 x 0.5\n", "line 4: malformed line .*expected 'x y w h score'", 1),
    ("a\n1\n1 2 3 4\n", "line 3", 0),
    ("a\n2\n1 2 3 4 nan\n1 2 3 4 0.5\n", "line 3: not a number", 1),
    ("a\n2\n1 2 inf 4 0.5\n1 2 3 4 0.5\n", "line 3: infinite number", 1),
    ("a\n1\n1026 474 -2 23 0.5\n", "line 3: negative width or height", 1),
])
def test_malformed_wider_txt_is_set_aside_by_file_and_line_and_refused_under_strict(tmp_path, text, message, boxes):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    read = read_wider_txt(path)
    assert len(read.score) == boxes and len(read.set_aside) == 1
    assert re.search(message, read.set_aside.describe(0)), read.set_aside.describe(0)
    with pytest.raises(InputFileError, match=message):
        read_wider_txt(path, strict=True)


def test_folder_of_wider_files_maps_to_pack_images(tiny_pack, tmp_path):
    faces = load_pack(tiny_pack)
    found = PackBoxes.from_lists([(np.array([[2, 3, 10, 10]]), np.array([0.9])), None,
                                  (np.zeros((0, 4)), np.zeros(0))])
    write_wider_dir(tmp_path / "out", faces, found)
    assert (tmp_path / "out" / "1--Crowd" / "a.txt").is_file()
    assert (tmp_path / "out" / "flat.txt").read_text() == "flat\n0\n"
    again = read_boxes(tmp_path / "out", faces)
    assert again.found.tolist() == [True, False, True]
    assert again.image_index.tolist() == [0] and again.score.tolist() == [0.9]


def test_jsonl_round_trip_and_paths(tiny_pack, tmp_path):
    faces = load_pack(tiny_pack)
    found = PackBoxes.from_lists([(np.array([[2, 3, 10, 10]]), np.array([0.9])), None,
                                  (np.array([[1, 1, 2, 2], [3, 3, 4, 4]]), np.array([0.2, 0.4]))])
    path = write_jsonl(tmp_path / "boxes.jsonl", faces, found)
    again = read_boxes(path, faces)
    assert again.found.tolist() == found.found.tolist()
    assert again.xywh.tolist() == found.xywh.tolist() and again.score.tolist() == found.score.tolist()
    # the `unseen detect` record shape, naming the image by any path that ends in it
    other = tmp_path / "detect.jsonl"
    other.write_text(json.dumps({"path": "/somewhere/images/1--Crowd/a.jpg",
                                 "faces": [{"box": [0, 0, 4, 6], "score": 0.5, "source": "x"}]}) + "\n"
                     + json.dumps({"path": "not/in/pack.jpg", "faces": []}) + "\n")
    parsed = read_boxes(other, faces)
    assert parsed.found.tolist() == [True, False, False] and parsed.xywh.tolist() == [[0, 0, 4, 6]]


def test_bad_jsonl_lines_and_boxes_are_set_aside_by_line(tiny_pack, tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_text('{"image": "flat.png", "faces": [{"score": 1}]}\n'
                    '{"image": "flat.png", "faces": [{"box": [1, 1, 5, 5], "score": NaN}, {"box": [1, 1, 5, 5]}]}\n'
                    'not json\n'
                    '{"image": "1--Crowd/a.jpg", "faces": [{"box": [9, 9, 5, 5], "score": 0.5}]}\n')
    boxes = read_boxes(path, load_pack(tiny_pack))
    assert boxes.found.tolist() == [True, False, True] and boxes.score.tolist() == [0.5, 1.0]
    assert boxes.set_aside.line.tolist() == [1, 2, 3, 4]
    assert boxes.set_aside.problem.tolist() == ["malformed line", "not a number", "malformed line",
                                                "negative width or height"]
    with pytest.raises(InputFileError, match="b.jsonl line 1"):
        read_boxes(path, load_pack(tiny_pack), strict=True)


def test_pack_boxes_validate():
    with pytest.raises(ConfigError, match="sorted by image"):
        PackBoxes(image_index=[1, 0], xywh=np.zeros((2, 4)), score=[1, 1], found=[True, True])
    with pytest.raises(ConfigError, match="expected xywh"):
        PackBoxes(image_index=[0], xywh=np.zeros((2, 4)), score=[1], found=[True])


def test_shape_file_and_unknown_shapes(tmp_path):
    assert read_cover_shape(tmp_path) is CoverShape.BOX
    (tmp_path / "shape.txt").write_text("ellipse\n")
    assert read_cover_shape(tmp_path) is CoverShape.ELLIPSE
    (tmp_path / "shape.txt").write_text("circle\n")
    with pytest.raises(InputFileError, match="box, ellipse"):
        read_cover_shape(tmp_path)
