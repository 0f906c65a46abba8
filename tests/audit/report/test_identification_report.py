"""The identification report: the JSON contract, CSV tables, and an offline HTML page whose
summary says what was measured."""

import csv
import json
import re

import pytest

from tests.audit.identification import cases
from tests.audit.identification.test_audit import synthetic
from unseen.audit.identification.audit import audit_identification
from unseen.audit.identification.candidates import read_candidates
from unseen.audit.identification.config import IdentificationConfig
from unseen.audit.identification.samples import read_samples
from unseen.audit.report import identification as report


@pytest.fixture(scope="module")
def audits():
    lists = synthetic(n_gallery=400, n_probes=300, mated=60, seed=3)
    return [audit_identification(lists, config=IdentificationConfig(target_fpir=0.05, n_bootstrap=100,
                                                                    gallery_draws=3))]


def test_json_holds_the_contract_and_every_figure(audits, tmp_path):
    data = json.loads(report.write_json(tmp_path / "a.json", audits, title="t").read_text())
    assert data["schema"] == "unseen.audit.identification/1" and data["threshold_policy"] == "target-fpir"
    assert data["threshold"] == pytest.approx(audits[0].threshold) and data["target_fpir"] == 0.05
    assert set(data["groups"]) == {"A", "B"} and data["attribute"] == "group"
    for block in data["groups"].values():
        assert {"fnir_rank1", "fpir", "n_mated_searches", "n_nonmated_searches"} <= set(block)
        assert 0 <= block["fpir"] <= 1 and 0 <= block["fnir_rank1"] <= 1      # fractions, not percents
        assert block["fnir_rank1"] == block["fnir_rank1_no_threshold"]      # no fixed threshold given
    assert data["groups"]["A"]["n_mated_searches"] + data["groups"]["B"]["n_mated_searches"] == 60
    system = data["systems"][audits[0].system]["attributes"]["group"]
    assert len(system["gallery_size"]["gallery_people"]) == len(system["gallery_size"]["fpir"]["all"])
    assert system["candidate_sources"]["probe_groups"] == ["A", "B"]
    assert system["gallery_make_up"]["own_group_share"][-1] == 1.0


def test_csv_tables(audits, tmp_path):
    paths = report.write_csv_tables(tmp_path, audits)
    assert [p.name for p in paths] == ["groups.csv", "candidate_sources.csv", "gallery_size.csv",
                                       "gallery_make_up.csv"]
    rows = list(csv.DictReader(paths[0].open()))
    assert [r["group"] for r in rows] == ["all", "A", "B"]
    assert float(rows[0]["fpir"]) == pytest.approx(audits[0].attribute().fpir.rate[0])
    for path, curve, step in ((paths[2], audits[0].attribute().gallery_size, "gallery_people"),
                              (paths[3], audits[0].attribute().make_up, "own_group_share")):
        rows = list(csv.DictReader(path.open()))
        assert len(rows) == len(curve.names) * curve.fpir.shape[1]   # a row per group and step
        last = rows[-1]
        assert last["group"] == curve.names[-1] and float(last["fpir"]) == pytest.approx(curve.fpir[-1, -1])
        assert float(last["high"]) == pytest.approx(curve.ci[-1, -1, 1]) and step in last


def test_html_page_is_offline_and_its_summary_can_be_quoted(audits, tmp_path):
    page = report.write_html(tmp_path / "a.html", audits).read_text()
    assert page.count("<svg") >= 5
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page) and "<script" not in page
    summary = page[page.index("What this shows"):page.index("</section>")]
    assert "returned at least one false candidate" in summary and "highest for B probes" in summary
    assert "As the gallery grew from 10 to 400 people" in summary and "returned a false candidate rose" in summary
    assert "were themselves B" in summary


def test_a_fixed_threshold_makes_fnir_rank1_the_thresholded_one_and_tiny_samples_say_so(tmp_path):
    paths = cases.write_tables(tmp_path)
    lists = read_candidates(paths["candidates"], probes=read_samples(paths["probes"], role="probes", groups=("race",)),
                            gallery=read_samples(paths["gallery"], role="gallery", groups=("race",)))
    audit = audit_identification(lists, config=IdentificationConfig(policy="fixed", threshold=cases.THRESHOLD,
                                                                    n_bootstrap=20))
    data = report.report_data([audit])
    assert data["groups"]["Y"]["fnir_rank1"] == 1.0 and data["groups"]["Y"]["fnir_rank1_no_threshold"] == 0.0
    assert data["target_fpir"] is None
    page = report.write_html(tmp_path / "h.html", [audit]).read_text()
    assert "Far too small for any bias figure" in page
