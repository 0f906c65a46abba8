"""Manifests: read from a CSV, or derived from a pairs list."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from unseen.audit.recognition.manifest import manifest_from_pairs, read_manifest
from unseen.errors import ConfigError, InputFileError


def test_manifest_from_pairs_joins_same_person_chains(tmp_path):
    for name in ("a1.jpg", "a2.jpg", "a3.jpg", "b1.jpg", "b2.jpg", "lone.jpg"):
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / name)
    pairs = tmp_path / "pairs.csv"
    pd.DataFrame({"image_a": ["a2.jpg", "a3.jpg", "a1.jpg", "b1.jpg"], "image_b": ["a1.jpg", "a2.jpg", "b2.jpg", "b2.jpg"],
                  "same_person": [1, 1, 0, 1]}).to_csv(pairs, index=False)
    derived = manifest_from_pairs(pairs)
    assert [p.name for p in derived.paths] == ["a1.jpg", "a2.jpg", "a3.jpg", "b1.jpg", "b2.jpg"]
    assert derived.subjects == ("a1", "a1", "a1", "b1", "b1")
    assert [p.name for p in derived.unlisted] == ["lone.jpg"]
    pd.DataFrame({"image_a": ["a1.jpg", "a2.jpg", "a1.jpg"], "image_b": ["a2.jpg", "a3.jpg", "a3.jpg"],
                  "same_person": [1, 1, 0]}).to_csv(pairs, index=False)
    with pytest.raises(ConfigError, match="contradicts itself"):
        manifest_from_pairs(pairs)


def test_manifest_rows_without_a_subject_are_set_aside_and_refused_under_strict(tmp_path):
    for name in ("x.jpg", "y.jpg"):
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / name)
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,subject,group\nx.jpg,s1,A\ny.jpg,,B\n")
    read = read_manifest(manifest, groups=("group",))
    assert [p.name for p in read.paths] == ["x.jpg"]
    assert read.set_aside.notes() == [f"set aside: {manifest} line 3: missing value (no subject id in 'subject'); "
                                      "left out"]
    with pytest.raises(InputFileError, match="m.csv line 3: missing value.*--strict"):
        read_manifest(manifest, groups=("group",), strict=True)
