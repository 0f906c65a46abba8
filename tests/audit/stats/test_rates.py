"""The per-group rate table: counts against brute force, empty groups, rows, selection."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from unseen.audit.stats.rates import EVERYONE, Group, RateTable
from unseen.errors import ConfigError


@st.composite
def memberships(draw):
    n_items = draw(st.integers(0, 20))
    n_groups = draw(st.integers(1, 5))
    members = np.array(draw(st.lists(st.booleans(), min_size=n_items * n_groups, max_size=n_items * n_groups)),
                       bool).reshape(n_groups, n_items)
    events = np.array(draw(st.lists(st.booleans(), min_size=n_items, max_size=n_items)), bool)
    return members, events


@given(memberships())
def test_counted_rates_match_brute_force(data):
    members, events = data
    groups = [Group(attribute="g", label=str(i)) for i in range(len(members))]
    table = RateTable.counted(groups, members, events)
    for i, rate in enumerate(table):
        trials = [j for j in range(members.shape[1]) if members[i, j]]
        hits = [j for j in trials if events[j]]
        assert (rate.n, rate.k) == (len(trials), len(hits))
        if trials:
            assert rate.value == pytest.approx(len(hits) / len(trials)) == pytest.approx(table.rate[i])
        else:
            assert np.isnan(rate.value) and np.isnan(table.rate[i])
        assert rate.p_holm is None and not rate.differs and np.isnan(rate.ci).all()
    assert table.names == tuple(f"g={i}" for i in range(len(members)))


@given(memberships(), st.data())
def test_selected_and_joined_rows_keep_their_figures(data, draw):
    members, events = data
    table = RateTable.counted([Group(attribute="g", label=str(i)) for i in range(len(members))], members, events)
    keep = np.array(draw.draw(st.lists(st.booleans(), min_size=len(table), max_size=len(table))), bool)
    part = table.where(keep)
    assert part.labels == tuple(label for label, k in zip(table.labels, keep) if k)
    assert part.trials.tolist() == table.trials[keep].tolist()
    both = RateTable.joined([part, table.where(~keep)])
    assert sorted(zip(both.labels, both.events.tolist())) == sorted(zip(table.labels, table.events.tolist()))


def test_groups_are_named_from_their_fields():
    assert Group().name == EVERYONE
    assert Group(attribute="skin", label="V-VI").name == "skin=V-VI"
    crossed = Group(attribute="skin & gender", label="V-VI & Female", name="skin=V-VI & gender=Female")
    assert crossed.name == "skin=V-VI & gender=Female"
    table = RateTable(groups=(Group(within="10-16"), Group(attribute="skin", label="I", within="10-16")),
                      trials=[4, 2], events=[1, 2])
    assert [r.key for r in table] == ["10-16", "skin=I"]
    assert table.get("skin=I", within="10-16").k == 2
    with pytest.raises(KeyError):
        table.get("skin=I")
    assert table.of_attribute("skin").names == ("skin=I",)


def test_tables_validate_their_shapes():
    with pytest.raises(ConfigError, match=r"RateTable.events: expected shape \(2,\)"):
        RateTable(groups=(Group(label="a"), Group(label="b")), trials=[1, 2], events=[1])
    with pytest.raises(ConfigError, match="members cover 3 items, events 2"):
        RateTable.counted([Group()], np.ones((1, 3), bool), np.ones(2, bool))
