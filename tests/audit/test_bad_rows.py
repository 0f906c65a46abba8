"""A corpus of bad tables for every audit reader: each bad row is set aside, named by file and
line, counted, and the rest is read; --strict refuses it; whole-file problems are one clear
error. Property tests check the same on tables Hypothesis writes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from unseen.audit.detection.box_files import format_wider_txt, read_wider_txt
from unseen.audit.detection.pack import load_faces_csv
from unseen.audit.recognition.manifest import manifest_from_pairs, read_manifest
from unseen.audit.recognition.readers import TableColumns, read_comparisons
from unseen.audit.verification.audit import audit_verification
from unseen.audit.verification.config import VerificationConfig
from unseen.audit.verification.published import read_published_rates
from unseen.errors import ConfigError, InputFileError

HEADER = "img_1,img_2,score,mated,race\n"
GOOD = ["a_1.jpg,a_2.jpg,0.9,1,A", "a_1.jpg,b_1.jpg,0.2,0,A", "c_1.jpg,d_1.jpg,0.3,0,B", "c_1.jpg,c_2.jpg,0.8,1,B"]
PAIRS = TableColumns(scores=("score",), mated="mated", groups=("race",), subjects=("img_1", "img_2"),
                     subjects_from_files=True)


@pytest.mark.parametrize(("row", "problem", "detail"), [
    ("e_1.jpg,f_1.jpg,,0,A", "missing value", "no 'score'"),
    ("e_1.jpg,f_1.jpg,nan,0,A", "missing value", "no 'score'"),  # pandas reads 'nan' as a missing value
    ("e_1.jpg,f_1.jpg,high,0,A", "not a number", "score 'high'"),
    ("e_1.jpg,f_1.jpg,inf,0,A", "infinite number", "score 'inf'"),
    ("e_1.jpg,f_1.jpg,-1e999,0,A", "infinite number", "score '-inf'"),
    ("e_1.jpg,f_1.jpg,0.5,,A", "missing value", "no 'mated'"),
    ("e_1.jpg,f_1.jpg,0.5,perhaps,A", "unreadable value", "mated 'perhaps' is not 1/0 or true/false"),
    (",f_1.jpg,0.5,0,A", "missing value", "no file name in 'img_1'"),
    ("nounderscore,f_1.jpg,0.5,0,A", "missing value", "no subject id found in img_1 'nounderscore'"),
    ("a_2.jpg,a_1.jpg,0.9,1,A", "duplicate", "'a_2.jpg' and 'a_1.jpg' compared again; the first row is kept"),
    ("a_1.jpg,a_1.jpg,1.0,1,A", "an image compared with itself", "'a_1.jpg' on both sides"),
])
def test_a_bad_comparison_row_is_set_aside_by_line_and_the_rest_is_read(tmp_path, row, problem, detail):
    path = tmp_path / "pairs.csv"
    path.write_text(HEADER + "\n".join(GOOD[:2] + [row] + GOOD[2:]) + "\n")
    comparisons = read_comparisons(path, columns=PAIRS)
    assert len(comparisons) == len(GOOD)
    assert comparisons.provenance.set_aside.notes() == [f"set aside: {path} line 4: {problem} ({detail}); left out"]
    with pytest.raises(InputFileError, match=f"pairs.csv line 4: {problem}.*--strict"):
        read_comparisons(path, columns=PAIRS, strict=True)


def test_an_empty_group_label_is_no_label_not_a_bad_row(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text(HEADER + "\n".join(GOOD + ["e_1.jpg,f_1.jpg,0.5,0,"]) + "\n")
    comparisons = read_comparisons(path, columns=PAIRS, strict=True)
    assert len(comparisons) == 5 and comparisons.grouping("race").code_a[-1] == -1


@pytest.mark.parametrize(("text", "error", "message"), [
    ("", InputFileError, "cannot read as a table"),
    ("img_1,img_2,mated,race\na_1.jpg,a_2.jpg,1,A\n", ConfigError, r"--score: column\(s\) \['score'\] not in"),
    (HEADER + "e_1.jpg,f_1.jpg,x,0,A\n", InputFileError, "none of its 1 rows can be used"),
    (HEADER + "e_1.jpg,f_1.jpg,0.5,maybe,A\n", ConfigError, "--mated: expected 1/0 or true/false"),
    (HEADER.replace("img_1", "img_x"), ConfigError, r"--subjects-from: column\(s\) \['img_1'\]"),
])
def test_a_table_that_cannot_be_read_at_all_is_one_clear_error(tmp_path, text, error, message):
    path = tmp_path / "pairs.csv"
    path.write_bytes(text.encode())
    with pytest.raises(error, match=message):
        read_comparisons(path, columns=PAIRS)


def test_a_binary_file_named_csv_is_refused_by_name(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises((InputFileError, ConfigError), match="pairs.csv"):
        read_comparisons(path, columns=PAIRS)


def test_a_labels_row_repeating_a_key_is_set_aside_and_unlabelled_scores_are_named(tmp_path):
    scores = tmp_path / "scores.csv"
    scores.write_text("img_1,img_2,dist\na_1.jpg,a_2.jpg,0.3\nb_1.jpg,c_1.jpg,1.2\nx_1.jpg,y_1.jpg,0.9\n")
    labels = tmp_path / "labels.csv"
    labels.write_text("img_1,img_2,y,race\na_1.jpg,a_2.jpg,1,A\nb_1.jpg,c_1.jpg,0,B\nb_1.jpg,c_1.jpg,0,B\n")
    columns = TableColumns(scores=("dist:distance",), mated="y", groups=("race",), join=labels,
                           join_on=("img_1", "img_2"))
    comparisons = read_comparisons(scores, columns=columns)
    assert len(comparisons) == 2  # the repeated label row would have counted b_1/c_1 twice
    notes = comparisons.provenance.set_aside.notes()
    assert notes[0].startswith(f"set aside: {labels} line 4: duplicate (key img_1 'b_1.jpg', img_2 'c_1.jpg' again")
    assert notes[1].startswith(f"set aside: {scores} line 4: missing value (no row of labels.csv has its key")


def test_one_group_data_is_audited_without_a_cross_group_comparison(tmp_path):
    rng = np.random.default_rng(0)
    subjects = np.repeat(np.arange(40), 2)
    rows = [f"s{subjects[i]}_{i},s{subjects[j]}_{j},{rng.normal(0.8 if subjects[i] == subjects[j] else 0.2, 0.1)},"
            f"{int(subjects[i] == subjects[j])},everyone"
            for i in range(80) for j in range(i + 1, min(80, i + 6))]
    path = tmp_path / "one-group.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    comparisons = read_comparisons(path, columns=PAIRS, strict=True)
    audit = audit_verification(comparisons, config=VerificationConfig(n_bootstrap=0), attributes=["race"])
    groups = audit.results[0].operating_points[0].groups
    assert [rate.group.label for rate in groups.fmr] == ["everyone"]


def test_a_large_table_is_read_in_seconds(tmp_path):
    n = 200_000
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"img_1": [f"p{i % 5000}_{i % 7}.jpg" for i in range(n)],
                          "img_2": [f"q{i}_{i % 3}.jpg" for i in range(n)], "score": rng.random(n),
                          "mated": rng.integers(0, 2, n), "race": rng.choice(["A", "B", "C"], n)})
    frame.loc[[10, 20_000, 199_999], "score"] = [np.nan, np.inf, -np.inf]
    path = tmp_path / "large.csv"
    frame.to_csv(path, index=False)
    comparisons = read_comparisons(path, columns=PAIRS)
    assert len(comparisons) == n - 3
    assert comparisons.provenance.set_aside.line.tolist() == [12, 20_002, 200_001]


# -- property tests --------------------------------------------------------------------
CELLS = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: ("ok", repr(v))),
    st.sampled_from([("missing value", ""), ("not a number", "abc"), ("infinite number", "inf"),
                     ("infinite number", "-inf")]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.tuples(CELLS, st.sampled_from(["1", "0", "yes", "", "??"])), min_size=1, max_size=25))
def test_every_bad_score_or_mark_is_named_at_its_line_and_every_good_row_kept_in_order(tmp_path, cells):
    lines = [f"s{i}_a.jpg,t{i}_b.jpg,{score},{mark},G" for i, ((_, score), mark) in enumerate(cells)]
    path = tmp_path / "t.csv"
    path.write_text(HEADER + "\n".join(lines) + "\n")
    good = [i for i, ((kind, _), mark) in enumerate(cells) if kind == "ok" and mark in ("1", "0", "yes")]
    if not good:
        with pytest.raises((InputFileError, ConfigError)):
            read_comparisons(path, columns=PAIRS)
        return
    comparisons = read_comparisons(path, columns=PAIRS)
    set_aside = comparisons.provenance.set_aside
    assert sorted(set_aside.line.tolist()) == [i + 2 for i in range(len(cells)) if i not in good]
    assert np.allclose(comparisons.scores[:, 0], [float(cells[i][0][1]) for i in good])
    for i, line in enumerate(set_aside.line):
        (kind, _), mark = cells[line - 2]
        expected = kind if kind != "ok" else ("missing value" if mark == "" else "unreadable value")
        assert set_aside.problem[i] == expected


BOX = st.tuples(st.integers(-50, 2000), st.integers(-50, 2000), st.integers(-20, 300), st.integers(-20, 300))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(boxes=st.lists(st.one_of(BOX.map(lambda b: tuple(map(str, b))),
                                st.sampled_from([("1", "2", "", "4"), ("1", "nan", "3", "4"), ("1", "2", "inf", "3")])),
                      min_size=1, max_size=20))
def test_pack_rows_with_unusable_coordinates_are_left_out_and_degenerate_boxes_kept_invalid(tmp_path, boxes):
    path = tmp_path / "faces.csv"
    path.write_text("image,face,x,y,w,h\n" + "".join(f"i{k % 3}.jpg,{k},{','.join(b)}\n" for k, b in enumerate(boxes)))
    usable = [k for k, b in enumerate(boxes) if all(v not in ("", "nan", "inf") for v in b)]
    if not usable:
        with pytest.raises(InputFileError, match="none of its"):
            load_faces_csv(path)
        return
    faces = load_faces_csv(path)
    assert sorted(faces.face_id.tolist()) == usable
    w, h = faces.xywh[:, 2], faces.xywh[:, 3]
    assert faces.valid.tolist() == ((w > 0) & (h > 0)).tolist()
    degenerate = [k for k in usable if float(boxes[k][2]) <= 0 or float(boxes[k][3]) <= 0]
    named = sorted(faces.set_aside.line.tolist())
    assert named == sorted([k + 2 for k in range(len(boxes)) if k not in usable] + [k + 2 for k in degenerate])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.tuples(*[st.floats(-1e4, 1e4, allow_nan=False)] * 4, st.floats(0, 1)), max_size=30))
def test_wider_txt_reads_back_what_was_written(tmp_path, values):
    array = np.array(values, np.float64).reshape(-1, 5)
    path = tmp_path / "a.txt"
    path.write_text(format_wider_txt("e/a", array[:, :4], array[:, 4]))
    read = read_wider_txt(path)
    assert read.name == "e/a" and read.xywh.shape == (len(values), 4)
    assert np.allclose(read.xywh, np.round(array[:, :4], 2), atol=0.006)
    assert np.allclose(read.score, np.round(array[:, 4], 6), atol=1e-6)
    assert read.set_aside.problem.tolist() == ["negative width or height"] * int(
        ((np.round(array[:, 2], 2) < 0) | (np.round(array[:, 3], 2) < 0)).sum())


# -- manifests, pairs lists, published rates ---------------------------------------------
def _images(folder, *names):
    for name in names:
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(folder / name)


def test_manifest_rows_repeating_an_image_or_naming_a_missing_one_are_set_aside(tmp_path):
    _images(tmp_path, "a.jpg", "b.jpg")
    path = tmp_path / "m.csv"
    path.write_text("path,subject,race\na.jpg,s1,A\nb.jpg,s2,B\na.jpg,s3,A\ngone.jpg,s4,B\n,s5,A\n")
    manifest = read_manifest(path, groups=("race",))
    assert [p.name for p in manifest.paths] == ["a.jpg", "b.jpg"]
    assert manifest.set_aside.problem.tolist() == ["duplicate", "file not found", "missing value"]
    assert manifest.set_aside.line.tolist() == [4, 5, 6]
    path.write_text("path,subject,race\nx.jpg,s1,A\ny.jpg,s2,B\n")
    with pytest.raises(InputFileError, match="none of the 2 images is there.*see --images"):
        read_manifest(path, groups=("race",))


def test_a_pairs_list_row_with_a_bad_mark_or_a_missing_image_is_set_aside(tmp_path):
    _images(tmp_path, "a1.jpg", "a2.jpg", "b1.jpg")
    path = tmp_path / "pairs.csv"
    path.write_text("image_a,image_b,same_person\na1.jpg,a2.jpg,1\na1.jpg,b1.jpg,0\na2.jpg,b1.jpg,?\n"
                    "a1.jpg,gone.jpg,1\n")
    derived = manifest_from_pairs(path)
    assert derived.subjects == ("a1", "a1", "b1")
    assert derived.set_aside.problem.tolist() == ["unreadable value", "file not found"]
    with pytest.raises(InputFileError, match="pairs.csv line 4: unreadable value"):
        manifest_from_pairs(path, strict=True)


def test_published_rates_rows_that_are_not_fractions_are_set_aside(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("system,FMR.A,FMR.B,FNMR.A,FNMR.B\nx,0.001,0.0001,0.02,0.03\ny,0.01,,0.01,0.05\n"
                    "z,12,0.1,0.1,0.1\nw,abc,0.1,0.1,0.1\nx,0.5,0.5,0.5,0.5\n,0.1,0.1,0.1,0.1\nv,inf,0.1,0.1,0.1\n")
    rates = read_published_rates(path)
    assert rates.systems == ("x", "y") and math.isnan(rates.fmr[1, 1])  # an empty cell: a rate not given
    assert rates.set_aside.problem.tolist() == ["value out of range", "not a number", "duplicate", "missing value",
                                                "infinite number"]
    path.write_text("system,FMR.A,FMR.B,FNMR.A,FNMR.B\nx,1.5,2,3,4\ny,10,20,30,40\n")
    with pytest.raises(InputFileError, match="not percents"):
        read_published_rates(path)
