"""Face recognition data: what the verification and identification audits read.

- `comparisons`: the `Comparisons` table (scores, mated, subjects, group labels);
- `readers`: `read_comparisons` from CSV / Parquet tables;
- `manifest`: images with subjects and labels (`read_manifest`, `manifest_from_pairs`);
- `enrolment`: one face per image -> one template per model, failures to enrol;
- `templates`: the templates file that lets a rerun embed nothing again;
- `pairs`: which image pairs are compared, and `comparisons_from_images`.
"""
