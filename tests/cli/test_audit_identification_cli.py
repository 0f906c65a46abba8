"""`unseen audit identification` in-process: both modes on the hand-worked case (the --json
contract), the report files, and errors."""

import json

import pandas as pd
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
