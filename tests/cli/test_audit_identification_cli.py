"""`unseen audit identification` in-process: both modes on the hand-worked case (the --json
contract), the report files, and errors."""

import json

import pytest

from tests.audit.fakes import FakeDetector, FakeEmbedder
from tests.audit.identification import cases


def test_cli_both_modes_write_the_json_contract_with_the_hand_figures(tmp_path, run_main, monkeypatch):
    from unseen.faces import registry

    paths = cases.write_tables(tmp_path)
    ran = run_main("audit", "identification", "--candidates", paths["candidates"], "--probes", paths["probes"],
                   "--gallery", paths["gallery"], "--group", "race", "--threshold", cases.THRESHOLD,
                   "--json", tmp_path / "vendor.json", "--bootstrap", "20")
    assert ran.code == 0, ran.err
    monkeypatch.setattr(registry, "build_embedder", lambda name, **kw: FakeEmbedder())
    monkeypatch.setattr(registry, "build_detector", lambda name, **kw: FakeDetector())
    ran = run_main("audit", "identification", "--model", "fake", "--probes", paths["probes-photos"],
                   "--gallery", paths["gallery-photos"], "--group", "race", "--threshold", cases.THRESHOLD,
                   "--rank", "2", "--json", tmp_path / "search.json", "--bootstrap", "20",
                   "--save-candidates", tmp_path / "saved")
    assert ran.code == 0, ran.err
    for name in ("vendor", "search"):
        data = json.loads((tmp_path / f"{name}.json").read_text())
        assert data["threshold"] == pytest.approx(cases.THRESHOLD)
        assert set(data["groups"]) == {"X", "Y"}
        for group, (fpir, fnir_at, *_rest) in cases.HAND.items():
            if group == "all":
                continue
            block = data["groups"][group]
            assert block["fpir"] == pytest.approx(fpir) and block["fnir_rank1"] == pytest.approx(fnir_at)
            assert {k: block[k] for k in cases.HAND_COUNTS[group]} == cases.HAND_COUNTS[group]
    ran = run_main("audit", "identification", "--candidates", tmp_path / "saved" / "candidates-fake.csv",
                   "--probes", tmp_path / "saved" / "probes.csv", "--gallery", tmp_path / "saved" / "gallery-fake.csv",
                   "--group", "race", "--threshold", cases.THRESHOLD, "--json", tmp_path / "saved.json",
                   "--bootstrap", "20")
    assert ran.code == 0, ran.err
    saved = json.loads((tmp_path / "saved.json").read_text())
    search = json.loads((tmp_path / "search.json").read_text())
    assert saved["groups"] == search["groups"]


def test_cli_writes_html_and_csv_and_prints_the_table(tmp_path, run_main):
    paths = cases.write_tables(tmp_path)
    ran = run_main("audit", "identification", "--candidates", paths["candidates"], "--probes", paths["probes"],
                   "--gallery", paths["gallery"], "--group", "race", "--target-fpir", "0.34", "--bootstrap", "20",
                   "--html", tmp_path / "r.html", "--csv", tmp_path / "tables", "--system", "vendor-x")
    assert ran.code == 0, ran.err
    assert "vendor-x by race" in ran.out and "Far too small for any bias figure" in ran.out
    page = (tmp_path / "r.html").read_text()
    assert "vendor-x" in page and "<svg" in page and "What this shows" in page
    assert {p.name for p in (tmp_path / "tables").iterdir()} == {"groups.csv", "candidate_sources.csv",
                                                                 "gallery_size.csv", "gallery_make_up.csv"}


@pytest.mark.parametrize("extra, code, message", [
    ((), 2, "--candidates/--model"),
    (("--candidates", "CANDS", "--model", "dlib"), 2, "--candidates/--model"),
    (("--candidates", "CANDS", "--threshold", "1", "--target-fpir", "0.01"), 2, "give one of them"),
    (("--candidates", "CANDS", "--rank", "9"), 2, "at most 2 candidates"),
    (("--candidates", "MISSING"), 3, "no such file"),
])
def test_cli_errors_name_the_option_and_exit_with_its_status(tmp_path, run_main, extra, code, message):
    paths = cases.write_tables(tmp_path)
    extra = [str(paths["candidates"]) if e == "CANDS" else str(tmp_path / "nope.csv") if e == "MISSING" else e
             for e in extra]
    ran = run_main("audit", "identification", "--probes", paths["probes"], "--gallery", paths["gallery"],
                   "--group", "race", "--bootstrap", "0", *extra)
    assert ran.code == code and message in ran.err.replace("\n", " ")
