"""Images mode plumbing with a small fake detector and embedder (real models: see benchmarks)."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from unseen.audit.images import audit_images
from unseen.audit.scoring import plan_pairs, read_manifest
from unseen.audit.verification import OperatingPoint, VerificationConfig
from unseen.faces.types import Detections


class FakeDetector:
    """One face covering the image, none in an all-black image."""

    def detect(self, image, *, threshold=None):
        if image.max() == 0:
            return Detections.empty()
        h, w = image.shape[:2]
        return Detections(xyxy=[[0, 0, w, h]], score=[1.0])


class FakeEmbedder:
    """The mean colour as a 3-D template; euclidean distance, customary threshold 10."""

    name, dimension, customary_threshold = "fake", 3, 10.0

    class metric:  # noqa: N801 - mimics the Metric enum's .value
        value = "euclidean"

    def embed(self, image, faces):
        return np.tile(image.reshape(-1, 3).mean(axis=0).astype(np.float32), (len(faces), 1))

    def pair_similarity(self, a, b):
        return -np.linalg.norm(a - b, axis=1)


@pytest.fixture()
def manifest_path(tmp_path):
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
            rows.append({"path": path.name, "subject": f"s{s}", "group": "A" if s % 2 else "B"})
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


def test_images_mode_counts_pairs_and_failures_to_enrol(manifest_path):
    manifest = read_manifest(manifest_path, groups=("group",), label_sources=(("group", "synthetic"),))
    config = VerificationConfig(operating_points=(OperatingPoint(target_fmr=0.05),), extra_targets=(), n_bootstrap=20)
    result = audit_images(manifest, models=["fake"], build_embedder=lambda name: FakeEmbedder(),
                          detector=FakeDetector(), config=config)
    audit = result.audit
    assert audit.n_pairs == 35 * 34 // 2 and audit.n_mated == 11 * 3 + 1   # image s0_0 failed
    fte = result.failures[0]
    assert dict(zip(fte.names, fte.failed.tolist())) == {"A": 0, "B": 1}
    points = audit.results[0].operating_points
    assert [p.point.policy.value for p in points] == ["target-fmr", "fixed"]
    assert points[1].threshold_input_scale == pytest.approx(-10.0)   # similarity scale of distance 10
    assert any("Too small" in c for c in result.caveats)
    assert result.failure_records()["fake"]["group"]["B"] == {"images": 18, "failed": 1, "rate": 1 / 18}


def test_plan_pairs_samples_non_mated_when_capped():
    subjects = np.repeat(np.arange(50), 2)
    plan = plan_pairs(subjects, max_nonmated=300, rng=np.random.default_rng(1))
    assert plan.sampled and plan.mated.sum() == 50 and (~plan.mated).sum() == 300
    assert np.all(subjects[plan.a[~plan.mated]] != subjects[plan.b[~plan.mated]])
    assert len({(a, b) for a, b in zip(plan.a, plan.b)}) == len(plan.a)
    full = plan_pairs(np.arange(5), rng=np.random.default_rng(1))
    assert not full.sampled and full.mated.sum() == 0 and len(full.a) == 10


def test_images_cli_with_fake_models(manifest_path, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import unseen.faces.registry as registry
    from unseen.cli import app

    monkeypatch.setattr(registry, "build_embedder", lambda name, **kw: FakeEmbedder(), raising=False)
    monkeypatch.setattr(registry, "build_detector", lambda name, **kw: FakeDetector())
    out = tmp_path / "o.json"
    result = CliRunner().invoke(app, ["audit", "images", str(manifest_path), "--model", "fake", "--group", "group",
                                      "--target-fmr", "0.05", "--bootstrap", "10", "--json", str(out),
                                      "--html", str(tmp_path / "o.html")])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["failure_to_enrol"]["fake"]["group"]["B"]["failed"] == 1
    assert "Too small" in (tmp_path / "o.html").read_text()
