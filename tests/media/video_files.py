"""Small videos made in the test with PyAV: phone-like rotation, variable frame rate, audio,
subtitles, chapters, location and title tags, cover art."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

TAGS = {"title": "Rally, 3 March", "location": "+48.8566+002.3522/", "artist": "A. Person",
        "comment": "filmed on my phone", "creation_time": "2024-03-03T10:00:00Z"}
TIME_BASE = Fraction(1, 90000)


def marker_frame(index: int, width: int, height: int) -> np.ndarray:
    """A grey frame with a white square at its top-left corner and a bar that moves."""
    rgb = np.full((height, width, 3), 90, np.uint8)
    rgb[: height // 4, : width // 4] = 255
    x = (index * 4) % max(width - 8, 1)
    rgb[height // 2:, x:x + 8, 1] = 220
    return rgb


def make_video(path: Path, *, frames: int = 10, width: int = 160, height: int = 96,
               pixels: Callable[[int], np.ndarray] | None = None, times: Sequence[float] | None = None,
               rotation: int | None = None, audio: bool = False, subtitles: bool = False, chapters: bool = False,
               tags: bool = False, codec: str = "libx264", container: str = "mp4") -> Path:
    """Write a clip. ``pixels(i)`` gives frame i as stored (default `marker_frame`);
    ``times`` the seconds of each frame (default 30 fps); ``rotation`` a display matrix
    turning the stored pixels counter-clockwise by that many degrees for display."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    times = list(times) if times is not None else [i / 30 for i in range(frames)]
    pixels = pixels or (lambda i: marker_frame(i, width, height))
    with av.open(str(path), "w", format=container) as out:
        if tags:
            out.metadata.update(TAGS)
        video = out.add_stream(codec, rate=30, options={"crf": "20", "preset": "ultrafast"} if codec == "libx264" else {})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.time_base = TIME_BASE
        video.codec_context.time_base = TIME_BASE
        if rotation is not None:
            video.set_display_rotation(rotation)
        if tags:
            video.metadata["handler_name"] = "Core Media Video"
        sound = out.add_stream("aac", rate=48000) if audio else None
        text = out.add_mux_stream("mov_text" if container == "mp4" else "subrip") if subtitles else None
        if text is not None:
            text.time_base = Fraction(1, 1000)
        if chapters:
            out.set_chapters([{"id": 1, "start": 0, "end": 300, "time_base": Fraction(1, 1000),
                               "metadata": {"title": "Arrival at the square"}}])
        for i, seconds in enumerate(times):
            frame = av.VideoFrame.from_ndarray(pixels(i), format="rgb24")
            frame.pts = round(seconds / TIME_BASE)
            frame.time_base = TIME_BASE
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        if sound is not None:
            _write_tone(out, sound, seconds=times[-1] + 0.1)
        if text is not None:
            words = b"Jane Doe, 12 Rue X"
            payload = len(words).to_bytes(2, "big") + words if container == "mp4" else words
            packet = av.Packet(payload)
            packet.stream, packet.pts, packet.dts, packet.duration = text, 0, 0, 300
            packet.time_base = Fraction(1, 1000)
            out.mux(packet)
    return path


def _write_tone(out, stream, *, seconds: float) -> None:
    import av

    samples = int(48000 * seconds)
    tone = (0.2 * np.sin(2 * np.pi * 220 * np.arange(samples) / 48000)).astype(np.float32)
    for start in range(0, samples, 1024):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[None, start:start + 1024]), format="fltp",
                                           layout="mono")
        frame.sample_rate, frame.pts = 48000, start
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)


def decoded_times(path: Path) -> list[float]:
    import av

    with av.open(str(path)) as container:
        return [float(frame.pts * frame.time_base) for frame in container.decode(video=0)]
