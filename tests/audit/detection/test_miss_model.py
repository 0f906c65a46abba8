"""The miss model reports why it cannot be fitted instead of failing."""

from __future__ import annotations

import pytest

from tests.audit.detection.synthetic import crowd
from unseen.audit.detection.miss_model import fit_miss_model
from unseen.errors import ConfigError


def test_regression_reports_instead_of_crashing_on_separation():
    faces, boxes, found = crowd(60)
    skin = faces.attributes["skin"]
    detected = found | (skin == "VI")  # no type VI face is ever missed
    model = fit_miss_model(faces, detected, groups=skin, group_order=["I", "VI"], where=faces.valid, name="raw")
    assert not model.fitted and "not estimable" in model.note
    with pytest.raises(ConfigError, match="unknown covariate"):
        fit_miss_model(faces, found, groups=skin, group_order=["I"], where=faces.valid, name="x",
                       covariates=["hairstyle"])
