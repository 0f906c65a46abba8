"""The identification audit's figures beyond the hand-worked rates: thresholds, intervals and
flags, the gallery experiments, and what is said when a kind of search is missing."""

import numpy as np
import pytest

from tests.audit.identification import cases
from unseen.audit.identification.audit import audit_identification
from unseen.audit.identification.candidates import read_candidates
from unseen.audit.identification.config import IdentificationConfig
from unseen.audit.identification.samples import Samples, read_samples
from unseen.audit.identification.search import SearchConfig, search_gallery
from unseen.errors import ConfigError
from unseen.progress import Recorded


@pytest.fixture()
def hand_lists(tmp_path):
    paths = cases.write_tables(tmp_path)
    probes = read_samples(paths["probes"], role="probes", groups=("race",))
    gallery = read_samples(paths["gallery"], role="gallery", groups=("race",))
    return read_candidates(paths["candidates"], probes=probes, gallery=gallery)


def synthetic(*, n_gallery=1200, n_probes=600, mated=100, seed=0, spread=(1.0, 0.6)):
    """Two groups of one-photo people with random templates; group B's faces lie closer together
    (smaller spread around a shared centre), so B's searches find look-alikes more often.
    The first ``mated`` probes are second photos of gallery people."""
    rng = np.random.default_rng(seed)
    d = 16
    centre = rng.normal(size=d) * 2

    def faces(n, group):
        return centre + rng.normal(size=(n, d)) * np.where(group == "B", spread[1], spread[0])[:, None]

    g_group = np.where(np.arange(n_gallery) % 2, "B", "A")
    gallery_t = faces(n_gallery, g_group)
    p_group = np.where(np.arange(n_probes) % 2, "B", "A")
    probe_t = faces(n_probes, p_group)
    probe_subject = np.array([f"new{i}" for i in range(n_probes)], dtype=object)
    probe_t[:mated] = gallery_t[:mated] + rng.normal(size=(mated, d)) * 0.3
    p_group[:mated] = g_group[:mated]
    probe_subject[:mated] = [f"g{i}" for i in range(mated)]
    gallery = Samples(ids=[f"g{i}" for i in range(n_gallery)], subjects=[f"g{i}" for i in range(n_gallery)],
                      attributes=("group",), labels=g_group[:, None], role="gallery")
    probes = Samples(ids=[f"p{i}" for i in range(n_probes)], subjects=probe_subject.astype(str),
                     attributes=("group",), labels=p_group[:, None], role="probes")
    return search_gallery(probes=probes, gallery=gallery, probe_templates=probe_t.astype(np.float32),
                          gallery_templates=gallery_t.astype(np.float32), metric="cosine", config=SearchConfig(rank=20))


@pytest.fixture(scope="module")
def synthetic_audit():
    lists = synthetic()
    progress = Recorded()
    audit = audit_identification(lists, config=IdentificationConfig(target_fpir=0.05, n_bootstrap=200,
                                                                    gallery_draws=5), progress=progress)
    return lists, audit, progress


def test_target_fpir_threshold_allows_at_most_the_target_and_is_set_again_per_replicate(synthetic_audit):
    _, audit, progress = synthetic_audit
    item = audit.attribute()
    assert item.fpir.rate[0] <= 0.05 and item.fpir.rate[0] > 0.04
    assert audit.threshold_ci[0] < audit.threshold < audit.threshold_ci[1]
    assert progress.stages[0].endswith("bootstrap") and progress.done == 200
    for k in range(3):
        low, high = item.fpir.ci[k]
        assert low <= item.fpir.rate[k] <= high


def test_a_group_with_look_alikes_has_more_false_positives_and_a_stricter_own_threshold(synthetic_audit):
    _, audit, _ = synthetic_audit
    item = audit.attribute()
    a, b = item.names.index("A"), item.names.index("B")
    assert item.fpir.rate[b] > 2 * item.fpir.rate[a]
    assert item.fpir.differs[b] and any("differs from the other groups'" in f for f in item.fpir.flags[b])
    assert item.threshold_shift[b] > 0 > item.threshold_shift[a]
    # B's false candidates are mostly B: look-alikes come from one's own group
    assert item.sources.share[b - 1, b - 1] > 0.8 and item.sources.gallery_share.tolist() == [0.5, 0.5]


def test_fpir_grows_with_the_gallery_and_the_whole_gallery_is_the_main_figure(synthetic_audit):
    _, audit, _ = synthetic_audit
    curve = audit.attribute().gallery_size
    assert curve.sizes[0] == 10 and curve.sizes[-1] == 1200
    assert np.all(np.diff(curve.fpir[0]) >= -0.01) and curve.fpir[0, 0] < curve.fpir[0, -1] / 5
    assert curve.fpir[:, -1] == pytest.approx(audit.attribute().fpir.rate)
    assert np.all(curve.ci[:, -1, 0] <= curve.fpir[:, -1]) and curve.incomplete == 0


def test_fpir_grows_with_the_share_of_the_probes_own_group(synthetic_audit):
    _, audit, _ = synthetic_audit
    make_up = audit.attribute().make_up
    b = make_up.names.index("B")
    assert make_up.size == 600 and make_up.shares[0] == 0 and make_up.shares[-1] == 1
    assert make_up.fpir[b, -1] > make_up.fpir[b, 0] + 0.05
    assert make_up.actual_share.tolist() == [0.5, 0.5]


def test_mated_searches_are_found_and_fnir_falls_with_rank(synthetic_audit):
    _, audit, _ = synthetic_audit
    item = audit.attribute()
    assert audit.n_mated == 100 and audit.n_nonmated == 500
    assert item.fnir_rank_r.rate[0] <= item.fnir_rank1.rate[0] <= item.fnir_rank1_at.rate[0]
    assert item.fnir_rank_r_at.rate[0] <= item.fnir_rank1_at.rate[0]


def test_zero_errors_are_an_upper_bound_and_small_samples_are_flagged(hand_lists):
    audit = audit_identification(hand_lists, config=IdentificationConfig(
        policy="fixed", threshold=cases.THRESHOLD, n_bootstrap=50))
    item = audit.attribute()
    y = item.names.index("Y")
    assert item.fnir_rank1.events[y] == 0 and item.fnir_rank1.bound_only[y]
    assert item.fnir_rank1.ci[y] == pytest.approx([0.0, 0.95])       # rule of three on 1 search (exact bound)
    assert any("upper bound (rule of three)" in f for f in item.fnir_rank1.flags[y])
    assert any("3 people: too few for a bias figure" in f for f in item.fpir.flags[y])
    assert any(c.startswith("Far too small for any bias figure") for c in audit.caveats)
    assert not any("empty list" in c for c in audit.caveats)     # every probe returned a list


def test_without_non_mated_searches_there_is_no_threshold_and_fnir_is_by_rank(hand_lists):
    mated_only = hand_lists.probes.ids[:3]
    probes = Samples(ids=mated_only, subjects=hand_lists.probes.subjects[:3], attributes=("race",),
                     labels=hand_lists.probes.labels[:3], role="probes")
    keep = hand_lists.search < 3
    from unseen.audit.identification.candidates import CandidateLists

    lists = CandidateLists.build(probes=probes, gallery=hand_lists.gallery, search=hand_lists.search[keep],
                                 rank=hand_lists.rank[keep], candidate=hand_lists.candidate[keep],
                                 score=hand_lists.score[keep], max_rank=2)
    audit = audit_identification(lists, config=IdentificationConfig(n_bootstrap=20))
    assert not audit.has_threshold and audit.attribute().fnir_rank1_at is None
    assert audit.attribute().fnir_rank1.rate.tolist() == pytest.approx([1 / 3, 0.5, 0.0])
    assert audit.attribute().gallery_size is None
    assert any("FPIR) cannot be measured" in c for c in audit.caveats)
    assert any("no threshold can be set" in f for f in audit.flags)


@pytest.mark.parametrize("kwargs, match", [
    ({"policy": "fixed"}, "--threshold: the fixed policy needs"),
    ({"threshold": 0.5}, "exclude each other"),
    ({"target_fpir": 0.0}, "--target-fpir"),
    ({"policy": "oracle"}, "--threshold-policy"),
])
def test_bad_options_are_refused_by_name(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        IdentificationConfig(**kwargs)


def test_fnir_beyond_the_lists_cannot_be_asked_for(hand_lists):
    with pytest.raises(ConfigError, match="at most 2 candidates"):
        audit_identification(hand_lists, config=IdentificationConfig(rank=5, n_bootstrap=0))
