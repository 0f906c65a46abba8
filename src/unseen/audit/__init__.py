"""Audits: measure how unequally a face recognition or detection system treats groups.

- `stats`: counts core, the per-group rate table, uncertainty, fairness summaries;
- `recognition`: comparisons tables, manifests, enrolment, templates, pair plans;
- `verification`: the 1:1 audit (`audit_verification`), the images mode, published rates;
- `detection`: labelled-face packs and box files, matching, WIDER AP, the miss model,
  coverage, and the detection audit (`audit_detection`);
- `report`: JSON, CSV and HTML (the only place that plots).

Nothing here imports `unseen.redact` or `unseen.cli`. Importing this package loads nothing heavy.
"""
