"""The engine weighs people: a person given w copies must count exactly as if the data held w
copies of them (searched w times, listed w times). Checked against the plain audit of tables
where people are really left out or copied; and the audit's bootstrap, which draws the
people searched and keeps the gallery, brackets what it observed."""

import numpy as np
import pytest

from unseen.audit.identification.audit import audit_identification
from unseen.audit.identification.candidates import CandidateLists
from unseen.audit.identification.config import IdentificationConfig
from unseen.audit.identification.engine import GroupCoding, GroupTotals, outcomes, search_data
from unseen.audit.identification.samples import Samples
from unseen.audit.recognition.comparisons import label_codes

GROUPS = ("A", "B", "C")


def people(seed):
    """30 people in 3 groups; 20 in the gallery (some with 2 photos), 25 probes (some not in the gallery)."""
    rng = np.random.default_rng(seed)
    group = {f"s{i}": GROUPS[i % 3] for i in range(30)}
    gallery = [(f"g{i}_{k}", f"s{i}") for i in range(20) for k in range(1 + (i % 4 == 0))]
    probes = [(f"p{i}", f"s{i}") for i in range(5, 30)]
    score = {(p, g): float(rng.normal(2.0 if ps == gs else 0.0, 1.0)) for p, ps in probes for g, gs in gallery}
    return group, gallery, probes, score


def lists_of(group, gallery, probes, score, copies):
    """Complete candidate lists over the people with copies > 0, each copied that many times."""
    gal = [(f"{g}#{c}", s) for g, s in gallery for c in range(copies[s])]
    pro = [(f"{p}#{c}", s) for p, s in probes for c in range(copies[s])]
    g_samples = Samples(ids=[g for g, _ in gal], subjects=[s for _, s in gal], attributes=("group",),
                        labels=[[group[s]] for _, s in gal], role="gallery")
    p_samples = Samples(ids=[p for p, _ in pro], subjects=[s for _, s in pro], attributes=("group",),
                        labels=[[group[s]] for _, s in pro], role="probes")
    search, rank, candidate, scores = [], [], [], []
    for i, (p, _) in enumerate(pro):
        row = np.array([score[(p.split("#")[0], g.split("#")[0])] for g, _ in gal])
        order = np.argsort(-row, kind="stable")
        search += [i] * len(gal)
        rank += list(range(1, len(gal) + 1))
        candidate += order.tolist()
        scores += row[order].tolist()
    return CandidateLists.build(probes=p_samples, gallery=g_samples, search=search, rank=rank, candidate=candidate,
                                score=scores, max_rank=len(gal))


def weighted_totals(lists, weights_by_subject, *, fixed, target):
    data = search_data(lists)
    weights = np.array([[weights_by_subject[name] for name in data.subject_names]], float)
    names, codes = label_codes(np.r_[lists.probes.labels[:, 0], lists.gallery.labels[:, 0]])
    coding = GroupCoding.of("group", names, codes[:len(lists.probes)], codes[len(lists.probes):], data)
    out = outcomes(data, weights, rank=3, fixed_threshold=fixed, target=target, gallery_copies=weights)
    return out.threshold[0], GroupTotals.of(out, data, coding)


def plain_totals(audit):
    item = audit.attribute("group")
    return {"nonmated": item.fpir.trials, "false_positives": item.fpir.events, "mated": item.fnir_rank1.trials,
            "miss_rank1": item.fnir_rank1.events, "miss_rank_r": item.fnir_rank_r.events,
            "miss_rank1_at": item.fnir_rank1_at.events, "miss_rank_r_at": item.fnir_rank_r_at.events}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("policy", ["fixed", "target-fpir"])
def test_weights_count_as_copies_of_people(seed, policy):
    group, gallery, probes, score = people(seed)
    rng = np.random.default_rng(100 + seed)
    draw = {s: int(w) for s, w in zip(group, rng.choice([0, 1, 1, 2, 3], size=len(group)))}
    full = lists_of(group, gallery, probes, score, {s: 1 for s in group})
    copied = lists_of(group, gallery, probes, score, draw)
    fixed = 1.2 if policy == "fixed" else None
    threshold, weighted = weighted_totals(full, draw, fixed=fixed, target=0.2)
    config = IdentificationConfig(policy=policy, threshold=fixed, target_fpir=0.2, rank=3, n_bootstrap=0,
                                  gallery_sizes=0)
    audit = audit_identification(copied, config=config)
    assert threshold == pytest.approx(audit.threshold)
    for name, expected in plain_totals(audit).items():
        assert getattr(weighted, name)[0].tolist() == pytest.approx(expected.tolist()), name
    # the same copies of every false candidate, by probe group and candidate group
    assert weighted.sources[0].sum() == pytest.approx(audit.attribute().sources.counts.sum())


def test_unit_weights_are_the_observed_data():
    group, gallery, probes, score = people(5)
    lists = lists_of(group, gallery, probes, score, {s: 1 for s in group})
    _, totals = weighted_totals(lists, {s: 1 for s in group}, fixed=0.5, target=0.1)
    audit = audit_identification(lists, config=IdentificationConfig(policy="fixed", threshold=0.5, rank=3,
                                                                    n_bootstrap=0, gallery_sizes=0))
    assert totals.false_positives[0].tolist() == audit.attribute().fpir.events.tolist()
    assert int(totals.nonmated[0][0]) == 10 and int(totals.mated[0][0]) == 15   # p20-p29 are not in the gallery


def test_bootstrap_intervals_bracket_the_observed_rates_even_at_a_loose_threshold():
    """Drawing gallery people with replacement would shrink the gallery (about 63% distinct) and
    pull every FPIR interval below the observed rate; the audit keeps the gallery."""
    from tests.audit.identification.test_audit import synthetic

    lists = synthetic(n_gallery=300, n_probes=1000, mated=40, seed=4)
    loose = float(np.quantile(lists.score[lists.rank == 2], 0.5))   # many searches with one or two look-alikes
    audit = audit_identification(lists, config=IdentificationConfig(policy="fixed", threshold=loose,
                                                                    n_bootstrap=300, gallery_sizes=0))
    item = audit.attribute()
    assert 0.5 < item.fpir.rate[0] < 0.7         # (with the gallery drawn too: 0.586 observed, [0.509, 0.573])
    for table in (item.fpir, item.fnir_rank1, item.fnir_rank1_at):
        for k in range(len(table)):
            if table.trials[k]:
                assert table.ci[k, 0] <= table.rate[k] <= table.ci[k, 1], (table.names[k], table.rate[k], table.ci[k])
