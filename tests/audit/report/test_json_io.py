"""JSON for machines: NaN and infinity as null, with where and why."""

import json

import numpy as np
import pytest

from unseen.audit.report.json_io import NULLS_KEY, to_jsonable, write_report_json


def test_json_writes_nan_and_inf_as_null_with_their_path(tmp_path):
    path = write_report_json(tmp_path / "r.json", {"a": {"ratio": np.inf, "rate": np.float32(0.25)},
                                                   "v": np.array([1.0, np.nan])})
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    data = json.loads(text)
    assert data["a"] == {"ratio": None, "rate": 0.25}
    assert data["v"] == [1.0, None]
    assert {"path": "a.ratio", "was": "inf"} in data[NULLS_KEY]
    assert {"path": "v[1]", "was": "nan"} in data[NULLS_KEY]


def test_to_jsonable_refuses_unknown_objects():
    with pytest.raises(TypeError, match="object"):
        to_jsonable({"x": object()})
