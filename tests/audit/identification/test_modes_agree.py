"""The hand-worked case (`cases`) in both modes: a vendor's lists, and unseen's own search over
the photos; then the search's lists written out and audited as a vendor's. Same figures."""


import pytest

from tests.audit.fakes import FakeDetector, FakeEmbedder
from tests.audit.identification import cases
from unseen.audit.identification.audit import audit_identification
from unseen.audit.identification.candidates import read_candidates, write_candidates, write_samples
from unseen.audit.identification.config import IdentificationConfig
from unseen.audit.identification.images import SearchImagesConfig, audit_search_images
from unseen.audit.identification.samples import read_samples
from unseen.audit.identification.search import SearchConfig
from unseen.audit.recognition.enrolment import EnrolConfig
from unseen.audit.recognition.manifest import read_manifest

FIXED = IdentificationConfig(policy="fixed", threshold=cases.THRESHOLD, n_bootstrap=50, gallery_sizes=0)


def figures(audit):
    item = audit.attribute("race")
    out = {}
    for name in ("all", "X", "Y"):
        k = item.names.index(name)
        out[name] = [float(item.fpir.rate[k]), float(item.fnir_rank1_at.rate[k]), float(item.fnir_rank1.rate[k]),
                     float(item.fnir_rank_r.rate[k]), float(item.fnir_rank_r_at.rate[k])]
    return out


def same(a, b):
    return a.keys() == b.keys() and all(x == pytest.approx(list(b[k])) for k, x in a.items())


def vendor_audit(paths, candidates=None, config=FIXED, **tables):
    probes = read_samples(tables.get("probes", paths["probes"]), role="probes", groups=("race",))
    gallery = read_samples(tables.get("gallery", paths["gallery"]), role="gallery", groups=("race",))
    lists = read_candidates(candidates or paths["candidates"], probes=probes, gallery=gallery)
    return lists, audit_identification(lists, config=config)


def search_audit(paths, backend="faiss", config=FIXED):
    probes = read_manifest(paths["probes-photos"], groups=("race",))
    gallery = read_manifest(paths["gallery-photos"], groups=("race",))
    images = SearchImagesConfig(enrol=EnrolConfig(faces="whole-image"),
                                search=SearchConfig(rank=cases.RANK, backend=backend))
    return audit_search_images(probes, gallery, models=["fake"], config=config, images=images,
                               build_embedder=lambda name: FakeEmbedder(), build_detector=lambda name: FakeDetector())


def test_vendor_lists_give_the_hand_worked_figures(tmp_path):
    lists, audit = vendor_audit(cases.write_tables(tmp_path))
    assert lists.scale.value == "distance" and lists.max_rank == 2   # read from the 'distance' column
    assert same(figures(audit), cases.HAND)
    item = audit.attribute()
    assert item.sources.counts.tolist() == [[1, 0], [0, 1]]          # pE's false candidate is X, pG's is Y
    assert (audit.n_searches, audit.n_mated, audit.n_nonmated) == (6, 3, 3)


@pytest.mark.parametrize("backend", ["faiss", "numpy"])
def test_unseen_search_over_the_photos_gives_the_same_figures(tmp_path, backend):
    paths = cases.write_tables(tmp_path)
    result = search_audit(paths, backend)
    (lists,), (audit,) = result.lists, result.audits
    assert same(figures(audit), cases.HAND)
    expected = {(r["probe_id"], r["rank"], r["candidate_id"]): r["distance"] for r in cases.vendor_rows()}
    got = {(p.split("/")[-1][:-4], r["rank"], c.split("/")[-1][:-4]): r["score"]
           for r, p, c in ((r, r["probe_id"], r["candidate_id"]) for r in lists.rows())}
    assert got.keys() == expected.keys()
    assert [got[k] for k in expected] == pytest.approx(list(expected.values()), rel=1e-5)


def test_written_search_lists_audited_as_a_vendors_agree(tmp_path):
    paths = cases.write_tables(tmp_path)
    searched = search_audit(paths)
    lists = searched.lists[0]
    out = tmp_path / "written"
    again_lists, again = vendor_audit(paths, candidates=write_candidates(out / "cands.csv", lists),
                                      probes=write_samples(out / "probes.csv", lists.probes),
                                      gallery=write_samples(out / "gallery.csv", lists.gallery))
    assert same(figures(again), figures(searched.audits[0]))
    assert again_lists.scale is lists.scale
    a, b = searched.audits[0].attribute(), again.attribute()
    for table in ("fpir", "fnir_rank1", "fnir_rank_r", "fnir_rank1_at", "fnir_rank_r_at"):
        assert getattr(a, table).events.tolist() == getattr(b, table).events.tolist()
        assert getattr(a, table).ci == pytest.approx(getattr(b, table).ci, nan_ok=True)   # same people, same draws
    assert a.sources.counts.tolist() == b.sources.counts.tolist()


def test_both_modes_set_the_same_target_fpir_threshold(tmp_path):
    paths = cases.write_tables(tmp_path)
    config = IdentificationConfig(target_fpir=0.34, n_bootstrap=0, gallery_sizes=0)
    _, vendor = vendor_audit(paths, config=config)
    searched = search_audit(paths, config=config).audits[0]
    # non-mated best distances 5, 6, 35 (x sqrt 3): at most 0.34 x 3 = 1.02 may reach it, so pE's alone
    assert vendor.threshold_input == pytest.approx(5 * 3 ** 0.5)
    assert searched.threshold_input == pytest.approx(vendor.threshold_input, rel=1e-6)
    assert vendor.attribute().fpir.rate.tolist() == pytest.approx([1 / 3, 1.0, 0.0])


def test_the_images_mode_reports_each_stage_through_the_progress_interface(tmp_path):
    from unseen.progress import Recorded

    paths = cases.write_tables(tmp_path)
    progress = Recorded()
    probes = read_manifest(paths["probes-photos"], groups=("race",))
    gallery = read_manifest(paths["gallery-photos"], groups=("race",))
    audit_search_images(probes, gallery, models=["fake"], config=FIXED, progress=progress,
                        images=SearchImagesConfig(enrol=EnrolConfig(faces="whole-image"),
                                                  search=SearchConfig(rank=cases.RANK)),
                        build_embedder=lambda name: FakeEmbedder(), build_detector=lambda name: FakeDetector())
    assert progress.stages == ["enrolling", "searching (faiss)", "fake: bootstrap"]
    assert progress.done == FIXED.n_bootstrap
