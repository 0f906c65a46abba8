"""Enrolment speed with one process against several: UTKFace photos (balanced over race x
gender), the default face search (CenterFace) and both recognizers, no templates file, in
one run.

    python benchmarks/enrol_workers.py ../shared/data/utkface --images 400 --workers 1,2

Prints seconds and photos per second for each worker count, and checks that every count
gives the same templates.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from unseen.audit.recognition.enrolment import EnrolConfig, ProcessEmbedding, enrol_images
from unseen.faces import registry

MODELS = ("dlib", "facenet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("utkface", type=Path)
    parser.add_argument("--images", type=int, default=400, help="photos, spread evenly over race x gender")
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()

    labels = pd.read_csv(args.utkface / "labels.csv")
    chosen = labels.groupby(["race", "gender"], sort=True).head(max(1, args.images // 8))
    paths = [args.utkface / "images" / name for name in chosen["image"]]
    config = EnrolConfig()
    embedders = {name: registry.build_embedder(name) for name in MODELS}
    detector = registry.build_detector(config.detector)
    reference = None
    print(f"{len(paths)} photos, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for workers in (int(w) for w in args.workers.split(",")):
        start = time.perf_counter()
        if workers > 1:
            with ProcessEmbedding(MODELS, config, workers=workers, build_embedder=registry.build_embedder,
                                  build_detector=registry.build_detector) as embedding:
                enrolments = enrol_images(paths, embedders=embedders, detector=detector, config=config,
                                          embedding=embedding)
        else:
            enrolments = enrol_images(paths, embedders=embedders, detector=detector, config=config)
        seconds = time.perf_counter() - start
        templates = [e.templates for e in enrolments]
        same = reference is None or all(np.array_equal(a, b) for a, b in zip(reference, templates))
        reference = reference or templates
        print(f"{workers} worker(s): {seconds:.1f} s, {len(paths) / seconds:.2f} photos/s "
              f"(load average {os.getloadavg()[0]:.1f}); same templates as the first run: {same}")


if __name__ == "__main__":
    main()
