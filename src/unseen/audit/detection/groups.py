"""Which faces a detection rate counts: groups of a label column, intersections of two,
face-height buckets, and groups within each bucket.

Skin types are perceived Fitzpatrick types I..VI, also pooled in pairs; "Not Sure" is a
label annotators gave, not a group of people: it is listed, never tested.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from unseen.audit.detection.pack import MISSING, LabelledFaces
from unseen.audit.stats.rates import Group, RateTable

HEIGHT_EDGES = (10.0, 16.0, 24.0, 32.0, 64.0)
HEIGHT_BUCKETS = ("<10", "10-16", "16-24", "24-32", "32-64", ">=64")
"""Face height buckets in pixels, each ``[low, high)``."""

SKIN = "skin"
SKIN_POOLED = "skin (pooled)"
NOT_SURE = "Not Sure"
SKIN_TYPES = ("I", "II", "III", "IV", "V", "VI")
SKIN_POOLS = (("I-II", ("I", "II")), ("III-IV", ("III", "IV")), ("V-VI", ("V", "VI")))
"""Perceived Fitzpatrick skin types, one by one and pooled in pairs."""

SKIN_GROUPS = tuple((t, (t,)) for t in SKIN_TYPES) + SKIN_POOLS
"""Every skin type, then the pools: (label, the skin values it holds)."""


@dataclass(frozen=True, eq=False)
class FaceGroup:
    """A group of faces (``members``, one flag per face) and the faces it is tested against
    (``rest``: those with another definite label of the same attribute; none for a label
    that is no group of people, such as "Not Sure")."""

    group: Group
    members: np.ndarray
    rest: np.ndarray


def height_bucket(heights: np.ndarray) -> np.ndarray:
    """The `HEIGHT_BUCKETS` label of every face height (pixels)."""
    index = np.searchsorted(np.asarray(HEIGHT_EDGES), np.asarray(heights, np.float64), side="right")
    return np.asarray(HEIGHT_BUCKETS)[index]


def pooled_skin(skin: np.ndarray) -> np.ndarray:
    """Skin types I..VI mapped to I-II / III-IV / V-VI; anything else left as it was."""
    pooled = np.asarray(skin).astype(str).astype(object)
    for name, values in SKIN_POOLS:
        pooled[np.isin(skin, values)] = name
    return pooled.astype(str)


def _value_order(values: np.ndarray) -> list[str]:
    labels, counts = np.unique(values[values != MISSING], return_counts=True)
    ordered = [str(v) for v in labels[np.argsort(-counts, kind="stable")]]
    return [v for v in ordered if v != NOT_SURE] + ([NOT_SURE] if NOT_SURE in ordered else [])


def _labels_for_groups(faces: LabelledFaces) -> dict[str, np.ndarray]:
    """Attribute name -> per-face label, with skin also pooled."""
    labels = {name: values for name, values in faces.attributes.items()}
    if SKIN in labels:
        labels[SKIN_POOLED] = pooled_skin(labels[SKIN])
    return labels


def attribute_groups(faces: LabelledFaces, *, where: np.ndarray) -> list[FaceGroup]:
    """One group per label value of every attribute (skin: types I..VI first, then pools)."""
    groups = []
    for attribute, values in _labels_for_groups(faces).items():
        labelled = where & (values != MISSING)
        if attribute == SKIN:
            order = [t for t in SKIN_TYPES if np.any(values[labelled] == t)]
            order += [v for v in _value_order(values[labelled]) if v not in SKIN_TYPES]
        elif attribute == SKIN_POOLED:
            order = [name for name, _ in SKIN_POOLS if np.any(values[labelled] == name)]
        else:
            order = _value_order(values[labelled])
        definite = labelled & (values != NOT_SURE)
        for label in order:
            members = labelled & (values == label)
            rest = definite & ~members if label != NOT_SURE else np.zeros_like(members)
            groups.append(FaceGroup(Group(attribute=attribute, label=label), members, rest))
    return groups


def intersection_groups(faces: LabelledFaces, *, where: np.ndarray) -> list[FaceGroup]:
    """Every pair of attributes (skin pooled), "Not Sure" and missing labels left out."""
    labels = _labels_for_groups(faces)
    names = [SKIN_POOLED] if SKIN_POOLED in labels else []
    names += [n for n in labels if n not in (SKIN, SKIN_POOLED)]
    groups = []
    for a, b in combinations(names, 2):
        known = where & (labels[a] != MISSING) & (labels[b] != MISSING) & (labels[a] != NOT_SURE) & (labels[b] != NOT_SURE)
        order_a = [n for n, _ in SKIN_POOLS] if a == SKIN_POOLED else _value_order(labels[a][known])
        order_b = [n for n, _ in SKIN_POOLS] if b == SKIN_POOLED else _value_order(labels[b][known])
        for la in order_a:
            for lb in order_b:
                members = known & (labels[a] == la) & (labels[b] == lb)
                if members.any():
                    group = Group(attribute=f"{a} & {b}", label=f"{la} & {lb}", name=f"{a}={la} & {b}={lb}")
                    groups.append(FaceGroup(group, members, known & ~members))
    return groups


def height_groups(faces: LabelledFaces, members: np.ndarray, group: Group = Group()) -> list[FaceGroup]:
    """``group``'s ``members`` within each face-height bucket (not tested)."""
    buckets = height_bucket(faces.height)
    return [FaceGroup(Group(attribute=group.attribute, label=group.label, within=bucket, name=group.name),
                      members & (buckets == bucket), np.zeros(len(buckets), bool))
            for bucket in HEIGHT_BUCKETS]


def label_groups(attribute: str, labels: np.ndarray, definitions: Sequence[tuple[str, Sequence[str]]], *,
                 where: np.ndarray) -> list[FaceGroup]:
    """Named groups of faces ``where`` whose label is one of a definition's values, e.g.
    `SKIN_GROUPS` (not tested)."""
    labels = np.asarray(labels).astype(str)
    return [FaceGroup(Group(attribute=attribute, label=name), where & np.isin(labels, list(values)),
                      np.zeros(len(labels), bool))
            for name, values in definitions]


def count_rates(groups: Sequence[FaceGroup], success: np.ndarray) -> RateTable:
    """The share of each group's faces where ``success`` holds (counts only, no intervals)."""
    members = np.array([g.members for g in groups], bool) if groups else np.zeros((0, len(success)), bool)
    return RateTable.counted([g.group for g in groups], members, success)
