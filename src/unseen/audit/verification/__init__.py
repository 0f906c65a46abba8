"""Verification (1:1): one global threshold, per-group and cross-group FMR / FNMR, DET, d'.

- `config`: threshold policies, rate conventions, bootstrap units, `VerificationConfig`;
- `metrics`: threshold for a target FMR, error rates, DET curve, d', ROC AUC;
- `cells`: the pairs of one analysis, coded by (enrolled group, probe group) cell;
- `weights`: what a bootstrap replicate weighs (pairs, or whole subjects);
- `engine`: thresholds and error counts for a block of replicates;
- `estimates`: rates, intervals, tests, cross matrix, summary measures and flags;
- `results`: what the audit returns; `audit`: `audit_verification`;
- `images`: the images mode (enrol, compare, audit); `published`: from published rates.
"""
