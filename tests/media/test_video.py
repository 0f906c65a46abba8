"""Videos: read upright with their own timestamps; written with nothing but the chosen streams."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from tests.media.video_files import TAGS, decoded_times, make_video, marker_frame
from unseen.errors import ConfigError, InputFileError
from unseen.media.video import (
    STRUCTURAL_TAGS, EncodeConfig, Orientation, VideoCodec, is_video_path, open_writer, orientation_from_matrix,
    probe, read_frames)

ONE = 65536


def copy_video(source, target, **options):
    info = probe(source)
    with open_writer(target, info=info, config=EncodeConfig(**options)) as writer:
        for frame in read_frames(source):
            writer.write(frame.rgb, frame.pts)
    return target


@pytest.mark.parametrize(("degrees", "turns"), [(90, 1), (180, 2), (270, 3), (-90, 3)])
def test_phone_rotation_is_applied_to_the_pixels(tmp_path, degrees, turns):
    upright = marker_frame(0, 160, 96)
    stored = np.ascontiguousarray(np.rot90(upright, -turns))  # what a phone held sideways records
    path = make_video(tmp_path / "phone.mp4", frames=3, width=stored.shape[1], height=stored.shape[0],
                      pixels=lambda i: stored, rotation=degrees)
    info = probe(path)
    assert (info.width, info.height) == (160, 96)
    assert info.orientation == Orientation(turns % 4, False)
    frame = next(read_frames(path))
    assert frame.rgb.shape == (96, 160, 3)
    assert frame.rgb[:20, :36].mean() > 240  # the white corner is top-left again
    assert frame.rgb[-20:, -36:].mean() < 120


@pytest.mark.parametrize(("matrix", "expected"), [
    (None, Orientation(0, False)),
    ([ONE, 0, 0, 0, ONE, 0, 0, 0, 1 << 30], Orientation(0, False)),
    ([0, -ONE, 0, ONE, 0, 0, 0, 0, 1 << 30], Orientation(1, False)),   # turned 90 counter-clockwise
    ([0, ONE, 0, -ONE, 0, 0, 0, 0, 1 << 30], Orientation(3, False)),
    ([-ONE, 0, 0, 0, -ONE, 0, 0, 0, 1 << 30], Orientation(2, False)),
    ([-ONE, 0, 0, 0, ONE, 0, 0, 0, 1 << 30], Orientation(2, True)),    # mirrored left to right
    ([ONE, 0, 0, 0, -ONE, 0, 0, 0, 1 << 30], Orientation(0, True)),    # upside-down mirror
])
def test_display_matrix_orientations(matrix, expected):
    assert orientation_from_matrix(None if matrix is None else np.asarray(matrix, np.int32)) == expected


def test_variable_frame_rate_keeps_every_timestamp(tmp_path):
    times = [0.0, 0.033, 0.05, 0.15, 0.166, 0.4, 0.41, 0.9]
    source = make_video(tmp_path / "vfr.mp4", times=times)
    copied = copy_video(source, tmp_path / "out.mp4")
    assert decoded_times(copied) == pytest.approx(times, abs=1e-4)
    assert [frame.time for frame in read_frames(copied)] == pytest.approx(times, abs=1e-4)


def test_audio_subtitles_chapters_and_location_tags_are_not_written(tmp_path):
    source = make_video(tmp_path / "phone.mp4", audio=True, subtitles=True, chapters=True, tags=True, rotation=90)
    original = probe(source)
    assert {"audio", "subtitle"} <= {s.kind for s in original.streams}
    assert original.chapters and dict(original.tags)["location"] == TAGS["location"]
    output = probe(copy_video(source, tmp_path / "out.mp4"))
    assert [s.kind for s in output.streams] == ["video"]
    assert {key for key, _ in output.tags} <= STRUCTURAL_TAGS
    assert dict(output.streams[0].tags) == {"language": "und", "handler_name": "VideoHandler"}
    assert output.chapters == ()
    assert output.orientation == Orientation()


def test_keep_audio_copies_the_audio_and_nothing_else(tmp_path):
    source = make_video(tmp_path / "phone.mp4", audio=True, subtitles=True, tags=True)
    output = probe(copy_video(source, tmp_path / "out.mp4", keep_audio=True))
    assert [s.kind for s in output.streams] == ["video", "audio"]
    assert dict(output.streams[1].tags) == {"language": "und", "handler_name": "SoundHandler"}
    assert {key for key, _ in output.tags} <= STRUCTURAL_TAGS


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed")
def test_exiftool_finds_no_identifying_tag_in_the_output(tmp_path):
    source = make_video(tmp_path / "phone.mp4", audio=True, subtitles=True, chapters=True, tags=True, rotation=90)
    output = copy_video(source, tmp_path / "out.mp4")

    def tags(path):
        listed = json.loads(subprocess.run(["exiftool", "-j", "-a", "-G1", str(path)], capture_output=True,
                                           text=True, check=True).stdout)[0]
        return {key.split(":")[-1]: value for key, value in listed.items()}

    before, after = tags(source), tags(output)
    assert {"Title", "Artist", "Comment", "GPSLatitude", "ChapterList"} <= set(before)
    for key in ("Title", "Artist", "Comment", "GPSLatitude", "GPSPosition", "LocationInformation", "ChapterList",
                "Encoder", "HandlerDescription"):
        assert after.get(key) in (None, "VideoHandler"), (key, after.get(key))
    assert after["CreateDate"] == "0000:00:00 00:00:00"
    assert "Core Media Video" not in json.dumps(after)
    assert after.get("Rotation", 0) == 0
    assert not any("x264" in str(value) for value in after.values())


@pytest.mark.parametrize(("codec", "suffix"), [(VideoCodec.H264, ".mp4"), (VideoCodec.VP9, ".webm")])
def test_codecs_write_their_container(tmp_path, codec, suffix):
    source = make_video(tmp_path / "in.mp4", frames=4)
    output = probe(copy_video(source, tmp_path / f"out{suffix}", codec=codec))
    assert output.codec == codec.value and len(output.streams) == 1


def test_matroska_input_is_read_and_written_as_mp4(tmp_path):
    source = make_video(tmp_path / "in.mkv", frames=3, container="matroska", audio=True, tags=True)
    assert probe(source).container.startswith("matroska")
    output = probe(copy_video(source, tmp_path / "out.mp4"))
    assert output.container.startswith("mov,mp4") and [s.kind for s in output.streams] == ["video"]


def test_bad_inputs_are_refused_with_the_file_named(tmp_path):
    (tmp_path / "notes.mp4").write_text("not a video")
    with pytest.raises(InputFileError, match="notes.mp4"):
        probe(tmp_path / "notes.mp4")
    with pytest.raises(InputFileError, match="missing.mp4"):
        probe(tmp_path / "missing.mp4")
    with pytest.raises(ConfigError, match="crf"):
        EncodeConfig(crf=70)
    assert is_video_path("a/CLIP.MOV") and not is_video_path("a/photo.jpg")


def test_inspect_lists_what_a_video_carries_and_nothing_in_the_redacted_copy(tmp_path):
    from unseen.media.metadata import MetadataKind, inspect_file

    source = make_video(tmp_path / "phone.mp4", audio=True, subtitles=True, chapters=True, tags=True, rotation=90)
    report = inspect_file(source)
    kinds = {item.kind for item in report.identifying}
    assert {MetadataKind.GPS, MetadataKind.AUDIO, MetadataKind.STREAM, MetadataKind.TEXT, MetadataKind.PERSON,
            MetadataKind.DATE, MetadataKind.DEVICE} <= kinds
    assert any(item.name == "display matrix" and not item.identifying for item in report.items)
    assert inspect_file(copy_video(source, tmp_path / "out.mp4")).clean


def test_keep_audio_on_a_silent_clip_writes_the_video_alone(tmp_path):
    source = make_video(tmp_path / "silent.mp4", frames=3)
    assert [s.kind for s in probe(copy_video(source, tmp_path / "out.mp4", keep_audio=True)).streams] == ["video"]


def test_audio_the_container_cannot_hold_is_re_encoded(tmp_path):
    source = make_video(tmp_path / "in.mkv", frames=4, audio=True, container="matroska")
    output = probe(copy_video(source, tmp_path / "out.webm", codec=VideoCodec.VP9, keep_audio=True))
    assert [(s.kind, s.codec) for s in output.streams] == [("video", "vp9"), ("audio", "opus")]
