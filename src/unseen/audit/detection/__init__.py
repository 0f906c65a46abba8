"""Detection: who a face detector (or a redactor's covering) misses, by group.

- `pack`: labelled faces (`LabelledFaces`) from a WIDER-layout pack or any CSV of boxes;
- `box_files`: a detector's boxes per image (`PackBoxes`), WIDER txt and JSON lines;
- `run`: run a detector over a pack, saving its boxes (resumable);
- `matching`: boxes matched to faces at IoU 0.5, false positives per image;
- `wider_ap`: the official WIDER FACE average precision;
- `groups`: skin types, face-height buckets, intersections: which faces a rate counts;
- `rates`: a rate by every group with image-bootstrap intervals and Holm-corrected tests;
- `miss_model`: logistic regressions of a miss on skin type, size and conditions;
- `coverage`: the share of each face a redactor's covered area hides;
- `audit`: `audit_detection` (and `audit_pack` for a pack folder and a detector or boxes).
"""
