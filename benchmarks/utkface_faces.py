"""Tight aligned crops (UTKFace, 200x200): does the detector find the face, and does it
matter whether the recognizers get the detector's face or the whole crop?

    python benchmarks/utkface_faces.py [DATA] [PER_GROUP]

For a seeded sample of PER_GROUP crops (default 50) per race x gender:
1. how often CenterFace finds a face in the crop as it is (what `--faces detect` does), and
   how much of the crop the face box covers;
2. per recognizer, the distance between a photo's template from the detected face and from
   the whole crop (`--faces whole-image`), against the customary threshold; and over all
   pairs of the sample, the rank correlation of the two ways' distances and the FMR each
   gives at the customary threshold.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from _faces import data_root
from unseen.audit.recognition.enrolment import EnrolConfig, enrol_images
from unseen.faces.registry import build_detector, build_embedder
from unseen.media.image import load

MODELS = ("dlib", "facenet")


def main(root, per_group: int) -> None:
    labels = pd.read_csv(root / "utkface" / "labels.csv")
    sample = labels.groupby(["race", "gender"]).sample(n=per_group, random_state=0).reset_index(drop=True)
    paths = [root / "utkface" / "images" / name for name in sample.image]
    detector = build_detector("centerface")
    found, cover = [], []
    for path in paths:
        image = load(path).rgb
        faces = detector.detect(image)
        found.append(len(faces) > 0)
        if len(faces):
            cover.append(float(faces.area.max()) / (image.shape[0] * image.shape[1]))
    sample["found"] = found
    print(f"1. CenterFace on {len(paths)} crops as they are: face found in {np.mean(found):.4f}; "
          f"box covers {np.median(cover):.2f} of the crop (median)")
    print(sample.groupby(["race", "gender"]).found.mean().unstack().round(4).to_string())
    embedders = {name: build_embedder(name) for name in MODELS}
    start = time.perf_counter()
    detected = enrol_images(paths, embedders=embedders, detector=detector, config=EnrolConfig())
    middle = time.perf_counter()
    whole = enrol_images(paths, embedders=embedders, detector=None, config=EnrolConfig(faces="whole-image"))
    end = time.perf_counter()
    print(f"2. enrolment: detect {1000 * (middle - start) / len(paths):.0f} ms per photo, whole-image "
          f"{1000 * (end - middle) / len(paths):.0f} ms (both models)")
    for d, w in zip(detected, whole):
        both = np.intersect1d(d.image_index, w.image_index)
        td = d.templates[np.searchsorted(d.image_index, both)]
        tw = w.templates[np.searchsorted(w.image_index, both)]
        same_photo = np.linalg.norm(td - tw, axis=1)
        i, j = np.triu_indices(len(both), 1)
        pairs_d = np.linalg.norm(td[i] - td[j], axis=1)
        pairs_w = np.linalg.norm(tw[i] - tw[j], axis=1)
        cut = d.customary_threshold
        print(f"   {d.model}: same photo, detected vs whole crop: distance median {np.median(same_photo):.3f}, "
              f"95th percentile {np.percentile(same_photo, 95):.3f} (customary cut-off {cut:g}); "
              f"{len(i):,} different-person pairs: rank correlation {spearmanr(pairs_d, pairs_w)[0]:.3f}, "
              f"FMR at {cut:g}: detect {np.mean(pairs_d <= cut):.4f}, whole-image {np.mean(pairs_w <= cut):.4f}")


if __name__ == "__main__":
    main(data_root(sys.argv[1] if len(sys.argv) > 1 else None), int(sys.argv[2]) if len(sys.argv) > 2 else 50)
