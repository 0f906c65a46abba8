"""Redacting files: formats, orientation, alpha, metadata gone, names, resuming, refusing."""

import json

import numpy as np
import pytest
from PIL import Image

from tests.media import camera_files
from tests.media.video_files import make_video
from unseen.errors import ExitCode, InputFileError, VerificationFailedError
from unseen.media.image import load
from unseen.media.metadata import inspect_file
from unseen.media.video import read_frames
from unseen.progress import Recorded
from unseen.redact.batch import RECORD_NAME, BatchInterrupted, FileStatus, plan, redact_files


def _write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _face_box(record):
    return record.faces[0].box


CAMERA_FORMATS = {
    "jpg": lambda rgb: camera_files.camera_jpeg(rgb),
    "png": lambda rgb: camera_files.camera_png(rgb),
    "webp": lambda rgb: camera_files.camera_file(rgb, "WEBP"),
    "tif": lambda rgb: camera_files.camera_file(rgb, "TIFF"),
    "heic": lambda rgb: camera_files.camera_file(rgb, "HEIF"),
}

SECRETS = [camera_files.SERIAL.encode(), camera_files.OWNER.encode(), camera_files.MAKER_NOTE,
           camera_files.IPTC_CITY.encode(), camera_files.COMMENT.encode(), camera_files.DEVICE_PROFILE_NAME.encode(),
           camera_files.DEVICE_PROFILE_NAME.encode("utf-16-be"), b"Exif\x00\x00", b"http://ns.adobe.com/xap",
           b"8BIM", b"Photoshop 3.0", b"CameraMaker", b"2024:03:15"]


@pytest.fixture(scope="module")
def camera_run(tmp_path_factory, astronaut_rgb, quick_config):
    """Camera-style files of every format (a face, EXIF with GPS, thumbnail, maker note,
    serials, XMP, IPTC, comment, device profile) redacted in one run."""
    folder = tmp_path_factory.mktemp("camera")
    small = np.ascontiguousarray(astronaut_rgb[::2, ::2])
    for suffix, make in CAMERA_FORMATS.items():
        _write(folder / "in" / f"photo_{suffix}.{suffix}", make(small))
    summary = redact_files([folder / "in"], out_dir=folder / "out", config=quick_config)
    return folder, summary


def test_camera_files_carry_what_a_camera_writes(camera_run):
    folder, _ = camera_run
    for path in sorted((folder / "in").iterdir()):
        kinds = {item.kind.value for item in inspect_file(path).identifying}
        assert {"exif", "gps", "serial number", "maker note", "colour profile"} <= kinds, path.name


@pytest.mark.parametrize("suffix", list(CAMERA_FORMATS))
def test_outputs_carry_no_metadata_at_all(camera_run, suffix):
    folder, summary = camera_run
    assert summary.count(FileStatus.WRITTEN) == len(CAMERA_FORMATS), [r.message for r in summary.results]
    output = folder / "out" / "in" / f"photo_{suffix}.redacted.{'heic' if suffix == 'heic' else suffix}"
    report = inspect_file(output)
    assert report.clean, [item.to_record() for item in report.items]
    data = output.read_bytes()
    for secret in SECRETS:
        assert secret not in data, (suffix, secret)
    if suffix == "jpg":
        assert data.count(b"\xff\xd8\xff") == 1  # one image: the EXIF thumbnail is gone
    if suffix == "png":
        chunks = _png_chunk_types(data)
        assert set(chunks) <= {b"IHDR", b"IDAT", b"IEND"}, chunks


def _png_chunk_types(data: bytes) -> list[bytes]:
    position, types = 8, []
    while position < len(data):
        length = int.from_bytes(data[position:position + 4], "big")
        types.append(data[position + 4:position + 8])
        position += 12 + length
    return types


def test_every_output_has_its_face_covered(camera_run):
    folder, summary = camera_run
    for result in summary.results:
        assert result.faces == 1 and result.verified is True, result
        x1, y1, x2, y2 = (int(v) for v in _face_box(result.record))
        face = load(result.job.output).rgb[y1:y2, x1:x2].astype(int)
        assert face.max() < 40  # black fill, up to compression noise


def test_the_record_holds_boxes_not_pixels_or_metadata(camera_run):
    folder, _ = camera_run
    text = (folder / "out" / RECORD_NAME).read_text()
    record = json.loads(text)
    entry = record["files"]["in/photo_jpg.redacted.jpg"]
    assert entry["status"] == "written" and len(entry["faces"]) == 1
    assert set(entry["faces"][0]) == {"box", "covered_box", "score", "found_by", "review"}
    assert entry["verification"]["passed"] is True
    for secret in (camera_files.SERIAL, camera_files.OWNER, camera_files.IPTC_CITY, "GPS", "2024:03:15"):
        assert secret not in text


def test_portrait_phone_photo_comes_out_upright(tmp_path, astronaut_rgb, quick_config):
    upright = np.ascontiguousarray(astronaut_rgb[::2, ::2][:, 32:224])  # 256 x 192, portrait
    stored = np.ascontiguousarray(np.rot90(upright, k=1))  # the sensor's landscape pixels
    source = _write(tmp_path / "in" / "portrait.jpg", camera_files.camera_jpeg(stored, orientation=6))
    summary = redact_files([source], out_dir=tmp_path / "out", config=quick_config)
    output = load(summary.results[0].job.output)
    assert (output.height, output.width) == upright.shape[:2]
    with Image.open(summary.results[0].job.output) as opened:
        assert not opened.getexif()  # no orientation tag left to rotate it again
    untouched = ~_covered(summary.results[0].record, output.height, output.width)
    assert np.abs(output.rgb[untouched].astype(int) - upright[untouched]).mean() < 6  # upright, not sideways


def _covered(record, height, width):
    mask = np.zeros((height, width), bool)
    for face in record.faces:
        x1, y1, x2, y2 = face.covered_box
        mask[max(int(y1) - 16, 0):int(y2) + 16, max(int(x1) - 16, 0):int(x2) + 16] = True
    return mask


def test_rgba_png_keeps_its_alpha_and_is_opaque_where_covered(tmp_path, astronaut_rgb, quick_config):
    rgb = np.ascontiguousarray(astronaut_rgb[::2, ::2])
    alpha = np.full(rgb.shape[:2], 255, np.uint8)
    alpha[:, :64] = 0  # transparent left strip
    alpha[40:110, 80:140] = 90  # translucent over the face
    source = _write(tmp_path / "in" / "cutout.png", camera_files.camera_png(np.dstack([rgb, alpha])))
    summary = redact_files([source], out_dir=tmp_path / "out", config=quick_config)
    with Image.open(summary.results[0].job.output) as opened:
        assert opened.mode == "RGBA"
        out_alpha = np.asarray(opened.getchannel("A"))
    x1, y1, x2, y2 = (int(v) for v in _face_box(summary.results[0].record))
    assert np.all(out_alpha[y1:y2, x1:x2] == 255)
    assert np.all(out_alpha[:, :40] == 0)


def test_a_rerun_skips_what_is_done_and_redoes_what_is_not(tmp_path, astronaut_rgb, quick_config):
    small = np.ascontiguousarray(astronaut_rgb[::4, ::4])
    for name in ("a", "b", "c"):
        Image.fromarray(np.roll(small, 8 * ord(name), axis=1)).save(_write(tmp_path / "in" / f"{name}.png", b""))
    out = tmp_path / "out"
    first = redact_files([tmp_path / "in"], out_dir=out, config=quick_config)
    assert first.count(FileStatus.WRITTEN) == 3
    (out / "in" / "b.redacted.png").unlink()  # as if the run had died before b was written
    second = redact_files([tmp_path / "in"], out_dir=out, config=quick_config)
    assert [r.status for r in second.results] == [FileStatus.ALREADY_DONE, FileStatus.WRITTEN, FileStatus.ALREADY_DONE]
    record = json.loads((out / RECORD_NAME).read_text())
    assert len(record["runs"]) == 2 and len(record["files"]) == 3
    changed = redact_files([tmp_path / "in"], out_dir=out, config=quick_config.__class__(
        verification=quick_config.verification, threshold=0.4))
    assert changed.count(FileStatus.WRITTEN) == 3  # other options: everything is done again
    assert not list(out.rglob("*.partial"))


def test_an_interrupted_run_keeps_its_record_and_resumes(tmp_path, astronaut_rgb, quick_config):
    small = np.ascontiguousarray(astronaut_rgb[::4, ::4])
    for name in ("a", "b"):
        Image.fromarray(np.roll(small, 8 * ord(name), axis=1)).save(_write(tmp_path / "in" / f"{name}.png", b""))

    class InterruptedAfterOne(Recorded):
        def advance(self, amount=1.0):
            raise KeyboardInterrupt

    with pytest.raises(BatchInterrupted, match="after 1 of 2 file") as stopped:
        redact_files([tmp_path / "in"], out_dir=tmp_path / "out", config=quick_config,
                     progress=InterruptedAfterOne())
    assert [job.source.name for job in stopped.value.summary.not_started] == ["b.png"]
    assert stopped.value.exit_code is ExitCode.INTERRUPTED
    record = json.loads((tmp_path / "out" / RECORD_NAME).read_text())
    assert list(record["files"]) == ["in/a.redacted.png"]
    again = redact_files([tmp_path / "in"], out_dir=tmp_path / "out", config=quick_config)
    assert [r.status for r in again.results] == [FileStatus.ALREADY_DONE, FileStatus.WRITTEN]


def test_unreadable_and_animated_files_fail_with_a_reason_and_the_run_goes_on(tmp_path, astronaut_rgb, quick_config):
    _write(tmp_path / "in" / "broken.jpg", b"\xff\xd8\xff\xe0 not a jpeg")
    _write(tmp_path / "in" / "notes.jpg", b"shopping list: milk, eggs\n")
    frames = [Image.fromarray(np.full((32, 32, 3), v, np.uint8)) for v in (0, 120, 240)]
    frames[0].save(tmp_path / "in" / "anim.gif", save_all=True, append_images=frames[1:])
    Image.fromarray(np.ascontiguousarray(astronaut_rgb[::4, ::4])).save(tmp_path / "in" / "still.gif")
    summary = redact_files([tmp_path / "in"], out_dir=tmp_path / "out", config=quick_config)
    by_name = {r.job.source.name: r for r in summary.results}
    assert by_name["broken.jpg"].status is FileStatus.FAILED and "not a readable image" in by_name["broken.jpg"].message
    assert by_name["notes.jpg"].status is FileStatus.FAILED
    assert by_name["notes.jpg"].message == "not an image: the file is a text file"  # the entry names the file
    assert by_name["anim.gif"].status is FileStatus.FAILED and "3 frames" in by_name["anim.gif"].message
    assert by_name["still.gif"].status is FileStatus.WRITTEN and by_name["still.gif"].job.output.suffix == ".png"
    with pytest.raises(InputFileError, match="could not redact 3 file") as raised:
        summary.raise_for_failures()
    assert raised.value.exit_code is ExitCode.BAD_INPUT and "broken.jpg" in str(raised.value)


def test_plan_names_outputs_clearly_and_never_reads_its_own_outputs(tmp_path):
    for relative in ("trip/day1/a.JPG", "trip/b.heic", "trip/.hidden/c.jpg", "trip/notes.txt", "other/a.jpg"):
        _write(tmp_path / relative, b"x")
    _write(tmp_path / "trip" / "out" / "old.redacted.jpg", b"x")
    _write(tmp_path / "trip" / "clip.MP4", b"x")
    planned = plan([tmp_path / "trip", tmp_path / "other" / "a.jpg", tmp_path / "trip" / "day1" / "a.JPG"],
                   tmp_path / "trip" / "out")
    assert [job.name for job in planned.jobs] == [
        "trip/b.redacted.heic", "trip/clip.redacted.mp4", "trip/day1/a.redacted.jpg", "a.redacted.jpg",
        "a-2.redacted.jpg"]
    assert [job.is_video for job in planned.jobs] == [False, True, False, False, False]
    assert {(s.path.name, s.reason) for s in planned.skipped} == {
        ("c.jpg", "hidden file"), ("notes.txt", "not a photo or video (.txt)")}
    with pytest.raises(InputFileError, match="no such file"):
        plan([tmp_path / "missing.jpg"], tmp_path / "out")


def test_strict_refuses_to_write_an_output_that_fails_verification(tmp_path, astronaut_rgb, quick_config):
    from dataclasses import replace

    source = _write(tmp_path / "in" / "face.png", b"")
    Image.fromarray(np.ascontiguousarray(astronaut_rgb[::2, ::2])).save(source)
    # covering only what scores >= 0.99 leaves the face bare; verification must catch it
    weak = replace(quick_config, threshold=0.999, strict=True)
    summary = redact_files([source], out_dir=tmp_path / "out", config=weak)
    result = summary.results[0]
    assert result.status is FileStatus.REFUSED and not result.job.output.exists()
    assert result.verified is False
    with pytest.raises(VerificationFailedError, match="face.redacted.png"):
        summary.raise_for_failures()


def test_photos_and_videos_in_one_folder_and_a_rerun_skips_the_finished_video(tmp_path, astronaut_rgb, quick_config):
    Image.fromarray(np.ascontiguousarray(astronaut_rgb[::4, ::4])).save(_write(tmp_path / "in" / "a.png", b""))
    make_video(tmp_path / "in" / "clip.mov", frames=6, audio=True, tags=True)
    out = tmp_path / "out"
    first = redact_files([tmp_path / "in"], out_dir=out, config=quick_config)
    assert [(r.job.name, r.status) for r in first.results] == [
        ("in/a.redacted.png", FileStatus.WRITTEN), ("in/clip.redacted.mp4", FileStatus.WRITTEN)]
    video = first.results[1].record
    assert video.video.frames == 6 and video.video.audio == "dropped" and video.video_verification.passed
    assert inspect_file(out / "in" / "clip.redacted.mp4").clean
    progress = Recorded()
    again = redact_files([tmp_path / "in"], out_dir=out, config=quick_config, progress=progress)
    assert [r.status for r in again.results] == [FileStatus.ALREADY_DONE, FileStatus.ALREADY_DONE]
    assert progress.unit == "megapixels" and "frames" not in progress.stages[-1]  # the video was not read again
    assert again.results[1].record.video == video.video  # the record read back, typed


def test_an_interrupted_video_leaves_no_output_and_the_rerun_finishes_it(tmp_path, quick_config):
    make_video(tmp_path / "in" / "clip.mp4", frames=8)

    class StopWhileEncoding(Recorded):
        def advance(self, amount=1.0):
            super().advance(amount)
            if self.description.startswith("covering") and self.done >= 3:
                raise KeyboardInterrupt

    with pytest.raises(BatchInterrupted, match="after 0 of 1 file"):
        redact_files([tmp_path / "in"], out_dir=tmp_path / "out", config=quick_config, progress=StopWhileEncoding())
    assert [p.name for p in (tmp_path / "out").rglob("*") if p.is_file()] == [RECORD_NAME]
    again = redact_files([tmp_path / "in"], out_dir=tmp_path / "out", config=quick_config)
    assert [r.status for r in again.results] == [FileStatus.WRITTEN]
    assert len(list(read_frames(tmp_path / "out" / "in" / "clip.redacted.mp4"))) == 8


def test_preview_outlines_what_was_covered_and_holds_only_the_redacted_pixels(tmp_path, astronaut_rgb, quick_config):
    from unseen.redact.preview import COVERED

    source = _write(tmp_path / "in" / "face.png", b"")
    Image.fromarray(np.ascontiguousarray(astronaut_rgb)).save(source)
    summary = redact_files([source], out_dir=tmp_path / "out", config=quick_config, preview_dir=tmp_path / "preview")
    preview_file = tmp_path / "preview" / "face.redacted.preview.jpg"
    preview = load(preview_file).rgb
    output = load(summary.results[0].job.output).rgb
    assert preview.shape == output.shape  # 512 px: not downscaled
    assert inspect_file(preview_file).clean
    x1, y1, x2, y2 = (int(v) for v in summary.results[0].record.faces[0].covered_box)
    edge = preview[y1 + 1, (x1 + x2) // 2].astype(int)
    assert np.abs(edge - np.array(COVERED)).max() < 60  # the covered region is outlined
    inside = preview[y1 + 8:y2 - 8, x1 + 8:x2 - 8].astype(int)
    assert inside.max() < 40  # and still covered: the preview shows nothing the output does not


def test_strict_refuses_a_video_whose_sampled_frames_still_show_a_face(tmp_path, quick_config):
    from dataclasses import replace

    from tests.redact.test_video import face_clip
    from unseen.faces.tracking import TrackerConfig
    from unseen.redact.video import VideoRedactConfig

    source, _ = face_clip(tmp_path / "in", frames=6)
    blind = VideoRedactConfig(tracker=TrackerConfig(threshold=0.999, low_threshold=0.999))  # covers nothing
    summary = redact_files([source], out_dir=tmp_path / "out", config=replace(quick_config, strict=True), video=blind)
    result = summary.results[0]
    assert result.status is FileStatus.REFUSED and result.verified is False
    assert not result.job.output.exists() and not list((tmp_path / "out").rglob("*.partial"))
    with pytest.raises(VerificationFailedError, match="clip|face"):
        summary.raise_for_failures()


def test_two_photo_workers_write_what_one_writes(tmp_path, astronaut_rgb, quick_config):
    small = np.ascontiguousarray(astronaut_rgb[::2, ::2])
    for name in ("a", "b", "c"):
        Image.fromarray(np.roll(small, 8 * ord(name), axis=1)).save(_write(tmp_path / "in" / f"{name}.png", b""))
    one = redact_files([tmp_path / "in"], out_dir=tmp_path / "one", config=quick_config, workers=1)
    two = redact_files([tmp_path / "in"], out_dir=tmp_path / "two", config=quick_config, workers=2)
    assert [r.status for r in two.results] == [FileStatus.WRITTEN] * 3
    for first, second in zip(one.results, two.results):
        assert first.record.faces == second.record.faces
        assert first.job.output.read_bytes() == second.job.output.read_bytes()


def test_a_decompression_bomb_is_refused_by_name_and_the_batch_goes_on(tmp_path, astronaut_rgb, quick_config):
    import struct

    bomb = (b"GIF89a" + struct.pack("<HH", 65535, 65535) + b"\x00\x00\x00" + b","
            + struct.pack("<HHHH", 0, 0, 65535, 65535) + b"\x00\x02\x02\x44\x01\x00;")  # 29 bytes, 4.3 gigapixels
    _write(tmp_path / "in" / "a-bomb.gif", bomb)
    Image.fromarray(np.ascontiguousarray(astronaut_rgb[::4, ::4])).save(_write(tmp_path / "in" / "b-face.png", b""))
    summary = redact_files([tmp_path / "in"], out_dir=tmp_path / "out", config=quick_config)
    bombed, face = summary.results
    assert bombed.status is FileStatus.FAILED and "decompression bomb" in bombed.message
    assert face.status is FileStatus.WRITTEN
    with pytest.raises(InputFileError) as raised:
        summary.raise_for_failures()
    assert raised.value.exit_code is ExitCode.BAD_INPUT
