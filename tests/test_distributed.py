"""The same jobs on a local Ray instance (loopback only), against local runs: enrolment and
streamed scoring of an images audit, and redaction of a folder; resumed runs."""

import json
from importlib.util import find_spec

import numpy as np
import pytest
from PIL import Image

from tests.audit.fakes import fakes, write_manifest
from tests.audit.verification.same_audit import assert_same_audit
from unseen.audit.recognition.manifest import read_manifest
from unseen.audit.scale import ScaleConfig, TemplateGroups, count_pairs, pairs_at_or_above
from unseen.audit.verification.config import OperatingPoint, VerificationConfig
from unseen.audit.verification.images import ImagesConfig, audit_images
from unseen.examples import astronaut_photo
from unseen.faces.embedders.base import Metric
from unseen.redact.batch import RECORD_NAME, redact_files
from unseen.redact.photo import RedactConfig
from unseen.redact.verify import VerifyConfig

pytestmark = pytest.mark.skipif(find_spec("ray") is None,
                                reason="Ray is not installed (pip install 'unseen[ray]' runs these tests)")


@pytest.fixture(scope="module")
def cluster():
    from unseen.distributed import RayCluster

    with RayCluster("local", cpus=2) as connected:
        yield connected


def test_a_local_instance_listens_on_loopback_only_and_reports_nothing(cluster):
    import os

    assert str(cluster.ray.get_runtime_context().gcs_address).startswith("127.0.0.1:")
    assert {node["NodeManagerAddress"] for node in cluster.ray.nodes()} == {"127.0.0.1"}
    assert os.environ["RAY_USAGE_STATS_ENABLED"] == "0"
    assert cluster.cpus == 2


def test_scoring_on_ray_counts_what_a_local_run_counts(cluster):
    rng = np.random.default_rng(0)
    groups = TemplateGroups(rng.standard_normal((700, 16)).astype(np.float32), rng.integers(0, 3, 700),
                            np.arange(700) // 2, 3, Metric.COSINE)
    config = ScaleConfig(memory_mib=64, fine_bins=1 << 12)   # small blocks: many shares
    local = count_pairs(groups, config=config)
    remote = count_pairs(groups, config=config, runner=cluster.runner())
    assert np.array_equal(local.above, remote.above) and np.array_equal(local.total, remote.total)
    assert local.sums == pytest.approx(remote.sums)
    floor = local.threshold_at_most(1e-2)[0]
    here = pairs_at_or_above(groups, floor, config=config)
    there = pairs_at_or_above(groups, floor, config=config, runner=cluster.runner())
    assert set(zip(here.a.tolist(), here.b.tolist())) == set(zip(there.a.tolist(), there.b.tolist()))


def test_an_images_audit_on_ray_equals_a_local_one_and_resumes(cluster, tmp_path):
    manifest_path = write_manifest(tmp_path)
    manifest = read_manifest(manifest_path, groups=("group", "tone"))
    config = VerificationConfig(operating_points=(OperatingPoint(target_fmr=0.05),), extra_targets=(), n_bootstrap=30)
    attributes = ["group", "group x tone"]
    _, _, builders = fakes()
    local = audit_images(manifest, models=["fake"], config=config, attributes=attributes,
                         images=ImagesConfig(scoring="streaming"), **builders)
    half = read_manifest(manifest_path, groups=("group", "tone"))
    half = type(half)(half.paths[:18], half.subjects[:18], half.attributes, half.labels[:18])
    store = tmp_path / "templates.npz"
    _, _, builders = fakes()
    audit_images(half, models=["fake"], config=config, images=ImagesConfig(templates=store), **builders)
    _, embedder, builders = fakes()
    remote = audit_images(manifest, models=["fake"], config=config, attributes=attributes,
                          images=ImagesConfig(templates=store), cluster=cluster, **builders)
    assert embedder.calls == 0                                  # embedded by the cluster's actors, not here
    assert remote.enrolments[0].reused == 18                    # the first half came from the templates file
    assert np.array_equal(local.enrolments[0].templates, remote.enrolments[0].templates)
    assert any("scored in blocks" in n for n in remote.audit.notes)   # on a cluster, auto streams
    assert_same_audit(local.audit, remote.audit)


def test_redacting_a_folder_on_ray_writes_what_a_local_run_writes(cluster, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    photo = Image.open(astronaut_photo()).convert("RGB")
    for k, size in enumerate((256, 320, 200)):
        photo.resize((size, size)).save(folder / f"p{k}.jpg", quality=90)
    config = RedactConfig(verification=VerifyConfig(embedders=()))
    local = redact_files([folder], out_dir=tmp_path / "local", config=config)
    remote = redact_files([folder], out_dir=tmp_path / "ray", config=config, cluster=cluster)
    assert [r.status for r in remote.results] == [r.status for r in local.results]
    for name in ("p0", "p1", "p2"):
        assert (tmp_path / "ray" / "in" / f"{name}.redacted.jpg").read_bytes() == \
            (tmp_path / "local" / "in" / f"{name}.redacted.jpg").read_bytes()
    files = lambda run: {k: {f: v for f, v in e.items() if f not in ("seconds",)}   # noqa: E731
                         for k, e in json.loads((tmp_path / run / RECORD_NAME).read_text())["files"].items()}
    assert files("ray") == files("local")
    again = redact_files([folder], out_dir=tmp_path / "ray", config=config, cluster=cluster)
    assert {r.status.value for r in again.results} == {"already done"}   # a rerun resumes: nothing redone
