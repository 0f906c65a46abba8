"""Crash safety: a batch killed at random points, a disk that fills up, a folder that cannot be
written to. Originals stay byte-identical, no output is ever half-written under its name,
the record stays readable, and running the same command again finishes the batch."""

from __future__ import annotations

import errno
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.media.video_files import make_video
from unseen.errors import ExitCode, OutputError
from unseen.media.files import PARTIAL
from unseen.media.image import load
from unseen.media.video import read_frames
from unseen.redact.batch import RECORD_NAME, BatchStopped, FileStatus, redact_files
from unseen.redact.record import RedactionRecord

VIDEO_FRAMES = 12


def _inputs(folder: Path, astronaut_rgb: np.ndarray) -> dict[Path, str]:
    """Four photos and a clip; their SHA-256 by path."""
    folder.mkdir(parents=True)
    rgb = np.ascontiguousarray(astronaut_rgb[::4, ::4])
    for i in range(4):
        Image.fromarray(np.roll(rgb, 16 * i, axis=1)).save(folder / f"p{i}.png")
    small = np.ascontiguousarray(rgb[:96, :128])
    make_video(folder / "clip.mp4", frames=VIDEO_FRAMES, width=128, height=96,
               pixels=lambda i: np.roll(small, 2 * i, axis=1))
    return _hashes(folder)


def _hashes(folder: Path) -> dict[Path, str]:
    return {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.iterdir())}


def _check_nothing_is_half_written(out: Path) -> list[str]:
    """Every visible file is the record (readable) or a whole output; hidden files can only
    be a killed write's temporary. Returns the outputs found."""
    found = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        if path.name.startswith("."):
            assert PARTIAL.match(path.name), path
        elif path.name == RECORD_NAME:
            assert RedactionRecord.read(path) is not None, "the record cannot be read"
        elif path.suffix == ".mp4":
            assert len(list(read_frames(path))) == VIDEO_FRAMES
            found.append(path.name)
        else:
            assert load(path).rgb.shape == (128, 128, 3)
            found.append(path.name)
    return found


def test_a_batch_killed_at_random_points_loses_nothing_and_a_rerun_finishes_it(tmp_path, astronaut_rgb):
    originals = _inputs(tmp_path / "in", astronaut_rgb)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "unseen", "redact", str(tmp_path / "in"), "-o", str(out), "--no-verify",
               "--workers", "1"]
    environment = {**os.environ, "COLUMNS": "200"}
    rng = random.Random(15)
    for _ in range(3):
        running = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment)
        time.sleep(rng.uniform(0.5, 5.0))
        running.send_signal(signal.SIGKILL)
        running.wait(timeout=30)
        assert _hashes(tmp_path / "in") == originals
        _check_nothing_is_half_written(out)
    finished = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert _hashes(tmp_path / "in") == originals
    assert sorted(_check_nothing_is_half_written(out)) == sorted(
        ["clip.redacted.mp4"] + [f"p{i}.redacted.png" for i in range(4)])
    assert not [p for p in out.rglob(".*") if p.is_file()], "a killed write's temporary file was left"
    record = RedactionRecord.read(out / RECORD_NAME)
    assert {entry.status for entry in record.files.values()} <= {FileStatus.WRITTEN, FileStatus.ALREADY_DONE}
    assert len(record.files) == 5


def _full_after(monkeypatch, writes: int) -> None:
    """The disk fills up after ``writes`` atomic writes: every later one fails with ENOSPC."""
    import unseen.media.files as files

    real, count = files._flush_to_disk, [0]

    def flush(path: Path) -> None:
        count[0] += 1
        if count[0] > writes:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path)

    monkeypatch.setattr(files, "_flush_to_disk", flush)


def _photos(folder: Path, astronaut_rgb: np.ndarray) -> dict[Path, str]:
    folder.mkdir(parents=True)
    rgb = np.ascontiguousarray(astronaut_rgb[::4, ::4])
    for name in ("a", "b", "c"):
        Image.fromarray(np.roll(rgb, 8 * ord(name), axis=1)).save(folder / f"{name}.png")
    return _hashes(folder)


def test_a_full_disk_stops_the_batch_naming_the_file_and_loses_nothing(tmp_path, astronaut_rgb, quick_config,
                                                                       monkeypatch):
    originals = _photos(tmp_path / "in", astronaut_rgb)
    out = tmp_path / "out"
    _full_after(monkeypatch, 2)  # the record's first save and a's output; b's does not fit
    with pytest.raises(BatchStopped) as raised:
        redact_files([tmp_path / "in"], out_dir=out, config=quick_config, workers=1)
    message = str(raised.value)
    assert raised.value.exit_code is ExitCode.OUTPUT_FAILED
    assert f"{out / 'in' / 'b.redacted.png'}: cannot write it (No space left on device)" in message
    assert "free some space" in message and "Stopped after 1 of 3 file(s)" in message
    assert [job.source.name for job in raised.value.summary.not_started] == ["b.png", "c.png"]
    assert _hashes(tmp_path / "in") == originals
    assert _check_nothing_is_half_written(out) == ["a.redacted.png"]
    assert not [p for p in out.rglob(".*") if p.is_file()]
    monkeypatch.undo()  # space freed: the same command finishes the batch
    again = redact_files([tmp_path / "in"], out_dir=out, config=quick_config, workers=1)
    assert [r.status for r in again.results] == [FileStatus.WRITTEN] * 3
    assert sorted(_check_nothing_is_half_written(out)) == ["a.redacted.png", "b.redacted.png", "c.redacted.png"]


def test_a_read_only_output_folder_is_found_before_any_work(tmp_path, astronaut_rgb, quick_config, monkeypatch):
    import unseen.media.files as files

    originals = _photos(tmp_path / "in", astronaut_rgb)
    real_open = os.open

    def read_only(path, flags, *args):
        if flags & os.O_CREAT and str(path).startswith(str(tmp_path / "out")):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(files.os, "open", read_only)
    (tmp_path / "out").mkdir()
    with pytest.raises(OutputError) as raised:
        redact_files([tmp_path / "in"], out_dir=tmp_path / "out", config=quick_config, workers=1)
    assert not isinstance(raised.value, BatchStopped)  # nothing was started
    assert str(raised.value).startswith(f"{tmp_path / 'out' / RECORD_NAME}: cannot write it (Read-only file system)")
    assert raised.value.exit_code is ExitCode.OUTPUT_FAILED
    assert _hashes(tmp_path / "in") == originals and list((tmp_path / "out").iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="permissions do not stop root: the read-only case is simulated above")
def test_a_folder_without_write_permission_gives_a_clear_error(tmp_path, astronaut_rgb, quick_config):
    _photos(tmp_path / "in", astronaut_rgb)
    locked = tmp_path / "out"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="cannot write it \\(Permission denied\\)"):
            redact_files([tmp_path / "in"], out_dir=locked, config=quick_config, workers=1)
    finally:
        locked.chmod(0o755)
