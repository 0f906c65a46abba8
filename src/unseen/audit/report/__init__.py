"""Report writers shared by every audit: HTML (Jinja2, inline SVG), JSON, CSV.

- `json_io.to_jsonable` / `write_report_json`: numbers as plain JSON, NaN and infinity as
  ``null`` with a record of where and why; written atomically.
- `write_csv_table` (from `unseen.media.files`): one CSV per table, atomically.
- `plots`: matplotlib (Agg) figures as inline SVG text; no file, font or URL is referenced.
- `html.render_report` / `write_html_report`: a template extending ``base.html.j2`` (shared
  CSS, a plain-language summary block first, provenance block last).

Plotting and templating load lazily: importing this package imports neither matplotlib
nor Jinja2.
"""

from unseen.audit.report.json_io import to_jsonable, write_report_json
from unseen.media.files import write_csv_table

__all__ = ["to_jsonable", "write_report_json", "write_csv_table"]
