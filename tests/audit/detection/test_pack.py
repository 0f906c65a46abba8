"""Reading WIDER-layout packs and other CSVs of labelled faces."""

from __future__ import annotations

import numpy as np
import pytest

from unseen.audit.detection.box_files import read_boxes
from unseen.audit.detection.pack import (
    MISSING, PROTEST_EVENTS, LabelledFaces, load_faces_csv, load_labelled_faces, load_pack,
)
from unseen.errors import ConfigError, InputFileError


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
    ("image,x,y,w,h\na.jpg,1,2,three,4\n", "none of its 1 row.*line 2: not a number \\(w 'three'\\)"),
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


def test_an_image_named_but_absent_is_set_aside_and_an_error_under_strict(tiny_pack):
    (tiny_pack / "images" / "flat.png").unlink()
    faces = load_pack(tiny_pack)
    assert faces.images.tolist() == ["1--Crowd/a.jpg", "1--Crowd/empty.jpg"] and len(faces) == 2
    assert faces.set_aside.problem.tolist() == ["file not found"] and faces.set_aside.line.tolist() == [4]
    with pytest.raises(InputFileError, match="faces.csv line 4: file not found.*--strict"):
        load_pack(tiny_pack, strict=True)


def test_not_a_pack(tmp_path):
    with pytest.raises(InputFileError, match="faces.csv"):
        load_pack(tmp_path)


def test_labelled_faces_validate():
    with pytest.raises(ConfigError, match="image_index"):
        LabelledFaces(images=["a"], image_index=[1], face_id=[0], xywh=[[0, 0, 1, 1]])


def test_a_pack_folder_or_any_csv_of_labelled_faces(tiny_pack, tmp_path):
    assert load_labelled_faces(tiny_pack).n_images == 3
    assert len(load_labelled_faces(tiny_pack / "faces.csv")) == 3
    with pytest.raises(InputFileError, match="no such pack"):
        load_labelled_faces(tmp_path / "nowhere")


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
