"""`unseen audit scores|rates|images|pairs-manifest` in-process: the --json contract, HTML
and CSV outputs, errors."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from tests.audit.fakes import FakeDetector, FakeEmbedder, write_manifest
from unseen.audit.recognition.manifest import read_manifest
from unseen.cli import app

runner = CliRunner()


@pytest.fixture()
def pairs_csv(tmp_path):
    rng = np.random.default_rng(3)
    rows = []
    for group, shift in (("A", 0.0), ("B", 0.3)):
        for i in range(60):
            rows.append({"img_1": f"{group}{i}_1.jpg", "img_2": f"{group}{i}_2.jpg", "mated": 1, "race": group,
                         "sim": rng.normal(2.0, 0.5), "dist": 0.0})
            for j in range(1, 4):
                rows.append({"img_1": f"{group}{i}_1.jpg", "img_2": f"{group}{(i + j) % 60}_2.jpg", "mated": 0,
                             "race": group, "sim": rng.normal(shift, 0.5), "dist": 0.0})
    frame = pd.DataFrame(rows)
    frame["dist"] = 3.0 - frame["sim"]
    path = tmp_path / "pairs.csv"
    frame.to_csv(path, index=False)
    return path


def test_scores_writes_the_json_contract_html_and_csv(pairs_csv, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["audit", "scores", str(pairs_csv), "--score", "sim", "--score", "dist:distance",
                                 "--mated", "mated", "--group", "race", "--subjects-from", "img_1,img_2",
                                 "--target-fmr", "0.01", "--bootstrap", "40", "--json", str(out / "a.json"),
                                 "--html", str(out / "a.html"), "--csv", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "a.json").read_text())
    assert set(data["models"]) == {"sim", "dist"}
    for model, block in data["models"].items():
        assert set(block["threshold"]) >= {"value", "policy", "target_fmr"}
        assert block["threshold"]["policy"] == "target-fmr" and block["threshold"]["target_fmr"] == 0.01
        assert set(block["groups"]) == {"A", "B"}
        for group in block["groups"].values():
            assert set(group) >= {"fmr", "fnmr", "fmr_ci", "fnmr_ci", "n_mated", "n_nonmated", "accuracy"}
            assert 0 <= group["fmr"] <= 1 and 0 <= group["accuracy"] <= 1   # fractions, not percents
            assert group["n_mated"] == 60 and group["n_nonmated"] == 180
        assert set(block["summary"]) >= {"fdr", "ir", "garbe", "ser", "std", "fmr_max_min", "fnmr_max_min",
                                         "fmr_max_geomean", "fnmr_max_geomean"}
        assert len(block["cross_group_fmr"]["fmr"]) == 2
    # the distance column is the same information flipped: same rates, threshold 3 - t
    sim, dist = data["models"]["sim"], data["models"]["dist"]
    assert sim["groups"]["B"]["fmr"] == dist["groups"]["B"]["fmr"]
    assert dist["threshold"]["value"] == pytest.approx(3 - sim["threshold"]["value"])
    assert data["method"]["bootstrap"]["unit"] == "subject"
    html = (out / "a.html").read_text()
    assert "<svg" in html and "What this shows" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert (out / "groups.csv").read_text().startswith("model,attribute,operating_point")


def test_scores_reports_pair_level_when_no_subject_ids(pairs_csv, tmp_path):
    result = runner.invoke(app, ["audit", "scores", str(pairs_csv), "--score", "sim", "--mated", "mated",
                                 "--group", "race", "--bootstrap", "20", "--json", str(tmp_path / "b.json")])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "b.json").read_text())
    assert data["method"]["bootstrap"]["unit"] == "pair"
    assert any("too narrow" in note for note in data["data"]["notes"])


def test_unknown_policy_exits_with_usage_error_listing_choices(pairs_csv):
    result = runner.invoke(app, ["audit", "scores", str(pairs_csv), "--score", "sim", "--mated", "mated",
                                 "--group", "race", "--threshold-policy", "oracle"])
    assert result.exit_code != 0
    assert "accuracy-minus-std" in str(result.exception)


def test_missing_column_names_the_option(pairs_csv):
    result = runner.invoke(app, ["audit", "scores", str(pairs_csv), "--score", "nope", "--mated", "mated",
                                 "--group", "race"])
    assert result.exit_code != 0 and "--score" in str(result.exception)


def test_rates_command(tmp_path):
    path = tmp_path / "rates.csv"
    pd.DataFrame({"algo": ["x", "y"], "FMR.A": [1e-4, 1e-5], "FMR.B": [1e-5, 1e-5], "FNMR.A": [0.01, 0.02],
                  "FNMR.B": [0.02, 0.02]}).to_csv(path, index=False)
    result = runner.invoke(app, ["audit", "rates", str(path), "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["systems"][0]["fmr_max_min"] == pytest.approx(10.0)
    assert data["medians"]["fmr_max_min"] == pytest.approx(5.5)


def test_images_cli_with_fake_models(tmp_path, monkeypatch):
    import unseen.faces.registry as registry

    manifest_path = write_manifest(tmp_path)
    monkeypatch.setattr(registry, "build_embedder", lambda name, **kw: FakeEmbedder())
    monkeypatch.setattr(registry, "build_detector", lambda name, **kw: FakeDetector())
    out = tmp_path / "o.json"
    templates = tmp_path / "t.npz"
    args = ["audit", "images", str(manifest_path), "--model", "fake", "--group", "group", "--target-fmr", "0.05",
            "--extra-targets", "0.1", "--bootstrap", "10", "--json", str(out), "--html", str(tmp_path / "o.html"),
            "--csv", str(tmp_path / "tables"), "--templates", str(templates),
            "--workers", "1"]   # the fake models live in this process only
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["failure_to_enrol"]["fake"]["group"]["B"]["failed"] == 1
    assert [p.rsplit("/", 1)[-1] for p in data["failure_to_enrol_images"]["fake"]] == ["s0_0.png"]
    thresholds = data["models"]["fake"]["thresholds"]
    assert [t["operating_point"] for t in thresholds] == ["FMR 0.05", "FMR 0.1", "customary distance 10"]
    assert thresholds[2]["value"] == 10.0 and thresholds[2]["policy"] == "fixed"
    assert data["models"]["fake"]["scale"].startswith("distance")
    html = (tmp_path / "o.html").read_text()
    assert "Far too small" in html and "no face / photos" in html and "1 / 18" in html
    rows = pd.read_csv(tmp_path / "tables" / "failure_to_enrol.csv")
    assert rows.set_index("group").loc["B", "failed"] == 1
    rerun = runner.invoke(app, args)
    assert rerun.exit_code == 0 and "reused from earlier runs: fake 36 of 36" in " ".join(rerun.output.split())


def test_images_cli_streams_every_pair_with_the_tables_figures(tmp_path, monkeypatch):
    import unseen.faces.registry as registry

    manifest_path = write_manifest(tmp_path)
    monkeypatch.setattr(registry, "build_embedder", lambda name, **kw: FakeEmbedder())
    monkeypatch.setattr(registry, "build_detector", lambda name, **kw: FakeDetector())
    figures = {}
    for scoring in ("exact", "streaming"):
        out = tmp_path / f"{scoring}.json"
        result = runner.invoke(app, ["audit", "images", str(manifest_path), "--model", "fake", "--group", "group",
                                     "--target-fmr", "0.05", "--extra-targets", "0.1", "--bootstrap", "20",
                                     "--scoring", scoring, "--memory", "8", "--workers", "1", "--json", str(out)])
        assert result.exit_code == 0, result.output
        figures[scoring] = json.loads(out.read_text())["models"]["fake"]["thresholds"]
    assert figures["exact"] == figures["streaming"]
    result = runner.invoke(app, ["audit", "images", str(manifest_path), "--model", "fake", "--group", "group",
                                 "--scoring", "fast"])
    assert result.exit_code != 0 and "--scoring: unknown value" in str(result.exception)


def test_pairs_manifest_cli(tmp_path):
    for name in ("a1.jpg", "a2.jpg", "b1.jpg"):
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / name)
    pairs = tmp_path / "pairs.csv"
    pd.DataFrame({"image_a": ["a1.jpg", "a1.jpg"], "image_b": ["a2.jpg", "b1.jpg"], "same_person": [1, 0]}).to_csv(
        pairs, index=False)
    out = tmp_path / "out" / "manifest.csv"
    result = runner.invoke(app, ["audit", "pairs-manifest", str(pairs), "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out)
    assert written.subject.tolist() == ["a1", "a1", "b1"] and set(written.group) == {"all"}
    assert read_manifest(out, groups=("group",)).paths[0] == tmp_path / "a1.jpg"
