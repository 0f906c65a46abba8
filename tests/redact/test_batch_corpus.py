"""Awkward and hostile files in a batch: each bad one fails with its reason, the rest is done;
what is invisible in a cut-out is not written; an unforeseen error fails one file only."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from tests.media.test_corpus import _audio_only, _no_frames
from tests.media.video_files import make_video
from unseen.media.image import OutputFormat, load
from unseen.media.video import probe
from unseen.redact.batch import FileStatus, redact_files


def _face(astronaut_rgb, step=4):
    return np.ascontiguousarray(astronaut_rgb[::step, ::step])


@pytest.mark.parametrize(("suffix", "file_format"), [(".gif", "GIF"), (".webp", "WEBP"), (".png", "PNG")])
def test_an_animation_is_refused_with_its_reason_and_the_batch_goes_on(tmp_path, astronaut_rgb, quick_config,
                                                                      suffix, file_format):
    folder = tmp_path / "in"
    folder.mkdir()
    frames = [Image.fromarray(np.roll(_face(astronaut_rgb), 9 * i, axis=1)) for i in range(3)]
    frames[0].save(folder / f"a-moving{suffix}", file_format, save_all=True, append_images=frames[1:])
    frames[0].save(folder / "b-still.png")
    moving, still = redact_files([folder], out_dir=tmp_path / "out", config=quick_config).results
    assert moving.status is FileStatus.FAILED
    assert f"{file_format} with 3 frames; unseen redacts still photos only" in moving.message
    assert still.status is FileStatus.WRITTEN


def test_the_photo_behind_a_cut_out_is_not_written(tmp_path, astronaut_rgb, quick_config):
    """A PNG cut-out keeps the whole photo in its invisible pixels; the redacted copy must not."""
    rgb = _face(astronaut_rgb, 2)
    alpha = np.zeros(rgb.shape[:2], np.uint8)
    alpha[:, rgb.shape[1] // 2:] = 255  # only the right half is shown
    source = tmp_path / "in" / "cutout.png"
    source.parent.mkdir()
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(source)
    for output_format, alpha_kept in (("png", True), ("jpeg", False)):
        config = replace(quick_config, output_format=OutputFormat.parse(output_format))
        result = redact_files([source], out_dir=tmp_path / output_format, config=config).results[0]
        written = load(result.job.output)
        assert (written.alpha is not None) == alpha_kept
        left = written.rgb[:, : rgb.shape[1] // 2 - 8].astype(int)  # away from the JPEG block at the edge
        assert left.max() <= 3, output_format  # nothing of the photo where nothing was shown
        right = written.rgb[:, rgb.shape[1] // 2 + 8:].astype(int)
        assert right.std() > 20  # the shown half is still the photo


@pytest.mark.parametrize(("name", "make", "reason"), [
    ("no-frames.mkv", _no_frames, "the video has no frames"),
    ("voice.mp4", _audio_only, "no video stream"),
    ("empty.mp4", lambda path: path.write_bytes(b"") or path, "not a video unseen can read"),
])
def test_a_video_that_cannot_be_redacted_fails_with_its_reason(tmp_path, quick_config, name, make, reason):
    folder = tmp_path / "in"
    folder.mkdir()
    make(folder / name)
    make_video(folder / "z-good.mp4", frames=3, width=64, height=48)
    bad, good = redact_files([folder], out_dir=tmp_path / "out", config=quick_config).results
    assert bad.status is FileStatus.FAILED and reason in bad.message, bad.message
    assert good.status is FileStatus.WRITTEN


def test_an_odd_sized_video_is_written_at_the_even_size_below(tmp_path, quick_config):
    source = make_video(tmp_path / "odd.mkv", frames=3, width=33, height=17, codec="ffv1", container="matroska")
    result = redact_files([source], out_dir=tmp_path / "out", config=quick_config).results[0]
    assert result.status is FileStatus.WRITTEN
    info = probe(result.job.output)
    assert (info.width, info.height) == (32, 16)


def test_an_unforeseen_error_fails_that_file_only(tmp_path, astronaut_rgb, quick_config, monkeypatch):
    from unseen.redact.photo import Redactor

    original = Redactor.redact

    def flaky(self, image, **options):
        if image.path.name == "b.png":
            raise RuntimeError("a bug")
        return original(self, image, **options)

    monkeypatch.setattr(Redactor, "redact", flaky)
    results = redact_files([_three_faces(tmp_path, astronaut_rgb)], out_dir=tmp_path / "out", config=quick_config,
                           workers=1).results
    assert [r.status for r in results] == [FileStatus.WRITTEN, FileStatus.FAILED, FileStatus.WRITTEN]
    assert results[1].message.startswith("unexpected error (RuntimeError: a bug); nothing was written for it")
    assert not (tmp_path / "out" / "in" / "b.redacted.png").exists()


def test_a_photo_worker_that_dies_fails_its_photo_and_the_batch_goes_on(tmp_path, astronaut_rgb, quick_config,
                                                                         monkeypatch):
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from unseen.redact.batch import WORKERS_STOPPED, PhotoWorkers

    real_submit, restarts = PhotoWorkers.submit, []

    def dying(self, job, previous):
        if job.source.name == "b.png" and not restarts:
            real_submit(self, job, previous)  # remembered, as a real submission is
            crashed = Future()
            crashed.set_exception(BrokenProcessPool("a worker process died"))
            return crashed
        return real_submit(self, job, previous)

    monkeypatch.setattr(PhotoWorkers, "submit", dying)
    monkeypatch.setattr(PhotoWorkers, "restart", lambda self: restarts.append(True))
    results = redact_files([_three_faces(tmp_path, astronaut_rgb)], out_dir=tmp_path / "out", config=quick_config,
                           workers=1).results
    assert [r.status for r in results] == [FileStatus.WRITTEN, FileStatus.FAILED, FileStatus.WRITTEN]
    assert results[1].message == WORKERS_STOPPED and restarts == [True]


def _three_faces(tmp_path, astronaut_rgb):
    """A folder of a.png, b.png and c.png, each holding a face."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        Image.fromarray(_face(astronaut_rgb)).save(folder / name)
    return folder
