"""Identification (1:N): a probe is searched against a gallery and a candidate list comes back.

unseen audits search systems; it never searches for anyone outside the labelled audit data
it is given: every search runs over the probe and gallery tables the user names.

- `samples`: the probe and gallery tables (id, subject, group labels), `read_samples`;
- `candidates`: `CandidateLists`, the one type both modes produce (a vendor's lists read
  by `read_candidates`, or unseen's own search), and `write_candidates`;
- `search`: exhaustive top-R search over templates (FAISS, or plain numpy blocks);
- `config`: threshold policies and `IdentificationConfig`;
- `engine`: weighted counts per search (the observed data and every bootstrap replicate);
- `gallery`: FPIR against gallery size and against the gallery's make-up;
- `results` and `audit`: `audit_identification`, the figures per group;
- `images`: the templates / images mode (enrol, search, audit).
"""
