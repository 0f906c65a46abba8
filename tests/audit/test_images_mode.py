"""Images mode plumbing with a small fake detector and embedder (real models: test_images_real.py)."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from unseen.audit.comparisons import Comparisons, ScoreScale
from unseen.audit.enrolment import EnrolConfig, TemplateStore, enrol_images
from unseen.audit.images import audit_images
from unseen.audit.scoring import comparisons_from_images, manifest_from_pairs, plan_pairs, read_manifest
from unseen.audit.verification import OperatingPoint, VerificationConfig
from unseen.errors import ConfigError, InputFileError
from unseen.faces.embedders.base import TemplateScoring
from unseen.faces.embedders.base import Metric
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
            rows.append({"path": path.name, "subject": f"s{s}", "group": "A" if s % 2 else "B",
                         "tone": "light" if s % 3 else "dark"})
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


def _fakes():
    detector, embedder = FakeDetector(), FakeEmbedder()
    return detector, embedder, dict(build_embedder=lambda name: embedder, build_detector=lambda name: detector)


def test_images_mode_counts_pairs_and_failures_to_enrol(manifest_path):
    manifest = read_manifest(manifest_path, groups=("group", "tone"), label_sources=(("group", "synthetic"),))
    config = VerificationConfig(operating_points=(OperatingPoint(target_fmr=0.05),), extra_targets=(), n_bootstrap=20)
    _, _, builders = _fakes()
    result = audit_images(manifest, models=["fake"], config=config, attributes=["group", "group x tone"], **builders)
    audit = result.audit
    assert audit.n_pairs == 35 * 34 // 2 and audit.n_mated == 11 * 3 + 1   # image s0_0 failed
    fte = {(f.attribute, n): int(x) for f in result.failures for n, x in zip(f.names, f.failed)}
    assert fte[("group", "A")] == 0 and fte[("group", "B")] == 1 and fte[("group x tone", "B x dark")] == 1
    points = audit.results[0].operating_points
    assert [p.point.policy.value for p in points] == ["target-fmr", "fixed"]
    assert points[1].point.name == "customary distance 10"
    assert points[1].threshold == pytest.approx(-10.0)           # the similarity scale: distance negated
    assert points[1].threshold_input_scale == pytest.approx(10.0)  # and reported as the distance it is
    assert audit.scale("fake") is ScoreScale.DISTANCE
    assert any("Far too small" in c for c in result.caveats)
    assert result.failure_records()["fake"]["group"]["B"] == {"images": 18, "failed": 1, "rate": 1 / 18}


def test_comparisons_from_images_match_the_general_builder(manifest_path):
    manifest = read_manifest(manifest_path, groups=("group", "tone"))
    detector, embedder = FakeDetector(), FakeEmbedder()
    enrolments = enrol_images(manifest.paths, embedders={"fake": embedder}, detector=detector)
    fast = comparisons_from_images(manifest, enrolments, [embedder])
    enrolled = np.flatnonzero(~enrolments[0].failed)
    plan = plan_pairs(manifest.subjects[enrolled], rng=np.random.default_rng(0))   # all pairs: no sampling
    a, b = enrolled[plan.a], enrolled[plan.b]
    row = {image: k for k, image in enumerate(enrolments[0].image_index)}
    distance = np.linalg.norm(enrolments[0].templates[[row[x] for x in a]] -
                              enrolments[0].templates[[row[x] for x in b]], axis=1)
    general = Comparisons.build(scores=distance, mated=manifest.subjects[a] == manifest.subjects[b],
                                labels_a={"group": manifest.labels[a, 0], "tone": manifest.labels[a, 1]},
                                labels_b={"group": manifest.labels[b, 0], "tone": manifest.labels[b, 1]},
                                subjects_a=manifest.subjects[a], subjects_b=manifest.subjects[b], models=["fake"],
                                scales=["distance"])
    assert fast.score("fake") == pytest.approx(general.score("fake"), abs=1e-5)
    assert np.array_equal(fast.mated, general.mated) and fast.n_mated == 34
    assert fast.group_names == general.group_names and fast.subject_names == general.subject_names
    for name in ("labels_a", "labels_b", "subject_a", "subject_b"):
        assert np.array_equal(getattr(fast, name), getattr(general, name)), name
    assert fast.scales == (ScoreScale.DISTANCE,)


def test_plan_pairs_samples_non_mated_when_capped():
    subjects = np.repeat(np.arange(50), 2)
    plan = plan_pairs(subjects, max_nonmated=300, rng=np.random.default_rng(1))
    assert plan.sampled and plan.mated.sum() == 50 and (~plan.mated).sum() == 300
    assert np.all(subjects[plan.a[~plan.mated]] != subjects[plan.b[~plan.mated]])
    assert len({(a, b) for a, b in zip(plan.a, plan.b)}) == len(plan.a)
    full = plan_pairs(np.arange(5), rng=np.random.default_rng(1))
    assert not full.sampled and full.mated.sum() == 0 and len(full.a) == 10


def test_templates_file_is_reused_extended_and_guarded(manifest_path, tmp_path):
    manifest = read_manifest(manifest_path, groups=("group",))
    store_path = tmp_path / "kept" / "templates.npz"
    store_path.parent.mkdir()
    first = FakeEmbedder()
    enrolled = enrol_images(manifest.paths, embedders={"fake": first}, detector=FakeDetector(),
                            store=TemplateStore.open(store_path))
    assert first.calls == 35 and store_path.is_file()                  # the black image never reaches the embedder
    again = FakeEmbedder()
    reused = enrol_images(manifest.paths[::-1], embedders={"fake": again}, detector=FakeDetector(),
                          store=TemplateStore.open(store_path))
    assert again.calls == 0 and reused[0].reused == 36
    assert reused[0].failed[::-1].tolist() == enrolled[0].failed.tolist()    # failures are remembered too
    assert np.allclose(reused[0].templates[::-1], enrolled[0].templates)
    new_image = tmp_path / "new.png"
    Image.fromarray(np.full((8, 8, 3), 77, np.uint8)).save(new_image)
    third = FakeEmbedder()
    enrol_images((*manifest.paths, new_image), embedders={"fake": third}, detector=FakeDetector(),
                 store=TemplateStore.open(store_path))
    assert third.calls == 1                                             # only the new image
    with pytest.raises(ConfigError, match="faces='detect'.*faces='whole-image'"):
        enrol_images(manifest.paths, embedders={"fake": FakeEmbedder()}, detector=None,
                     config=EnrolConfig(faces="whole-image"), store=TemplateStore.open(store_path))
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip")
    with pytest.raises(InputFileError, match="templates file"):
        TemplateStore.open(broken)


def test_an_interrupted_enrolment_keeps_what_it_embedded(manifest_path, tmp_path):
    manifest = read_manifest(manifest_path, groups=("group",))
    store_path = tmp_path / "templates.npz"
    with pytest.raises(KeyboardInterrupt):
        enrol_images(manifest.paths, embedders={"fake": FakeEmbedder(fail_after=10)}, detector=FakeDetector(),
                     store=TemplateStore.open(store_path), checkpoint_every=4)
    resumed = FakeEmbedder()
    enrol_images(manifest.paths, embedders={"fake": resumed}, detector=FakeDetector(),
                 store=TemplateStore.open(store_path))
    assert resumed.calls == 35 - 10


def test_whole_image_faces_skip_the_detector_and_large_images_are_detected_small(tmp_path):
    path = tmp_path / "big.png"
    Image.fromarray(np.full((300, 200, 3), 90, np.uint8)).save(path)
    embedder = FakeEmbedder()
    enrol_images([path], embedders={"fake": embedder}, detector=None, config=EnrolConfig(faces="whole-image"))
    assert embedder.boxes[0].tolist() == [[0, 0, 200, 300]]
    detector, embedder = FakeDetector(), FakeEmbedder()
    enrol_images([path], embedders={"fake": embedder}, detector=detector, config=EnrolConfig(detection_side=150))
    assert detector.seen == [(150, 100)]
    assert embedder.boxes[0] == pytest.approx(np.array([[0, 0, 200, 300]]))  # box back in full-size pixels
    with pytest.raises(ConfigError, match="--faces"):
        EnrolConfig(faces="crop")


def test_manifest_from_pairs_joins_same_person_chains(tmp_path):
    for name in ("a1.jpg", "a2.jpg", "a3.jpg", "b1.jpg", "b2.jpg", "lone.jpg"):
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / name)
    pairs = tmp_path / "pairs.csv"
    pd.DataFrame({"image_a": ["a2.jpg", "a3.jpg", "a1.jpg", "b1.jpg"], "image_b": ["a1.jpg", "a2.jpg", "b2.jpg", "b2.jpg"],
                  "same_person": [1, 1, 0, 1]}).to_csv(pairs, index=False)
    derived = manifest_from_pairs(pairs)
    assert [p.name for p in derived.paths] == ["a1.jpg", "a2.jpg", "a3.jpg", "b1.jpg", "b2.jpg"]
    assert derived.subjects == ("a1", "a1", "a1", "b1", "b1")
    assert [p.name for p in derived.unlisted] == ["lone.jpg"]
    pd.DataFrame({"image_a": ["a1.jpg", "a2.jpg", "a1.jpg"], "image_b": ["a2.jpg", "a3.jpg", "a3.jpg"],
                  "same_person": [1, 1, 0]}).to_csv(pairs, index=False)
    with pytest.raises(ConfigError, match="contradicts itself"):
        manifest_from_pairs(pairs)


def test_manifest_rows_without_a_subject_are_refused(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,subject,group\nx.jpg,s1,A\ny.jpg,,B\n")
    with pytest.raises(ConfigError, match="row 3"):
        read_manifest(manifest, groups=("group",))


def test_images_cli_with_fake_models(manifest_path, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import unseen.faces.registry as registry
    from unseen.cli import app

    monkeypatch.setattr(registry, "build_embedder", lambda name, **kw: FakeEmbedder())
    monkeypatch.setattr(registry, "build_detector", lambda name, **kw: FakeDetector())
    out = tmp_path / "o.json"
    templates = tmp_path / "t.npz"
    args = ["audit", "images", str(manifest_path), "--model", "fake", "--group", "group", "--target-fmr", "0.05",
            "--extra-targets", "0.1", "--bootstrap", "10", "--json", str(out), "--html", str(tmp_path / "o.html"),
            "--csv", str(tmp_path / "tables"), "--templates", str(templates)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["failure_to_enrol"]["fake"]["group"]["B"]["failed"] == 1
    assert [p.rsplit("/", 1)[-1] for p in data["failure_to_enrol_images"]["fake"]] == ["s0_0.png"]
    thresholds = data["models"]["fake"]["thresholds"]
    assert [t["operating_point"] for t in thresholds] == ["FMR 0.05", "FMR 0.1", "customary distance 10"]
    assert thresholds[2]["value"] == 10.0 and thresholds[2]["policy"] == "fixed"
    assert data["models"]["fake"]["scale"].startswith("distance")
    html = (tmp_path / "o.html").read_text()
    assert "Far too small" in html and "no face / photos" in html and "1 / 18" in html
    rows = pd.read_csv(tmp_path / "tables" / "failure_to_enrol.csv")
    assert rows.set_index("group").loc["B", "failed"] == 1
    rerun = CliRunner().invoke(app, args)
    assert rerun.exit_code == 0 and "reused from earlier runs: fake 36 of 36" in " ".join(rerun.output.split())


def test_pairs_manifest_cli(tmp_path):
    from typer.testing import CliRunner

    from unseen.cli import app

    for name in ("a1.jpg", "a2.jpg", "b1.jpg"):
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / name)
    pairs = tmp_path / "pairs.csv"
    pd.DataFrame({"image_a": ["a1.jpg", "a1.jpg"], "image_b": ["a2.jpg", "b1.jpg"], "same_person": [1, 0]}).to_csv(
        pairs, index=False)
    out = tmp_path / "out" / "manifest.csv"
    result = CliRunner().invoke(app, ["audit", "pairs-manifest", str(pairs), "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out)
    assert written.subject.tolist() == ["a1", "a1", "b1"] and set(written.group) == {"all"}
    assert read_manifest(out, groups=("group",)).paths[0] == tmp_path / "a1.jpg"


def test_identical_files_are_left_out_and_reported(manifest_path):
    import shutil

    frame = pd.read_csv(manifest_path)
    shutil.copy(manifest_path.parent / "s1_0.png", manifest_path.parent / "copy.png")
    frame = pd.concat([frame, pd.DataFrame([{"path": "copy.png", "subject": "s99", "group": "B", "tone": "dark"}])])
    frame.to_csv(manifest_path, index=False)
    manifest = read_manifest(manifest_path, groups=("group",))
    config = VerificationConfig(operating_points=(OperatingPoint(target_fmr=0.05),), extra_targets=(), n_bootstrap=0)
    _, embedder, builders = _fakes()
    result = audit_images(manifest, models=["fake"], config=config, **builders)
    assert result.audit.n_pairs == 35 * 34 // 2                      # the copy is in no pair
    assert embedder.calls == 36                                     # but it was enrolled (and found)
    (copy,) = result.copies
    assert copy.image.name == "copy.png" and copy.copy_of.name == "s1_0.png"
    caveat = next(c for c in result.caveats if "byte-identical" in c)
    assert "different labels" in caveat and "s1_0.png: A vs B" in caveat
    assert result.report_extra()["identical_copies_left_out"][0]["labels_of_copy_of"] == ["A"]
