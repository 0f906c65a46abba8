"""A corpus of awkward and hostile image and video files, made here: each is read correctly or
refused with an `InputFileError` naming the file and the reason, never anything else.

The fuzzing seeds and every input that once crashed a fuzzing target are replayed too."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.media.video_files import make_video
from unseen.errors import InputFileError
from unseen.media.image import load, register_heif
from unseen.media.video import MAX_FRAME_PIXELS, probe, read_frames

PROJECT = Path(__file__).resolve().parents[2]


def _pixels(height: int = 30, width: int = 40) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.dstack([x * 6 % 256, y * 8 % 256, (x + y) * 3 % 256]).astype(np.uint8)


def _saved(image: Image.Image, file_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, file_format, **options)
    return buffer.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def bombs() -> dict[str, bytes]:
    """Tiny files whose headers claim billions of pixels (a few dozen bytes each)."""
    gif = (b"GIF89a" + struct.pack("<HH", 65535, 65535) + b"\x00\x00\x00," + struct.pack("<HHHH", 0, 0, 65535, 65535)
           + b"\x00\x02\x02\x44\x01\x00;")
    png = (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
           + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b""))
    jpeg = bytearray(_saved(Image.fromarray(_pixels()), "JPEG"))
    start = jpeg.index(b"\xff\xc0")
    jpeg[start + 5:start + 9] = struct.pack(">HH", 65000, 65000)
    return {"bomb.gif": gif, "bomb.png": png, "bomb.jpg": bytes(jpeg), "bomb.tif": _tiff_bomb()}


def _tiff_bomb(side: int = 200_000) -> bytes:
    """A grey TIFF header claiming side x side pixels, in one strip of one byte."""
    short, long_ = 3, 4
    entries = [(256, long_, side), (257, long_, side), (258, short, 8), (259, short, 1), (262, short, 1),
               (273, long_, 8 + 2 + 12 * 9 + 4), (277, short, 1), (278, long_, side), (279, long_, 1)]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", tag, kind, 1, value)
                                                      for tag, kind, value in entries) + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\x00"


@pytest.mark.parametrize("name", list(bombs()))
def test_a_decompression_bomb_is_refused_by_its_header(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(bombs()[name])
    with pytest.raises(InputFileError, match=f"{name}: .*(more than 200,000,000 pixels|decompression bomb)"):
        load(path)


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads the peak memory from /proc (Linux)")
def test_bombs_are_refused_in_bounded_memory(tmp_path):
    """In a fresh interpreter: every bomb refused, its peak memory (VmHWM, its own, unlike
    ru_maxrss, which a child inherits across exec) under 300 MB."""
    for name, data in bombs().items():
        (tmp_path / name).write_bytes(data)
    script = (
        "import json, sys\nfrom pathlib import Path\nfrom unseen.errors import InputFileError\n"
        "from unseen.media.image import load\nrefused = []\n"
        "for path in sorted(Path(sys.argv[1]).iterdir()):\n"
        "    try:\n        load(path)\n    except InputFileError:\n        refused.append(path.name)\n"
        "peak = next(line for line in open('/proc/self/status') if line.startswith('VmHWM:'))\n"
        "print(json.dumps({'refused': refused, 'peak_kb': int(peak.split()[1])}))\n")
    ran = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-2000:]
    result = json.loads(ran.stdout)
    assert sorted(result["refused"]) == sorted(bombs())
    assert result["peak_kb"] < 300_000, result


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("empty.jpg", b"", "empty (0 bytes)"),
    ("notes.jpg", b"shopping list: eggs\n", "a text file"),
    ("document.png", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "a PDF document"),
    ("clip.heic", b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", "a video"),
    ("page.webp", b"<!DOCTYPE html><html></html>", "an HTML page"),
    ("half.jpg", _saved(Image.fromarray(_pixels()), "JPEG")[:300], "truncated or damaged"),
    ("half.png", _saved(Image.fromarray(_pixels()), "PNG")[:60], "truncated or damaged"),
    ("noise.tif", bytes(np.random.default_rng(3).integers(0, 256, 2000, dtype=np.uint8)), "not a readable image"),
])
def test_an_unreadable_file_is_refused_naming_it_and_the_reason(tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputFileError) as raised:
        load(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: ") and reason in message and "\n" not in message


def test_a_file_with_the_wrong_extension_is_read_by_its_content(tmp_path):
    path = tmp_path / "actually-png.jpg"
    path.write_bytes(_saved(Image.fromarray(_pixels()), "PNG"))
    loaded = load(path)
    assert loaded.format == "PNG" and np.array_equal(loaded.rgb, _pixels())


@pytest.mark.parametrize(("mode", "options", "alpha"), [
    ("CMYK", {}, False), ("L", {}, False), ("I;16", {}, False), ("1", {}, False), ("LA", {}, True),
    ("P", {"transparency": 0}, True), ("RGBA", {}, True), ("F", {}, False),
])
def test_every_colour_mode_becomes_rgb_and_alpha_is_kept_where_there_is_one(tmp_path, mode, options, alpha):
    rgb = _pixels()
    if mode == "I;16":
        image = Image.fromarray((rgb[..., 0].astype(np.uint16) * 257))
    elif mode == "F":
        image = Image.fromarray(rgb[..., 0].astype(np.float32))
    elif mode == "RGBA":
        image = Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 200, np.uint8)]))
    else:
        image = Image.fromarray(rgb).convert(mode)
    path = tmp_path / ("a.tif" if mode in ("CMYK", "F") else "a.png")
    image.save(path, **options)
    loaded = load(path)
    assert loaded.rgb.dtype == np.uint8 and loaded.rgb.shape == rgb.shape
    assert (loaded.alpha is not None) == alpha
    if mode == "I;16":
        assert np.array_equal(loaded.rgb[..., 0], rgb[..., 0])  # 16 bits scaled back to 8
    if mode == "CMYK":
        assert np.abs(loaded.rgb.astype(int) - np.asarray(image.convert("RGB"))).max() <= 2
    if mode == "P":
        assert (loaded.alpha == 0).any() and (loaded.alpha == 255).any()


@pytest.mark.parametrize("orientation", [0, 9, 255, 65535])
def test_a_bogus_orientation_tag_is_ignored(tmp_path, orientation):
    image = Image.fromarray(_pixels())
    exif = image.getexif()
    exif[0x0112] = orientation
    path = tmp_path / "odd.jpg"
    image.save(path, exif=exif.tobytes(), quality=95)
    assert load(path).rgb.shape == (30, 40, 3)


@pytest.mark.parametrize(("orientation", "upright"), [
    (2, lambda a: a[:, ::-1]), (3, lambda a: a[::-1, ::-1]), (4, lambda a: a[::-1]), (5, lambda a: a.transpose(1, 0, 2)),
    (6, lambda a: np.rot90(a, -1)), (7, lambda a: a[::-1, ::-1].transpose(1, 0, 2)), (8, lambda a: np.rot90(a, 1)),
])
def test_every_valid_orientation_is_applied_to_the_pixels(tmp_path, orientation, upright):
    stored = np.zeros((30, 40, 3), np.uint8)
    stored[:10, :5] = 255  # a mark in the stored top-left corner, taller than wide
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[0x0112] = orientation
    path = tmp_path / "o.png"
    image.save(path, exif=exif.tobytes())
    assert np.array_equal(load(path).rgb, upright(stored))


@pytest.mark.parametrize(("suffix", "file_format"), [(".gif", "GIF"), (".webp", "WEBP"), (".png", "PNG")])
def test_animations_report_their_frames(tmp_path, suffix, file_format):
    frames = [Image.fromarray(np.roll(_pixels(), 5 * i, axis=1)) for i in range(3)]
    path = tmp_path / f"moving{suffix}"
    frames[0].save(path, file_format, save_all=True, append_images=frames[1:])
    assert load(path).frames == 3  # the batch refuses them by this count (tests/redact/test_batch_corpus.py)


def test_a_damaged_heic_is_refused_or_read_never_anything_else(tmp_path):
    register_heif()
    good = _saved(Image.fromarray(_pixels()), "HEIF")
    truncated = tmp_path / "truncated.heic"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(InputFileError, match="truncated.heic: not a readable image"):
        load(truncated)
    rng = np.random.default_rng(0)
    for k in range(12):
        damaged = bytearray(good)
        for where in rng.integers(0, len(damaged), 8):
            damaged[int(where)] = int(rng.integers(0, 256))
        path = tmp_path / f"damaged-{k}.heic"
        path.write_bytes(bytes(damaged))
        try:
            assert load(path).rgb.shape == (30, 40, 3)
        except InputFileError as error:
            assert str(error).startswith(str(path))


def test_an_mpo_is_read_as_its_main_picture(tmp_path):
    main, second = Image.fromarray(_pixels()), Image.fromarray(255 - _pixels())
    path = tmp_path / "stereo.jpg"
    main.save(path, "MPO", save_all=True, append_images=[second], quality=95)
    loaded = load(path)
    assert loaded.format == "MPO" and loaded.frames == 2
    assert np.abs(loaded.rgb.astype(int) - _pixels()).mean() < 3


# -- videos ------------------------------------------------------------------------------
def _no_frames(path: Path) -> Path:
    """A Matroska file whose video track holds no frame (its audio track holds a little)."""
    import av

    with av.open(str(path), "w", format="matroska") as out:
        video = out.add_stream("ffv1", rate=30)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = out.add_stream("flac", rate=48000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.int16), format="s16", layout="mono")
        frame.sample_rate, frame.pts = 48000, 0
        for packet in [*audio.encode(frame), *audio.encode(None)]:
            out.mux(packet)
    return path


def _audio_only(path: Path) -> Path:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=48000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 48000, 0
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return path


def test_a_video_without_frames_reads_as_none(tmp_path):
    path = _no_frames(tmp_path / "empty.mkv")
    assert list(read_frames(path)) == []


def test_a_file_without_a_video_stream_is_refused(tmp_path):
    path = _audio_only(tmp_path / "voice.mp4")
    with pytest.raises(InputFileError, match="voice.mp4: no video stream"):
        probe(path)


@pytest.mark.parametrize(("width", "height"), [(33, 17), (2, 2), (17, 301)])
def test_odd_and_tiny_frame_sizes_are_read_whole(tmp_path, width, height):
    path = make_video(tmp_path / "odd.mkv", frames=3, width=width, height=height, codec="ffv1", container="matroska")
    info = probe(path)
    frames = list(read_frames(path))
    assert (info.width, info.height) == (width, height) and len(frames) == 3
    assert frames[0].rgb.shape == (height, width, 3)
    assert info.output_size == (width // 2 * 2, height // 2 * 2)


def test_frames_larger_than_the_cap_are_refused_before_decoding(tmp_path, monkeypatch):
    path = make_video(tmp_path / "big.mp4", frames=2, width=64, height=48)
    monkeypatch.setattr("unseen.media.video.MAX_FRAME_PIXELS", 64 * 48 - 1)
    with pytest.raises(InputFileError, match="big.mp4: frames of 64x48 are more than"):
        probe(path)
    assert MAX_FRAME_PIXELS > 7680 * 4320  # 8K video is read


@pytest.mark.parametrize(("name", "data"), [
    ("empty.mp4", b""), ("notes.mov", b"not a video at all"),
    ("cut.mp4", None), ("noise.mkv", bytes(np.random.default_rng(5).integers(0, 256, 5000, dtype=np.uint8))),
])
def test_an_unreadable_video_is_refused_naming_it(tmp_path, name, data):
    if data is None:
        whole = make_video(tmp_path / "whole.mp4", frames=6).read_bytes()
        data = whole[: len(whole) // 3]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputFileError) as raised:
        probe(path)
        list(read_frames(path))
    assert str(raised.value).startswith(str(path)) and "\n" not in str(raised.value)


def test_variable_frame_rate_and_rotation_survive_the_reader(tmp_path):
    times = [0, 0.04, 0.3, 0.31, 1.0]
    path = make_video(tmp_path / "vfr.mp4", times=times, rotation=90, width=48, height=32)
    frames = list(read_frames(path))
    assert [round(f.time, 3) for f in frames] == times and frames[0].rgb.shape == (48, 32, 3)
    assert probe(path).time_base == Fraction(1, 90000)


# -- fuzzing seeds and regressions ------------------------------------------------------
REGRESSIONS = PROJECT / "tests" / "fuzz_regressions"


def _fuzz_targets():
    sys.path.insert(0, str(PROJECT / "fuzz"))
    try:
        import targets
    finally:
        sys.path.remove(str(PROJECT / "fuzz"))
    return targets


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about the damaged TIFF, then refuses it
@pytest.mark.parametrize("found", sorted(p.name for p in REGRESSIONS.iterdir()))
def test_every_input_that_once_failed_a_fuzzing_target_now_passes(found):
    target = _fuzz_targets().TARGETS[found.split("-")[0]]
    target((REGRESSIONS / found).read_bytes())


def test_the_fuzzing_seeds_pass_every_target(tmp_path):
    sys.path.insert(0, str(PROJECT / "fuzz"))
    try:
        import seeds
    finally:
        sys.path.remove(str(PROJECT / "fuzz"))
    seeds.write(tmp_path)
    targets = _fuzz_targets()
    for kind, target in targets.TARGETS.items():
        for seed in sorted((tmp_path / kind).iterdir()):
            target(seed.read_bytes())
