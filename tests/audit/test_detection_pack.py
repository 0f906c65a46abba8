"""Reading WIDER-layout packs and box files (WIDER txt, JSON lines)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from unseen.audit.wider import (
    MISSING, PROTEST_EVENTS, LabelledFaces, PackBoxes, load_faces_csv, load_pack, read_boxes, read_wider_txt,
    write_jsonl, write_wider_dir, write_wider_txt,
)
from unseen.errors import ConfigError, InputFileError


@pytest.fixture()
def tiny_pack(tmp_path):
    """Three images (one without faces, one in a flat layout) and a faces.csv with labels."""
    images = tmp_path / "pack" / "images"
    (images / "1--Crowd").mkdir(parents=True)
    for name, size in (("1--Crowd/a.jpg", (64, 48)), ("1--Crowd/empty.jpg", (32, 32)), ("flat.png", (40, 30))):
        Image.new("RGB", size, (90, 90, 90)).save(images / name)
    (tmp_path / "pack" / "faces.csv").write_text(
        "image,event,face,x,y,w,h,blur,invalid,easy,medium,hard,skin,gender,region\n"
        "1--Crowd/a.jpg,1--Crowd,1,30,10,12,14,2,0,0,1,1,V,,north\n"
        "1--Crowd/a.jpg,1--Crowd,0,2,3,10,10,0,0,1,1,1,,Female,\n"
        "flat.png,,0,5,5,8,9,,1,0,0,0,Not Sure,Male,south\n")
    return tmp_path / "pack"


def test_pack_lists_every_image_and_sorts_faces(tiny_pack):
    faces = load_pack(tiny_pack)
    assert faces.images.tolist() == ["1--Crowd/a.jpg", "1--Crowd/empty.jpg", "flat.png"]
    assert faces.image_index.tolist() == [0, 0, 2]
    assert faces.face_id.tolist() == [0, 1, 0]  # sorted by the official index
    assert faces.xywh[0].tolist() == [2, 3, 10, 10]
    assert faces.image_bounds().tolist() == [0, 2, 2, 3]
    assert faces.image_sizes().tolist() == [[64, 48], [32, 32], [40, 30]]
    assert faces.image_event(2) == "" and faces.image_stem(0) == "a"
    assert faces.event.tolist() == ["1--Crowd", "1--Crowd", ""]


def test_labels_stay_as_given_and_missing_stays_missing(tiny_pack):
    faces = load_pack(tiny_pack)
    assert set(faces.sets) == {"easy", "medium", "hard"}
    assert faces.sets["easy"].tolist() == [True, False, False]
    assert set(faces.conditions) == {"blur", "invalid"}
    assert np.isnan(faces.conditions["blur"][2])
    assert set(faces.attributes) == {"skin", "gender", "region"}  # any extra column is a group
    assert faces.attributes["skin"].tolist() == [MISSING, "V", "Not Sure"]
    assert faces.valid.tolist() == [True, True, False]


def test_arrays_cannot_be_changed(tiny_pack):
    faces = load_pack(tiny_pack)
    with pytest.raises(ValueError):
        faces.xywh[0, 0] = 1
    with pytest.raises(ValueError):
        faces.attributes["skin"][0] = "I"
    with pytest.raises(TypeError):
        faces.attributes["new"] = np.array([])  # type: ignore[index]


def test_only_images_renumbers(tiny_pack):
    faces = load_pack(tiny_pack)
    narrowed = faces.only_images(np.array([False, True, True]))
    assert narrowed.images.tolist() == ["1--Crowd/empty.jpg", "flat.png"]
    assert narrowed.image_index.tolist() == [1]
    assert narrowed.attributes["region"].tolist() == ["south"]


@pytest.mark.parametrize(("text", "message"), [
    ("image,x,y,w\na.jpg,1,2,3\n", "expected box columns"),
    ("image,x,y,w,h\na.jpg,1,2,three,4\n", "column 'w' row 2: expected a number"),
    ("image,x,y,w,h\na.jpg,1,2,-3,4\n", "w, h >= 0"),
    ("x,y,w,h\n1,2,3,4\n", "'image' column"),
])
def test_bad_csv_is_refused_with_the_reason(tmp_path, text, message):
    path = tmp_path / "faces.csv"
    path.write_text(text)
    with pytest.raises(InputFileError, match=message):
        load_faces_csv(path)


def test_corner_columns_are_accepted(tmp_path):
    path = tmp_path / "boxes.csv"
    path.write_text("image,x1,y1,x2,y2,skin\nb.jpg,10,10,30,40,II\na.jpg,0,0,5,5,\n")
    faces = load_faces_csv(path)
    assert faces.images.tolist() == ["a.jpg", "b.jpg"]
    assert faces.xywh.tolist() == [[0, 0, 5, 5], [10, 10, 20, 30]]
    assert faces.sets == {} and faces.root is None


def test_an_image_named_but_absent_is_an_error(tiny_pack):
    (tiny_pack / "images" / "flat.png").unlink()
    with pytest.raises(InputFileError, match="flat.png"):
        load_pack(tiny_pack)


def test_not_a_pack(tmp_path):
    with pytest.raises(InputFileError, match="faces.csv"):
        load_pack(tmp_path)


# -- WIDER txt --------------------------------------------------------------------------
def test_wider_txt_round_trip(tmp_path):
    path = write_wider_txt(tmp_path / "e" / "a.txt", "a", np.array([[1.5, 2, 10, 12]]), np.array([0.87654321]))
    assert path.read_text().splitlines() == ["a", "1", "1.50 2.00 10.00 12.00 0.876543"]
    name, xywh, score = read_wider_txt(path)
    assert name == "a" and xywh.tolist() == [[1.5, 2, 10, 12]] and score.tolist() == [0.876543]


def test_wider_txt_reads_as_the_official_tool(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("0--Parade/a.jpg\n2\n1 2 3 4 0.9 7 7 \n5 6 7 8 0.5\n\n")
    name, xywh, score = read_wider_txt(path)
    assert name == "0--Parade/a.jpg" and xywh.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert score.tolist() == [0.9, 0.5]
    path.write_text("a\n0\n")
    assert read_wider_txt(path)[1].shape == (0, 4)


@pytest.mark.parametrize(("text", "message"), [
    ("a\n", "count line"),
    ("a\ntwo\n", "line 2: expected the number"),
    ("a\n3\n1 2 3 4 0.5\n", "announces 3 boxes but 1"),
    ("a\n1\n1 2 3 4 0.5\n1 2 3 4 0.5\n", "more box lines"),
    ("a\n2\n1 2 3 4 0.5\n1 2 3 x 0.5\n", "line 4: expected 'x y w h score'"),
    ("a\n1\n1 2 3 4\n", "line 3"),
])
def test_malformed_wider_txt_names_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(InputFileError, match=message):
        read_wider_txt(path)


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


def test_bad_jsonl_line_is_named(tiny_pack, tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_text('{"image": "flat.png", "faces": [{"score": 1}]}\n')
    with pytest.raises(InputFileError, match="line 1"):
        read_boxes(path, load_pack(tiny_pack))


def test_pack_boxes_validate():
    with pytest.raises(ConfigError, match="sorted by image"):
        PackBoxes(image_index=[1, 0], xywh=np.zeros((2, 4)), score=[1, 1], found=[True, True])
    with pytest.raises(ConfigError, match="expected xywh"):
        PackBoxes(image_index=[0], xywh=np.zeros((2, 4)), score=[1], found=[True])
    with pytest.raises(ConfigError, match="image_index"):
        LabelledFaces(images=["a"], image_index=[1], face_id=[0], xywh=[[0, 0, 1, 1]])


def test_real_pack_reads_whole(wider_pack):
    faces = load_pack(wider_pack)
    assert (len(faces), faces.n_images) == (17009, 1324)
    assert {k: int(v.sum()) for k, v in faces.sets.items()} == {"easy": 2958, "medium": 5587, "hard": 13353}
    skin = faces.attributes["skin"]
    assert (skin != MISSING).sum() == 5078 and (skin == "Not Sure").sum() == 973
    found = read_boxes(wider_pack / "predictions" / "retinaface-fork", faces)
    assert found.found.all() and len(found) > 100_000
    protest = np.isin(faces.event, PROTEST_EVENTS)
    assert 0.1 < protest.mean() < 0.5
