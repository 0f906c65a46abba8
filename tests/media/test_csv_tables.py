"""CSV tables: empty cells for missing numbers."""

import math

from unseen.media.files import write_csv_table


def test_csv_writes_empty_cells_for_missing_numbers(tmp_path):
    path = write_csv_table(tmp_path / "t.csv", [{"g": "A", "fmr": 0.1}, {"g": "B", "fmr": math.nan}])
    assert path.read_text().splitlines() == ["g,fmr", "A,0.1", "B,"]
