"""Probe and gallery tables, and candidate lists: reading, validation, writing back."""

import numpy as np
import pandas as pd
import pytest

from tests.audit.identification import cases
from unseen.audit.identification.candidates import (
    CandidateColumns, CandidateLists, read_candidates, write_candidates, write_samples,
)
from unseen.audit.identification.samples import Samples, read_samples
from unseen.errors import ConfigError, InputFileError


@pytest.fixture()
def tables(tmp_path):
    paths = cases.write_tables(tmp_path)
    probes = read_samples(paths["probes"], role="probes", groups=("race",))
    gallery = read_samples(paths["gallery"], role="gallery", groups=("race",))
    return paths, probes, gallery


def write(tmp_path, rows, name="c.csv"):
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_samples_need_unique_ids_and_subjects(tmp_path):
    with pytest.raises(InputFileError, match="'a' is listed 2 times"):
        Samples(ids=["a", "a"], subjects=["s", "t"], attributes=("race",), labels=[["X"], ["Y"]], role="probes")
    path = write(tmp_path, [{"id": "a", "subject": "", "race": "X"}], "probes.csv")
    with pytest.raises(InputFileError, match="no id or no subject"):
        read_samples(path, role="probes", groups=("race",))
    with pytest.raises(ConfigError, match=r"column\(s\) \['gender'\] not in probes.csv"):
        read_samples(path, role="probes", groups=("gender",))


def test_one_sample_per_subject_takes_the_id_as_subject(tmp_path):
    path = write(tmp_path, [{"image": "a.jpg", "race": "X"}, {"image": "b.jpg", "race": ""}], "p.csv")
    samples = read_samples(path, role="probes", groups=("race",), id_column="image", one_sample_per_subject=True)
    assert samples.subjects.tolist() == ["a.jpg", "b.jpg"]
    assert samples.group_labels("race").tolist() == ["X", "(no label)"]


def test_lists_are_read_in_rank_order_with_the_usual_column_names(tables, tmp_path):
    _, probes, gallery = tables
    rows = [{"probe": "pA", "rank": 2, "candidate": "gB", "score": 0.2},
            {"probe": "pA", "rank": 1, "candidate": "gA", "score": 0.9}]
    lists = read_candidates(write(tmp_path, rows), probes=probes, gallery=gallery)
    assert lists.rank.tolist() == [1, 2] and lists.candidate.tolist() == [0, 1]
    assert lists.lengths.tolist() == [2, 0, 0, 0, 0, 0]     # every other probe returned an empty list
    named = read_candidates(write(tmp_path, [{"q": "pA", "r": 1, "c": "gA", "s": 0.5}]), probes=probes,
                            gallery=gallery, columns=CandidateColumns(probe="q", rank="r", candidate="c", score="s"))
    assert named.score.tolist() == [0.5]


@pytest.mark.parametrize("rows, error, match", [
    ([{"probe_id": "pZ", "rank": 1, "candidate_id": "gA", "score": 1}], InputFileError, "probe id .* 'pZ'"),
    ([{"probe_id": "pA", "rank": 1, "candidate_id": "gZ", "score": 1}], InputFileError, "candidate id .* 'gZ'"),
    ([{"probe_id": "pA", "rank": 1, "candidate_id": "gA", "score": 1},
      {"probe_id": "pA", "rank": 3, "candidate_id": "gB", "score": 0}], InputFileError, "without gaps"),
    ([{"probe_id": "pA", "rank": 1, "candidate_id": "gA", "score": 1},
      {"probe_id": "pA", "rank": 1, "candidate_id": "gB", "score": 0}], InputFileError, "same rank"),
    ([{"probe_id": "pA", "rank": 1, "candidate_id": "gA", "score": "high"}], InputFileError, "numbers|non-numeric"),
    ([{"probe_id": "pA", "rank": 1, "candidate_id": "gA", "score": 1},
      {"probe_id": "pA", "rank": 2, "candidate_id": "gA", "score": 0}], InputFileError, "listed twice"),
    ([{"probe_id": "pA", "place": 1, "candidate_id": "gA", "score": 1}], ConfigError, "no rank column"),
])
def test_bad_lists_are_refused_by_name(tables, tmp_path, rows, error, match):
    _, probes, gallery = tables
    with pytest.raises(error, match=match):
        read_candidates(write(tmp_path, rows), probes=probes, gallery=gallery)


def test_a_probe_listed_as_its_own_candidate_is_left_out_and_the_list_closes_up():
    samples = Samples(ids=["a", "b", "c"], subjects=["s", "t", "u"], attributes=("race",),
                      labels=[["X"], ["X"], ["Y"]], role="gallery")
    lists = CandidateLists.build(probes=samples, gallery=samples, search=[0, 0, 0], rank=[1, 2, 3],
                                 candidate=[0, 2, 1], score=[1.0, 0.5, 0.4])
    assert lists.candidate.tolist() == [2, 1] and lists.rank.tolist() == [1, 2]
    assert lists.max_rank == 2 and "own sample" in lists.notes[0]


def test_lists_longer_than_the_rank_are_cut_and_said_so(tables):
    _, probes, gallery = tables
    lists = CandidateLists.build(probes=probes, gallery=gallery, search=[0, 0, 0], rank=[1, 2, 3],
                                 candidate=[0, 1, 2], score=[3.0, 2.0, 1.0], max_rank=2)
    assert len(lists) == 2 and "cut to rank 2" in lists.notes[-1]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_written_lists_read_back_the_same(tables, tmp_path, suffix):
    paths, probes, gallery = tables
    lists = read_candidates(paths["candidates"], probes=probes, gallery=gallery)
    again = read_candidates(write_candidates(tmp_path / f"out{suffix}", lists),
                            probes=read_samples(write_samples(tmp_path / "p.csv", probes), role="probes",
                                                groups=("race",)),
                            gallery=gallery)
    assert again.scale is lists.scale
    for name in ("search", "candidate", "score"):
        assert np.array_equal(getattr(again, name), getattr(lists, name))
