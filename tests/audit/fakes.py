"""Small stand-ins for a detector and a recognizer, and a manifest of synthetic images, for
tests of the images-mode plumbing (real models: tests/audit/verification/test_images_real.py)."""

import numpy as np
import pandas as pd
from PIL import Image

from unseen.faces.embedders.base import Metric, TemplateScoring
from unseen.faces.types import Detections


class FakeDetector:
    """One face covering the image, none in an all-black image; records image sizes seen."""

    name = "fake-detector"
    default_threshold = 0.5

    def __init__(self):
        self.seen = []

    def detect(self, image, *, threshold=None):
        self.seen.append(image.shape[:2])
        if image.max() == 0:
            return Detections.empty()
        h, w = image.shape[:2]
        return Detections(xyxy=[[0, 0, w, h]], score=[1.0])


class FakeEmbedder(TemplateScoring):
    """The mean colour as a 3-D template; euclidean distance, customary threshold 10."""

    name, dimension, metric, customary_threshold = "fake", 3, Metric.EUCLIDEAN, 10.0

    def __init__(self, fail_after=None):
        self.calls = 0
        self.boxes = []
        self.fail_after = fail_after

    def embed(self, image, faces):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise KeyboardInterrupt
        self.boxes.append(faces.xyxy.copy())
        return np.tile(image.reshape(-1, 3).mean(axis=0).astype(np.float32), (len(faces), 1))


def write_manifest(tmp_path):
    """36 small images of 12 people in two groups and two tones; one image is black (no
    face: a failure to enrol). Returns the manifest's path."""
    rng = np.random.default_rng(0)
    rows = []
    for s in range(12):
        base = rng.integers(30, 220, 3)
        for k in range(3):
            pixels = np.clip(base + rng.normal(0, 4, 3), 0, 255)
            if s == 0 and k == 0:
                pixels = np.zeros(3)  # no face: failure to enrol
            path = tmp_path / f"s{s}_{k}.png"
            Image.fromarray(np.full((8, 8, 3), pixels, np.uint8)).save(path)
            rows.append({"path": path.name, "subject": f"s{s}", "group": "A" if s % 2 else "B",
                         "tone": "light" if s % 3 else "dark"})
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


def fakes():
    detector, embedder = FakeDetector(), FakeEmbedder()
    return detector, embedder, dict(build_embedder=lambda name: embedder, build_detector=lambda name: detector)


def build_fake_embedder(name):
    """A builder worker processes can import (lambdas cannot be sent to them)."""
    return FakeEmbedder()


def build_fake_detector(name):
    return FakeDetector()
