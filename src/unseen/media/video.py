"""Reading and writing videos with FFmpeg's libraries (PyAV; no ffmpeg program needed).

Reading: only local files, only the demuxers of the formats unseen accepts (MP4/MOV/M4V,
Matroska/WebM, AVI), so a playlist or a file naming other files cannot make FFmpeg open
anything else. Frames come out upright: the display matrix (how a phone records "this
clip is portrait") is applied to the pixels, never kept as a tag. Each frame keeps its own
timestamp, so variable frame rate clips stay in sync.

Writing: a new container holding only the streams chosen (the redacted video; the audio
only when asked for), with no container or stream tags, no chapters, subtitle, data,
timecode or attachment streams, no cover art, zeroed dates (FFmpeg's bitexact mode), and
the encoder's own version note removed from the video bitstream (x264/x265 write one into
an SEI unit). The muxer's generic handler name ("VideoHandler") is all that names a
stream.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from unseen.choices import Choice
from unseen.errors import ConfigError, InputFileError

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi")
INPUT_FORMATS = ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi")
OPEN_OPTIONS = {"protocol_whitelist": "file", "format_whitelist": ",".join(INPUT_FORMATS)}
STRUCTURAL_TAGS = frozenset({"major_brand", "minor_version", "compatible_brands"})
"""Container tags that describe the file format itself (the same for every MP4)."""
MAX_FRAME_PIXELS = 70_000_000
"""Larger frames are refused (8K video is 33 million): a damaged or hostile header, whose
frames would not fit in memory."""
GENERIC_HANDLERS = frozenset({"VideoHandler", "SoundHandler", "SubtitleHandler", "DataHandler"})
"""Handler names FFmpeg writes when none is given: they name the stream type, nothing else."""


def is_video_path(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


class VideoCodec(Choice):
    """Codecs a redacted video can be written with."""

    H264 = "h264"
    HEVC = "hevc"
    VP9 = "vp9"

    @property
    def encoder(self) -> str:
        return {"h264": "libx264", "hevc": "libx265", "vp9": "libvpx-vp9"}[self.value]

    @property
    def container(self) -> str:
        return "webm" if self is VideoCodec.VP9 else "mp4"

    @property
    def suffix(self) -> str:
        return f".{self.container}"

    @property
    def default_crf(self) -> int:
        return {"h264": 18, "hevc": 20, "vp9": 24}[self.value]

    @property
    def max_crf(self) -> int:
        return 63 if self is VideoCodec.VP9 else 51

    @property
    def audio_encoder(self) -> str:
        """What audio is re-encoded to when the container cannot hold the original's codec."""
        return "libopus" if self is VideoCodec.VP9 else "aac"


@dataclass(frozen=True)
class EncodeConfig:
    """How a redacted video is written.

    codec: H.264 in MP4 (default), HEVC in MP4 or VP9 in WebM.
    crf: constant quality (lower is better; default the codec's `default_crf`, high enough
        that a solid cover's edge is not smeared into the face by compression).
    preset: the x264/x265 speed preset (VP9 uses its own fast real-time setting).
    keep_audio: copy the audio (re-encoded only when the new container cannot hold it);
        dropped by default, because voices identify people.
    """

    codec: VideoCodec = VideoCodec.H264
    crf: int | None = None
    preset: str = "faster"
    keep_audio: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "codec", VideoCodec.parse(self.codec, "codec"))
        if self.crf is not None and not 0 <= self.crf <= self.codec.max_crf:
            raise ConfigError(f"crf: expected 0..{self.codec.max_crf} for {self.codec.value}, got {self.crf}")

    @property
    def quality(self) -> int:
        return self.codec.default_crf if self.crf is None else self.crf


@dataclass(frozen=True)
class Orientation:
    """How stored pixels become upright: ``turns`` quarter turns counter-clockwise, then a
    vertical flip when ``flip`` (together, the eight orientations a display matrix can give)."""

    turns: int = 0
    flip: bool = False

    @property
    def degrees(self) -> int:
        return 90 * self.turns

    @property
    def swaps_sides(self) -> bool:
        return self.turns % 2 == 1

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        upright = np.rot90(rgb, self.turns) if self.turns else rgb
        return np.ascontiguousarray(upright[::-1] if self.flip else upright)


UPRIGHT = Orientation()


def orientation_from_matrix(matrix: np.ndarray | None) -> Orientation:
    """The orientation FFmpeg's own player applies for a display matrix (nine int32,
    16.16 fixed point), to the nearest quarter turn."""
    if matrix is None:
        return UPRIGHT
    m = np.asarray(matrix, dtype=np.float64)
    scale0, scale1 = math.hypot(m[0], m[3]), math.hypot(m[1], m[4])
    if scale0 == 0 or scale1 == 0:
        return UPRIGHT
    counter_clockwise = math.degrees(math.atan2(m[1] / scale1, m[0] / scale0))
    theta = round(counter_clockwise / 90) * 90 % 360  # clockwise degrees to turn for display
    if theta == 90:
        return Orientation(1, True) if m[3] > 0 else Orientation(3, False)
    if theta == 270:
        return Orientation(3, True) if m[3] < 0 else Orientation(1, False)
    if theta == 180:
        hflip, vflip = m[0] < 0, m[4] < 0
        return {(True, True): Orientation(2, False), (True, False): Orientation(2, True),
                (False, True): Orientation(0, True), (False, False): UPRIGHT}[(bool(hflip), bool(vflip))]
    return Orientation(0, True) if m[4] < 0 else UPRIGHT


@dataclass(frozen=True)
class StreamInfo:
    """One stream of a container: its kind, codec, tags, and whether it is cover art."""

    index: int
    kind: str
    codec: str
    tags: tuple[tuple[str, str], ...]
    cover_art: bool = False


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds, as read by `probe`.

    width / height: the upright picture (after the display matrix); coded_*: as stored.
    frames: the container's frame count, or an estimate from duration and rate (None when
        neither is known). time_base: of the video stream's timestamps.
    """

    path: Path
    container: str
    codec: str
    width: int
    height: int
    coded_width: int
    coded_height: int
    orientation: Orientation
    frames: int | None
    duration: float | None
    frame_rate: float | None
    time_base: Fraction
    streams: tuple[StreamInfo, ...]
    tags: tuple[tuple[str, str], ...]
    chapters: tuple[str, ...]

    @property
    def output_size(self) -> tuple[int, int]:
        """(width, height) written: the upright size cut to even numbers (4:2:0 video
        needs them; the last column or row goes)."""
        return self.width // 2 * 2, self.height // 2 * 2

    def streams_of(self, kind: str) -> tuple[StreamInfo, ...]:
        return tuple(stream for stream in self.streams if stream.kind == kind)


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded frame: its position, its timestamp (in the stream's time base and in
    seconds) and its upright RGB pixels."""

    index: int
    pts: int
    time: float
    rgb: np.ndarray


def _open_input(path: Path):
    import av

    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    try:
        return av.open(str(path), mode="r", options=dict(OPEN_OPTIONS), metadata_errors="replace")
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as error:
        raise InputFileError(f"{path}: not a video unseen can read (MP4, MOV, M4V, MKV, WebM, AVI): {error}") from None


def _main_video_stream(container, path: Path):
    for stream in container.streams.video:
        if not stream.disposition & _attached_pic():
            context = stream.codec_context
            if context is None:
                raise InputFileError(f"{path}: its video stream's codec cannot be decoded here (FFmpeg has no decoder "
                                     "for it, or the file is damaged)")
            _check_frame_size(path, context.width, context.height)
            return stream
    raise InputFileError(f"{path}: no video stream (only audio, subtitles or cover art)")


def _check_frame_size(path: Path, width: int, height: int) -> None:
    if width * height > MAX_FRAME_PIXELS:
        raise InputFileError(f"{path}: frames of {width}x{height} are more than {MAX_FRAME_PIXELS:,} pixels "
                             "(a damaged file, or more than any camera records); refused")


def _attached_pic() -> int:
    import av

    return int(av.stream.Disposition.attached_pic)


def _tags(metadata) -> tuple[tuple[str, str], ...]:
    return tuple((str(key), str(value)) for key, value in (metadata or {}).items())


def _display_matrix(frame) -> np.ndarray | None:
    for side in frame.side_data:
        if side.type.name == "DISPLAYMATRIX":
            return np.frombuffer(memoryview(side), dtype="<i4").copy()
    return None


def probe(path: str | Path) -> VideoInfo:
    """Read a video's layout: streams, tags, chapters, size, orientation (from its first
    frame's display matrix), frame count, rate and time base. Decodes one frame."""
    import av

    path = Path(path)
    with _open_input(path) as container:
        video = _main_video_stream(container, path)
        orientation = UPRIGHT
        try:
            for frame in container.decode(video):
                orientation = orientation_from_matrix(_display_matrix(frame))
                break
        except av.FFmpegError as error:
            raise InputFileError(f"{path}: the video stream cannot be decoded: {error}") from None
        context = video.codec_context
        width, height = context.width, context.height
        rate = video.average_rate or video.guessed_rate
        duration = float(video.duration * video.time_base) if video.duration else (
            container.duration / 1_000_000 if container.duration else None)
        frames = video.frames or (round(duration * float(rate)) if duration and rate else None)
        streams = tuple(
            StreamInfo(index=s.index, kind=s.type, codec=s.codec_context.name if s.codec_context else
                       str(getattr(s, "codec_name", "") or "unknown"),
                       tags=_tags(s.metadata), cover_art=bool(s.disposition & _attached_pic()))
            for s in container.streams)
        chapters = tuple(str(c.get("metadata", {}).get("title", "")) for c in container.chapters())
        return VideoInfo(
            path=path, container=container.format.name, codec=context.name,
            width=height if orientation.swaps_sides else width,
            height=width if orientation.swaps_sides else height,
            coded_width=width, coded_height=height, orientation=orientation, frames=frames or None,
            duration=duration, frame_rate=float(rate) if rate else None,
            time_base=Fraction(video.time_base) if video.time_base else Fraction(1, 90000),
            streams=streams, tags=_tags(container.metadata), chapters=chapters)


def read_frames(path: str | Path) -> Iterator[Frame]:
    """Every frame of the main video stream, upright, with its own timestamp.

    A frame without a timestamp (some AVI files) gets the previous one plus one frame
    interval; timestamps that do not increase are nudged forward by one tick.
    """
    import av

    path = Path(path)
    with _open_input(path) as container:
        video = _main_video_stream(container, path)
        video.thread_type = "AUTO"
        time_base = Fraction(video.time_base) if video.time_base else Fraction(1, 90000)
        rate = video.average_rate or video.guessed_rate or 30
        step = max(1, round(1 / (float(rate) * time_base)))
        previous: int | None = None
        try:
            for index, frame in enumerate(container.decode(video)):
                pts = frame.pts if frame.pts is not None else (0 if previous is None else previous + step)
                if previous is not None and pts <= previous:
                    pts = previous + 1
                previous = pts
                _check_frame_size(path, frame.width, frame.height)
                rgb = orientation_from_matrix(_display_matrix(frame)).apply(frame.to_ndarray(format="rgb24"))
                yield Frame(index=index, pts=int(pts), time=float(pts * time_base), rgb=rgb)
        except av.FFmpegError as error:
            raise InputFileError(f"{path}: decoding failed: {error}") from None


class VideoWriter:
    """Encodes upright RGB frames into a new file at ``path`` (see the module doc for what
    it leaves out). Use through `open_writer`, which closes it."""

    def __init__(self, path: Path, *, info: VideoInfo, config: EncodeConfig) -> None:
        import av

        self.config = config
        self.size = info.output_size
        self._output = av.open(str(path), mode="w", format=config.codec.container,
                               options={"fflags": "+bitexact"})
        rate = Fraction(info.frame_rate).limit_denominator(1001 * 1000) if info.frame_rate else Fraction(30)
        options = {"crf": str(config.quality)}
        if config.codec is VideoCodec.VP9:
            options.update({"b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"})
        else:
            options["preset"] = config.preset
        if config.codec is VideoCodec.HEVC:
            options["x265-params"] = "log-level=error:info=0"
        self._video = self._output.add_stream(config.codec.encoder, rate=rate, options=options)
        self._video.width, self._video.height = self.size
        self._video.pix_fmt = "yuv420p"
        self._video.time_base = info.time_base
        self._video.codec_context.time_base = info.time_base
        if config.codec is VideoCodec.HEVC:
            self._video.codec_tag = "hvc1"
        self._time_base = info.time_base
        self._filter = self._version_note_filter()
        self._audio = _AudioCopy(info.path, self._output, config) if config.keep_audio else None
        self._last_pts: int | None = None

    def _version_note_filter(self):
        import av

        sei = {VideoCodec.H264: "6", VideoCodec.HEVC: "39|40"}.get(self.config.codec)
        return av.BitStreamFilterContext(f"filter_units=remove_types={sei}", self._video) if sei else None

    def write(self, rgb: np.ndarray, pts: int) -> None:
        """Encode one upright frame (cut to the even output size) at timestamp ``pts``."""
        import av

        width, height = self.size
        if rgb.shape[0] < height or rgb.shape[1] < width:
            raise ConfigError(f"rgb: expected at least {width}x{height}, got {rgb.shape[1]}x{rgb.shape[0]}")
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1
        self._last_pts = pts
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[:height, :width]), format="rgb24")
        frame.pts = pts
        frame.time_base = self._time_base
        if self._audio is not None:
            self._audio.mux_until(float(pts * self._time_base))
        self._mux(self._video.encode(frame))

    def _mux(self, packets) -> None:
        for packet in packets:
            for filtered in (self._filter.filter(packet) if self._filter else [packet]):
                self._output.mux(filtered)

    def close(self) -> None:
        self._mux(self._video.encode(None))
        if self._filter is not None:
            for packet in self._filter.filter(None):
                self._output.mux(packet)
        if self._audio is not None:
            self._audio.finish()
        self._output.close()

    def abandon(self) -> None:
        """Close without finishing (the caller deletes the file)."""
        if self._audio is not None:
            self._audio.source.close()
        self._output.close()


class _AudioCopy:
    """The source's first audio stream, copied packet by packet into the new container
    (re-encoded when the container cannot hold its codec), interleaved with the video."""

    def __init__(self, source_path: Path, output, config: EncodeConfig) -> None:
        self.source = _open_input(source_path)
        self._output = output
        self._stream = self._packets = self._pending = None
        self._copy = True
        audio = list(self.source.streams.audio)
        if not audio:
            return
        self._copy = audio[0].codec_context.name in output.supported_codecs
        if self._copy:
            self._stream = output.add_stream_from_template(audio[0])
        else:
            self._stream = output.add_stream(config.codec.audio_encoder, rate=48000)
        self._packets = self.source.demux(audio[0])

    def mux_until(self, seconds: float) -> None:
        if self._packets is None:
            return
        while True:
            packet = self._pending or next(self._packets, None)
            self._pending = None
            if packet is None:
                self._packets = None
                return
            if packet.pts is not None and packet.time_base is not None and float(packet.pts * packet.time_base) > seconds:
                self._pending = packet
                return
            self._put(packet)

    def _put(self, packet) -> None:
        if packet.size == 0 and packet.pts is None:
            return
        if self._copy:
            packet.stream = self._stream
            self._output.mux(packet)
            return
        for frame in packet.decode():
            frame.pts = None
            for encoded in self._stream.encode(frame):
                self._output.mux(encoded)

    def finish(self) -> None:
        self.mux_until(math.inf)
        if self._stream is not None and not self._copy:
            for encoded in self._stream.encode(None):
                self._output.mux(encoded)
        self.source.close()


@contextmanager
def open_writer(path: str | Path, *, info: VideoInfo, config: EncodeConfig) -> Iterator[VideoWriter]:
    """A `VideoWriter` on ``path``, finished when the block ends and abandoned on error."""
    writer = VideoWriter(Path(path), info=info, config=config)
    try:
        yield writer
    except BaseException:
        writer.abandon()
        raise
    writer.close()
