"""`unseen audit detection` in-process: the JSON contract, HTML and CSV, a real detector, errors."""

from __future__ import annotations

import csv
import json
import re
import shutil

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from unseen.audit.detection.box_files import PackBoxes, write_wider_dir
from unseen.audit.detection.pack import load_pack
from unseen.cli import app
from unseen.errors import ConfigError, InputFileError

runner = CliRunner()


@pytest.fixture()
def labelled_pack(tmp_path):
    """60 synthetic images with four faces each; type VI faces are smaller and missed more."""
    rng = np.random.default_rng(7)
    images = tmp_path / "pack" / "images" / "9--Crowd"
    images.mkdir(parents=True)
    rows = ["image,event,face,x,y,w,h,blur,occlusion,pose,illumination,invalid,easy,medium,hard,skin,gender"]
    for i in range(60):
        Image.new("RGB", (320, 120), (80, 80, 80)).save(images / f"c_{i}.jpg")
        for j in range(4):
            skin = ("I", "II", "V", "VI")[j]
            size = int(rng.integers(14, 40)) if skin in ("I", "II") else int(rng.integers(8, 24))
            rows.append(f"9--Crowd/c_{i}.jpg,9--Crowd,{j},{10 + 75 * j},20,{size},{size},{rng.integers(0, 3)},0,0,0,0,"
                        f"{int(size >= 30)},{int(size >= 18)},1,{skin},{'Female' if j % 2 else 'Male'}")
    (tmp_path / "pack" / "faces.csv").write_text("\n".join(rows) + "\n")
    return tmp_path / "pack"


@pytest.fixture()
def saved_boxes(labelled_pack, tmp_path):
    """Boxes that find a face with a probability rising with its size, plus a few strays."""
    faces = load_pack(labelled_pack)
    rng = np.random.default_rng(8)
    found = rng.random(len(faces)) < np.clip((faces.height - 6) / 25, 0.05, 0.97)
    per_image = []
    bounds = faces.image_bounds()
    for i in range(faces.n_images):
        rows = np.arange(bounds[i], bounds[i + 1])
        keep = rows[found[rows]]
        xywh = np.r_[faces.xywh[keep], [[290, 90, 12, 12]] if i % 7 == 0 else np.zeros((0, 4))]
        per_image.append((xywh, rng.uniform(0.5, 1.0, len(xywh))))
    write_wider_dir(tmp_path / "boxes", faces, PackBoxes.from_lists(per_image))
    return tmp_path / "boxes"


def test_saved_boxes_give_the_json_contract_html_and_csv(labelled_pack, saved_boxes, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["audit", "detection", str(labelled_pack), "--boxes", str(saved_boxes),
                                 "--bootstrap", "200", "--label-source", "skin=annotator",
                                 "--json", str(out / "d.json"), "--html", str(out / "d.html"), "--csv", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "d.json").read_text())
    assert set(data["ap"]) == {"easy", "medium", "hard"}
    assert all(0 <= v <= 1 for v in data["ap"].values())  # fractions, not percents
    for key in ("all", "skin=I", "skin=VI", "skin (pooled)=V-VI", "gender=Female"):
        entry = data["recall"][key]
        assert set(entry) >= {"value", "ci", "n"} and 0 <= entry["value"] <= 1 and len(entry["ci"]) == 2
    assert data["recall"]["skin=VI"]["n"] == 60
    assert data["recall"]["skin=VI"]["value"] < data["recall"]["skin=I"]["value"]
    models = data["regression"]["skin (pooled)"]
    assert set(models) == {"raw", "size-controlled", "adjusted"}
    for model in models.values():
        for ratio in model["odds_ratios"]:
            assert set(ratio) >= {"variable", "level", "reference", "value", "ci"}
    assert data["false_positives"]["total"] == 9
    assert data["data"]["labels: skin"] == "annotator"
    html = (out / "d.html").read_text()
    assert html.count("<svg") >= 4 and "Odds ratios of a miss" in html and "What this shows" in html
    assert not re.findall(r"(?:src|href)=\"https?:", html)
    with (out / "rates.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {r["breakdown"] for r in rows} >= {"overall", "group", "intersection", "height", "within size"}
    assert (out / "odds_ratios.csv").is_file() and (out / "ap.csv").is_file()
    assert "recall by group" in result.output


def test_coverage_of_a_redactors_boxes(labelled_pack, saved_boxes, tmp_path):
    (saved_boxes / "shape.txt").write_text("ellipse\n")
    out = tmp_path / "cover.json"
    result = runner.invoke(app, ["audit", "detection", str(labelled_pack), "--boxes", str(saved_boxes),
                                 "--coverage", "--bootstrap", "200", "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["coverage"]["shape"] == "ellipse"  # read from shape.txt beside the boxes
    assert data["method"]["threshold"] == 0.0  # every covered box counts
    ellipse = data["coverage"]["hidden"]["all"]["value"]
    assert "faces hidden by group" in result.output and "understate what was found" in result.output
    result = runner.invoke(app, ["audit", "detection", str(labelled_pack), "--boxes", str(saved_boxes),
                                 "--coverage", "--shape", "box", "--bootstrap", "200", "--json", str(out)])
    data = json.loads(out.read_text())
    assert data["coverage"]["hidden"]["all"]["value"] == pytest.approx(data["recall"]["all"]["value"])
    # an ellipse drawn in the face box covers about 80% of it (a little more on small faces,
    # as OpenCV fills the boundary pixels): it hides fewer faces than the box itself
    assert ellipse < data["coverage"]["hidden"]["all"]["value"]


@pytest.mark.parametrize(("arguments", "message"), [
    ([], "either --boxes"),
    (["--boxes", "B", "--detector", "mtcnn"], "either --boxes"),
    (["--detector", "nosuch"], "unknown value 'nosuch'"),
])
def test_usage_errors_exit_2(labelled_pack, arguments, message):
    result = runner.invoke(app, ["audit", "detection", str(labelled_pack), *arguments])
    assert isinstance(result.exception, ConfigError) and result.exception.exit_code == 2
    assert message in str(result.exception)


def test_missing_pack_exits_3(tmp_path):
    result = runner.invoke(app, ["audit", "detection", str(tmp_path / "nowhere"), "--boxes", str(tmp_path)])
    assert isinstance(result.exception, InputFileError) and result.exception.exit_code == 3


@pytest.mark.slow
def test_a_detector_runs_and_saves_resumable_boxes(wider_pack, tmp_path):
    """CenterFace on three real crowd photos: boxes saved in WIDER format, then reused."""
    faces = load_pack(wider_pack)
    chosen = [name for name in faces.images if name.startswith("2--Demonstration/")][:3]
    pack = tmp_path / "pack"
    for name in chosen:
        (pack / "images" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(wider_pack / "images" / name, pack / "images" / name)
    lines = (wider_pack / "faces.csv").read_text().splitlines()
    (pack / "faces.csv").write_text("\n".join([lines[0]] + [l for l in lines[1:] if l.split(",")[0] in chosen]) + "\n")
    saved = tmp_path / "boxes"
    arguments = ["audit", "detection", str(pack), "--detector", "centerface", "--save-boxes", str(saved),
                 "--bootstrap", "100", "--json", str(tmp_path / "a.json")]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    txts = sorted(saved.rglob("*.txt"))
    assert len(txts) == 3 and json.loads((saved / "times.json").read_text()).keys() == set(chosen)
    data = json.loads((tmp_path / "a.json").read_text())
    assert data["recall"]["all"]["value"] > 0.3 and data["data"]["detector"] == "centerface"
    stamp = [t.stat().st_mtime_ns for t in txts]
    assert runner.invoke(app, arguments).exit_code == 0
    assert [t.stat().st_mtime_ns for t in txts] == stamp  # resumed: nothing detected again


def test_any_csv_of_labelled_boxes_with_json_lines(tmp_path):
    """No WIDER layout: a CSV of boxes with a label column, boxes as JSON lines; no AP then."""
    rows = ["image,x1,y1,x2,y2,tone"]
    records = []
    rng = np.random.default_rng(2)
    for i in range(40):
        boxes = []
        for j, tone in enumerate(("light", "dark")):
            x = 50 * j
            rows.append(f"street/{i}.jpg,{x},0,{x + 30},30,{tone}")
            if rng.random() < (0.9 if tone == "light" else 0.6):
                boxes.append({"box": [x + 1, 0, x + 31, 30], "score": 0.8})
        records.append(json.dumps({"image": f"street/{i}.jpg", "faces": boxes}))
    (tmp_path / "faces.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "boxes.jsonl").write_text("\n".join(records) + "\n")
    out = tmp_path / "a.json"
    result = runner.invoke(app, ["audit", "detection", str(tmp_path / "faces.csv"), "--boxes",
                                 str(tmp_path / "boxes.jsonl"), "--bootstrap", "200", "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["ap"] is None and data["regression"] == {}
    assert data["recall"]["tone=light"]["n"] == 40 and data["recall"]["tone=dark"]["n"] == 40
    assert data["recall"]["tone=dark"]["value"] < data["recall"]["tone=light"]["value"]
