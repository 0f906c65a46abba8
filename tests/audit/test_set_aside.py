"""The set-aside record every audit reader fills: named rows, counts, notes, JSON, --strict."""

import json

import numpy as np
import pytest

from unseen.audit.set_aside import RowProblem, SetAside
from unseen.errors import ExitCode, InputFileError


def _two_files() -> SetAside:
    first = SetAside.of("pairs.csv", [(3, RowProblem.NOT_A_NUMBER, "score 'abc'", "left out"),
                                      (7, RowProblem.DUPLICATE, "a.jpg and b.jpg again", "left out")])
    second = SetAside.of("labels.csv", [(2, RowProblem.MISSING_VALUE, "no 'race'", "left out")])
    return SetAside.merge([first, SetAside(), second])


def test_rows_from_several_files_merge_and_count_by_problem():
    merged = _two_files()
    assert len(merged) == 3 and bool(merged) and not SetAside()
    assert merged.file.tolist() == ["pairs.csv", "pairs.csv", "labels.csv"]
    assert merged.counts() == {"not a number": 1, "duplicate": 1, "missing value": 1}
    assert merged.describe(0) == "pairs.csv line 3: not a number (score 'abc')"
    with pytest.raises(ValueError):
        merged.line[0] = 4


def test_notes_name_the_first_rows_and_count_the_rest():
    many = SetAside.of("t.csv", [(i + 2, RowProblem.INFINITE, f"score {i}", "left out") for i in range(14)])
    notes = many.notes(shown=3)
    assert notes[0] == "set aside: t.csv line 2: infinite number (score 0); left out"
    assert len(notes) == 4 and notes[-1].startswith("set aside: 11 more row(s) (14 infinite number)")


def test_json_lists_every_row_up_to_a_cap_and_is_plain_json():
    record = _two_files().to_json(listed=2)
    assert record["count"] == 3 and record["rows_listed"] == 2 and len(record["rows"]) == 2
    assert record["rows"][1] == {"file": "pairs.csv", "line": 7, "problem": "duplicate",
                                 "detail": "a.jpg and b.jpg again", "action": "left out"}
    json.dumps(record)


def test_strict_turns_set_aside_rows_into_an_input_error_naming_them():
    assert _two_files().check_strict(False) is not None
    assert SetAside().check_strict(True) is not None
    with pytest.raises(InputFileError) as raised:
        _two_files().check_strict(True)
    assert raised.value.exit_code is ExitCode.BAD_INPUT
    assert str(raised.value).startswith("pairs.csv line 3: not a number (score 'abc'); pairs.csv line 7")
    assert "--strict" in str(raised.value)


def test_a_record_is_validated():
    with pytest.raises(ValueError, match="problem"):
        SetAside(file=["a"], line=[1], problem=["something odd"], detail=[""], action=[""])
    with pytest.raises(ValueError, match="expected 1 entries"):
        SetAside(file=["a", "b"], line=[1], problem=["duplicate"], detail=[""], action=[""])
    assert SetAside(line=np.zeros(0)).counts() == {}
