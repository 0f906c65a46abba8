"""The images mode end to end with the built-in detector and a built-in recognizer, on real photos.

- identities: each of the 61 photos of 13 people searched against the other 60 (mated searches);
  a pipeline check, and the report must say the sample is far too small for a bias figure;
- UTKFace: 160 aligned crops (20 per race x gender, one photo per person) searched against each
  other: every search is non-mated, so this is a false-positive audit.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from unseen.audit.identification.audit import audit_identification
from unseen.audit.identification.candidates import read_candidates, write_candidates, write_samples
from unseen.audit.identification.config import IdentificationConfig
from unseen.audit.identification.images import SearchImagesConfig, audit_search_images
from unseen.audit.identification.samples import read_samples
from unseen.audit.recognition.enrolment import EnrolConfig
from unseen.audit.recognition.manifest import manifest_from_pairs, read_manifest
from unseen.audit.report import identification as report
from unseen.audit.report import write_csv_table

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def identities(identities_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("identities-search")
    derived = manifest_from_pairs(identities_dir / "pairs.csv", images=identities_dir / "images")
    manifest = read_manifest(write_csv_table(folder / "manifest.csv", derived.rows()), groups=("group",),
                             label_sources=(("group", "none: one group"),))
    result = audit_search_images(manifest, manifest, models=["facenet"],
                                 config=IdentificationConfig(n_bootstrap=100, gallery_sizes=0),
                                 images=SearchImagesConfig(enrol=EnrolConfig(detection_side=640)))
    return result, folder


def test_identities_people_are_found_first_and_the_report_says_it_is_no_bias_figure(identities):
    result, folder = identities
    (audit,) = result.audits
    assert audit.n_searches == 61 and audit.n_gallery == 61 and audit.n_probe_people == 13
    assert audit.n_mated == 61 and not audit.has_threshold        # everyone has another photo in the gallery
    item = audit.attribute()
    assert item.fnir_rank1.rate[0] <= 0.05, f"FNIR at rank 1 {item.fnir_rank1.rate[0]:.3f}"
    assert item.fnir_rank_r.rate[0] == 0.0
    assert np.all(np.isfinite(item.fnir_rank1.ci[0]))             # subject-level interval
    assert not np.any(result.lists[0].candidate[result.lists[0].search == 0] == 0)   # never itself
    page = report.write_html(folder / "identities.html", result.audits, probe_failures=result.probe_failures,
                             gallery_failures=result.gallery_failures).read_text()
    assert "Far too small for any bias figure: 13 people" in page
    data = json.loads(report.write_json(folder / "identities.json", result.audits).read_text())
    assert data["threshold"] is None and data["groups"]["all"]["fpir"] is None


@pytest.fixture(scope="module")
def utkface(utkface_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("utkface-search")
    labels = pd.read_csv(utkface_dir / "labels.csv")
    sample = labels.groupby(["race", "gender"]).sample(n=20, random_state=0).reset_index(drop=True)
    sample.to_csv(folder / "sample.csv", index=False)
    manifest = read_manifest(folder / "sample.csv", path_column="image", subject_column=None,
                             groups=("race", "gender"), one_image_per_subject=True, images=utkface_dir / "images")
    config = IdentificationConfig(target_fpir=0.05, n_bootstrap=200, gallery_draws=5)
    result = audit_search_images(manifest, manifest, models=["facenet"], config=config,
                                 attributes=("race", "race x gender"),
                                 images=SearchImagesConfig(enrol=EnrolConfig(faces="whole-image")))
    return result, config, folder


def test_utkface_false_positive_audit(utkface):
    result, _, _ = utkface
    (audit,) = result.audits
    assert audit.n_searches == 160 and audit.n_nonmated == 160
    # the sample holds one photo twice (UTKFace has duplicates): kept once in the gallery, never its own candidate
    assert audit.n_gallery == 159 and any("byte-identical" in note for note in result.notes)
    item = audit.attribute("race")
    assert item.fpir.rate[0] <= 0.05 and item.fpir.events[0] >= 4      # the threshold is for FPIR 0.05
    assert set(item.groups) == {"Asian", "Black", "Indian", "White"} and item.fpir.trials[1:].tolist() == [40] * 4
    assert np.all(np.isfinite(item.fpir.ci[0]))
    curve = item.gallery_size
    assert curve.sizes[-1] == 159 and curve.fpir[0, -1] == pytest.approx(item.fpir.rate[0])
    assert curve.fpir[0, 0] < curve.fpir[0, -1]                          # more people, more look-alikes
    assert item.sources.counts.sum() >= item.fpir.events[0]             # every false positive has a candidate
    assert len(audit.attribute("race x gender").groups) == 8
    assert any("too small for a bias figure" in c for c in audit.caveats)
    assert any("Each photo is taken to be a different person" in c for c in audit.caveats)


def test_utkface_search_lists_audited_as_a_vendors_give_the_same_figures(utkface):
    result, config, folder = utkface
    lists = result.lists[0]
    probes = read_samples(write_samples(folder / "probes.csv", lists.probes), role="probes",
                          groups=("race", "gender"))
    gallery = read_samples(write_samples(folder / "gallery.csv", lists.gallery), role="gallery",
                           groups=("race", "gender"))
    again = audit_identification(read_candidates(write_candidates(folder / "cands.parquet", lists), probes=probes,
                                                 gallery=gallery), config=config, attributes=("race",))
    before, after = result.audits[0].attribute("race"), again.attribute("race")
    assert again.threshold == pytest.approx(result.audits[0].threshold, abs=1e-6)
    assert after.fpir.events.tolist() == before.fpir.events.tolist()
    assert after.sources.counts.tolist() == before.sources.counts.tolist()
