"""Which faces a detection rate counts: label groups, pools, intersections, height buckets."""

from __future__ import annotations

import numpy as np
import pytest

from tests.audit.detection.synthetic import crowd, faces_of
from unseen.audit.detection.groups import (
    HEIGHT_BUCKETS, SKIN, SKIN_GROUPS, attribute_groups, count_rates, height_bucket, height_groups,
    intersection_groups, label_groups, pooled_skin,
)
from unseen.errors import ConfigError


def kn(table, name):
    """(successes, faces, rate) of the group called ``name``."""
    rate = table.get(name)
    return rate.k, rate.n, rate.value


def test_groups_pool_skin_and_leave_unsure_untested():
    faces, _, _ = crowd(40)
    groups = {g.group.name: g for g in attribute_groups(faces, where=faces.valid)}
    assert list(groups)[:3] == ["skin=I", "skin=VI", "skin=Not Sure"]
    assert "skin (pooled)=I-II" in groups and "skin (pooled)=V-VI" in groups
    assert not groups["skin=Not Sure"].rest.any()
    assert not (groups["skin=I"].rest & (faces.attributes["skin"] == "Not Sure")).any()
    crossed = [g.group.name for g in intersection_groups(faces, where=faces.valid)]
    assert "skin (pooled)=V-VI & gender=Female" in crossed and not any("Not Sure" in k for k in crossed)
    assert pooled_skin(np.array(["I", "IV", "VI", "", "Not Sure"])).tolist() == ["I-II", "III-IV", "V-VI", "", "Not Sure"]


def test_height_buckets_are_half_open():
    heights = [0, 9.99, 10, 15.9, 16, 24, 31, 32, 63.9, 64, 500]
    assert height_bucket(heights).tolist() == ["<10", "<10", "10-16", "10-16", "16-24", "24-32", "24-32",
                                              "32-64", "32-64", ">=64", ">=64"]


def test_rates_pool_skin_types_and_respect_where():
    skin = ["I", "II", "V", "VI", "VI", "Not Sure", ""]
    faces = faces_of([[(0, 0, 5, h) for h in (5, 12, 20, 30, 40, 70, 100)]], skin=skin)
    found = np.array([1, 0, 1, 1, 0, 1, 1], bool)
    everyone = np.ones(len(faces), bool)
    rates = count_rates(label_groups(SKIN, faces.attributes[SKIN], SKIN_GROUPS, where=everyone), found)
    assert kn(rates, "skin=I") == (1, 1, 1.0) and kn(rates, "skin=I-II") == (1, 2, 0.5)
    assert kn(rates, "skin=V-VI") == (2, 3, pytest.approx(2 / 3))
    assert np.isnan(kn(rates, "skin=III")[2]) and kn(rates, "skin=III-IV")[:2] == (0, 0)
    limited = count_rates(label_groups(SKIN, faces.attributes[SKIN], SKIN_GROUPS,
                                   where=np.array([1, 1, 1, 1, 0, 1, 1], bool)), found)
    assert kn(limited, "skin=VI") == (1, 1, 1.0)
    by_height = count_rates(height_groups(faces, everyone), found)
    assert [r.key for r in by_height] == list(HEIGHT_BUCKETS) and by_height.trials.tolist() == [1, 1, 1, 1, 1, 2]


def test_rates_need_matching_shapes():
    with pytest.raises(ConfigError, match="members cover 1 items, events 2"):
        count_rates(label_groups("a", np.array(["a"]), [("a", ["a"])], where=np.ones(1, bool)), np.array([True, False]))
