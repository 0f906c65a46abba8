"""Which identifying metadata survives `unseen redact`: a field x format matrix, judged by exiftool.

    python benchmarks/metadata_matrix.py [--out DIR]

Makes, in DIR, a photo or clip of each format unseen reads, each carrying every identifying
field that format can hold (EXIF GPS, a thumbnail, a maker note, serial numbers, owner
names, dates, device names, XMP, IPTC, PNG text and eXIf chunks, a device colour profile,
HEIC metadata, further images; for MP4/MOV: location, creation time, device, author,
handler names, a GoPro-style GPS data track, subtitles, chapters, audio), with an XMP
sidecar, a Google Takeout JSON and a THM thumbnail beside them. It redacts the folder with
unseen's defaults (verification off: it looks at faces, not metadata), then asks exiftool
(Debian's libimage-exiftool-perl; ``-a -G1 -ee``) what each original and each redacted copy
holds. A cell reads ``removed`` (in the original, not in the copy), ``LEFT`` (in the copy),
or ``-`` (the format cannot hold it, or this test file does not). The last row counts the
images each file holds (main picture, thumbnails, previews, MPO and HEIC extra images,
cover art).
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import typer
from PIL import Image

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from tests.media import camera_files  # noqa: E402
from tests.media.video_files import TAGS, _write_tone as write_tone  # noqa: E402
from unseen.examples import astronaut_photo  # noqa: E402
from unseen.media.image import load, register_heif  # noqa: E402
from unseen.redact.batch import redact_files  # noqa: E402
from unseen.redact.photo import RedactConfig  # noqa: E402

GPS_TRACK_HANDLER = "GoPro MET"
VIDEO_AUTHOR = "Jane Photographer (video)"
DEVICE_MODEL = "iPhone 15 Pro"
SUBTITLE_TEXT = "Jane Doe, 12 Rue X"
SIDECARS = {"IMG_0001.xmp": camera_files.xmp_packet(),
            "IMG_0001.jpg.json": b'{"geoData": {"latitude": 52.52, "longitude": 13.40}, "people": [{"name": "Jane"}]}',
            "CLIP_0001.THM": b"\xff\xd8\xff\xe0 a camera's thumbnail of the clip"}

Tags = dict[str, object]


@dataclass(frozen=True)
class Field:
    """One kind of metadata and how to see it in exiftool's ``Group:Tag`` listing."""

    name: str
    present: Callable[[Tags], bool]


def _tag(tags: Tags, *names: str) -> bool:
    return any(key.split(":")[-1] in names for key in tags)


def _tag_containing(tags: Tags, *parts: str) -> bool:
    return any(part in key.split(":")[-1] for key in tags for part in parts)


def _group(tags: Tags, *prefixes: str) -> bool:
    return any(key.split(":")[0].startswith(prefixes) for key in tags)


def _value(tags: Tags, *texts: str) -> bool:
    return any(text in str(value) for value in tags.values() for text in texts)


def _dated(tags: Tags) -> bool:
    dates = ("DateTimeOriginal", "CreateDate", "ModifyDate", "CreationTime", "MediaCreateDate", "TrackCreateDate",
             "DateCreated", "DateTime")
    return any(key.split(":")[-1] in dates and "2024" in str(value) for key, value in tags.items())


TIFF_STRUCTURE = frozenset({
    "ImageWidth", "ImageHeight", "BitsPerSample", "Compression", "PhotometricInterpretation", "StripOffsets",
    "SamplesPerPixel", "RowsPerStrip", "StripByteCounts", "PlanarConfiguration", "ExtraSamples", "SampleFormat",
    "Predictor", "XResolution", "YResolution", "ResolutionUnit", "TileWidth", "TileLength", "TileOffsets",
    "TileByteCounts"})
"""Tags a TIFF needs to be a picture at all (exiftool lists them under IFD0): not metadata."""
EXIF_GROUPS = ("IFD0", "ExifIFD", "IFD1", "GPS", "InteropIFD", "MakerNotes", "SubIFD")


def _exif(tags: Tags) -> bool:
    return any(key.split(":")[0].startswith(EXIF_GROUPS) and key.split(":")[-1] not in TIFF_STRUCTURE
               for key in tags)


FIELDS = (
    Field("EXIF (any)", _exif),
    Field("GPS position / location", lambda t: _tag_containing(t, "GPS", "Location", "ISO6709")),
    Field("thumbnail / preview image", lambda t: _tag_containing(t, "Thumbnail", "PreviewImage", "OtherImage")),
    Field("maker note", lambda t: _tag_containing(t, "MakerNote")),
    Field("serial numbers", lambda t: _tag_containing(t, "SerialNumber") or _value(t, camera_files.SERIAL)),
    Field("owner / author names", lambda t: _value(t, camera_files.OWNER, VIDEO_AUTHOR)),
    Field("capture dates", _dated),
    Field("device make and model", lambda t: _value(t, "CameraMaker", "Model X100", DEVICE_MODEL)),
    Field("XMP", lambda t: _group(t, "XMP")),
    Field("IPTC / Photoshop", lambda t: _group(t, "IPTC", "Photoshop")),
    Field("comments and PNG text", lambda t: _value(t, camera_files.COMMENT)),
    Field("colour profile naming a device", lambda t: _value(t, camera_files.DEVICE_PROFILE_NAME)),
    Field("MPO / extra images", lambda t: _group(t, "MPF") or _tag_containing(t, "MPImage")),
    Field("handler names", lambda t: _value(t, "Core Media Video", GPS_TRACK_HANDLER)),
    Field("GPS data track", lambda t: _value(t, GPS_TRACK_HANDLER) or _group(t, "Doc", "GoPro")),
    Field("subtitle track", lambda t: _tag(t, "HandlerType") and _value(t, "Subtitle", "Text")),
    Field("chapters", lambda t: _tag_containing(t, "Chapter")),
    Field("audio track", lambda t: _value(t, "Audio Track") or _tag(t, "AudioFormat", "AudioChannels")),
)


# -- the files --------------------------------------------------------------------------
def _face_pixels() -> np.ndarray:
    """A small photo with a face (what is measured here is metadata, not covering)."""
    return np.ascontiguousarray(load(astronaut_photo()).rgb[::4, ::4])


def _mpo(rgb: np.ndarray) -> bytes:
    """A stereo pair as 3-D cameras and some phones write it, the first frame carrying the
    camera's EXIF (with its thumbnail) before the MPF index (whose offsets are relative to it)."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "MPO", save_all=True, append_images=[Image.fromarray(rgb[:, ::-1])])
    pair = buffer.getvalue()
    exif = camera_files.exif_block(thumbnail=camera_files.thumbnail_jpeg(rgb))
    return pair[:2] + b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif + pair[2:]


def _tiff(rgb: np.ndarray) -> bytes:
    """EXIF (GPS, maker note, serials), XMP and IPTC tags and a device profile, as an editor writes them."""
    tags = Image.Exif()
    tags.load(camera_files.exif_block())
    tags[700] = camera_files.xmp_packet()
    iptc = camera_files.iptc_resource()
    tags[33723] = iptc[iptc.index(b"\x1c\x02"):]  # the IPTC records without Photoshop's wrapper
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "TIFF", exif=tags, icc_profile=camera_files.device_profile())
    return buffer.getvalue()


def _heic(rgb: np.ndarray) -> bytes:
    """EXIF, XMP and a device profile on the main picture, and a second (burst) picture."""
    register_heif()
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "HEIF", save_all=True, append_images=[Image.fromarray(rgb[:, ::-1])],
                              exif=camera_files.exif_block(), xmp=camera_files.xmp_packet(),
                              icc_profile=camera_files.device_profile())
    return buffer.getvalue()


def _gpmf_payload(latitude: float = 48.8566, longitude: float = 2.3522) -> bytes:
    """One GoPro metadata sample (GPMF) holding a GPS fix, as a GPS data track carries it."""
    def klv(key: bytes, kind: int, size: int, repeat: int, data: bytes) -> bytes:
        return key + bytes([kind, size]) + struct.pack(">H", repeat) + data + b"\x00" * (-len(data) % 4)

    scale = klv(b"SCAL", ord("l"), 4, 5, struct.pack(">5l", 10_000_000, 10_000_000, 1000, 1000, 100))
    fix = klv(b"GPS5", ord("l"), 20, 1, struct.pack(">5l", int(latitude * 1e7), int(longitude * 1e7), 35_000, 0, 0))
    stream = b"STRM" + bytes([0, 1]) + struct.pack(">H", len(scale + fix)) + scale + fix
    return b"DEVC" + bytes([0, 1]) + struct.pack(">H", len(stream)) + stream


def _clip(path: Path, rgb: np.ndarray, container: str) -> Path:
    """A phone clip: title, location, creation time, device, author and handler tags, audio,
    subtitles with a name and address, chapters; the MP4 also a GoPro-style GPS data track."""
    import av

    frame_rgb = np.ascontiguousarray(rgb[::2, ::2][:48, :64])
    time_base = Fraction(1, 90000)
    with av.open(str(path), "w", format=container, options={"movflags": "use_metadata_tags"}) as out:
        out.metadata.update({**TAGS, "com.apple.quicktime.make": "Apple", "com.apple.quicktime.model": DEVICE_MODEL,
                             "com.apple.quicktime.author": VIDEO_AUTHOR,
                             "com.apple.quicktime.location.ISO6709": "+48.8566+002.3522+035.000/"})
        video = out.add_stream("libx264", rate=30, options={"crf": "20", "preset": "ultrafast"})
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        video.time_base = video.codec_context.time_base = time_base
        video.metadata["handler_name"] = "Core Media Video"
        sound = out.add_stream("aac", rate=48000)
        text = out.add_mux_stream("mov_text")
        text.time_base = Fraction(1, 1000)
        track = None
        if container == "mp4":
            track = out.add_data_stream("bin_data")
            track.codec_tag = "gpmd"
            track.metadata["handler_name"] = GPS_TRACK_HANDLER
        out.set_chapters([{"id": 1, "start": 0, "end": 100, "time_base": Fraction(1, 1000),
                           "metadata": {"title": "Arrival at the square"}}])
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(frame_rgb, format="rgb24")
            frame.pts, frame.time_base = round(i / 30 / time_base), time_base
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        write_tone(out, sound, seconds=0.15)
        words = SUBTITLE_TEXT.encode()
        for stream, payload in ((text, len(words).to_bytes(2, "big") + words), (track, _gpmf_payload())):
            if stream is None:
                continue
            packet = av.Packet(payload)
            packet.stream, packet.pts, packet.dts, packet.duration = stream, 0, 0, 100
            packet.time_base = Fraction(1, 1000)
            out.mux(packet)
    return path


def make_inputs(folder: Path) -> dict[str, Path]:
    """Every test file (format name -> path) and the sidecars, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rgb = _face_pixels()
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    photos = {"JPEG": ("IMG_0001.jpg", camera_files.camera_jpeg(rgb)),
              "PNG": ("IMG_0002.png", camera_files.camera_png(rgba)),
              "WebP": ("IMG_0003.webp", camera_files.camera_file(rgb, "WEBP")),
              "TIFF": ("IMG_0004.tif", _tiff(rgb)),
              "HEIC": ("IMG_0005.heic", _heic(rgb)),
              "MPO": ("IMG_0006.jpg", _mpo(rgb))}
    files = {}
    for name, (file_name, data) in photos.items():
        files[name] = folder / file_name
        files[name].write_bytes(data)
    files["MP4"] = _clip(folder / "CLIP_0001.mp4", rgb, "mp4")
    files["MOV"] = _clip(folder / "CLIP_0002.mov", rgb, "mov")
    for name, data in SIDECARS.items():
        (folder / name).write_bytes(data)
    return files


# -- reading them -----------------------------------------------------------------------
def exiftool_tags(paths: list[Path]) -> dict[Path, Tags]:
    """exiftool's view of each file (one run for all): every tag, duplicates and embedded
    documents included, as ``Group:Tag`` -> value, without its own and composite entries."""
    ran = subprocess.run(["exiftool", "-j", "-a", "-G1", "-ee", *map(str, paths)], capture_output=True, text=True,
                         check=True)
    listed = {Path(entry["SourceFile"]): entry for entry in json.loads(ran.stdout)}
    return {path: {key: value for key, value in listed[path].items()
                   if key != "SourceFile" and key.split(":")[0] not in ("System", "ExifTool", "Composite")}
            for path in paths}


def image_count(path: Path, tags: Tags) -> int:
    """Pictures a file holds: JPEG streams (thumbnails, previews, MPO frames), HEIC images
    and their thumbnails, frames and EXIF thumbnails of other images, cover art of videos."""
    suffix = path.suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        return path.read_bytes().count(b"\xff\xd8\xff")
    if suffix == ".heic":
        from pillow_heif import open_heif

        heif = open_heif(path)
        return len(heif) + sum(len(image.info.get("thumbnails", [])) for image in heif)
    if suffix in (".mp4", ".mov"):
        from unseen.media.video import probe

        return 1 + sum(stream.cover_art for stream in probe(path).streams)
    with Image.open(path) as opened:
        return getattr(opened, "n_frames", 1) + int(_tag_containing(tags, "ThumbnailImage", "ThumbnailOffset"))


@dataclass(frozen=True)
class Matrix:
    """``cells[field][format]``: ``removed``, ``LEFT`` or ``-``; ``images[format]``: (before, after);
    ``left_in_output``: files in the output folder other than redacted copies and the record."""

    formats: tuple[str, ...]
    cells: dict[str, dict[str, str]]
    images: dict[str, tuple[int, int]]
    left_in_output: tuple[str, ...]
    skipped: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return (all(cell != "LEFT" for row in self.cells.values() for cell in row.values())
                and all(after == 1 for _, after in self.images.values()) and not self.left_in_output)

    def table(self) -> str:
        lines = ["| field | " + " | ".join(self.formats) + " |", "|---|" + "---|" * len(self.formats)]
        for field in FIELDS:
            lines.append(f"| {field.name} | " + " | ".join(self.cells[field.name][f] for f in self.formats) + " |")
        lines.append("| images in the file | " + " | ".join(f"{self.images[f][0]} -> {self.images[f][1]}"
                                                           for f in self.formats) + " |")
        return "\n".join(lines)


def measure(folder: Path) -> Matrix:
    """Make the inputs under ``folder/in``, redact them into ``folder/out``, compare."""
    files = make_inputs(folder / "in")
    summary = redact_files([folder / "in"], out_dir=folder / "out", config=RedactConfig(verify=False), workers=1)
    outputs = {result.job.source: result.job.output for result in summary.results}
    failed = [f"{r.job.source.name}: {r.message}" for r in summary.results if r.job.output.is_file() is False]
    if failed:
        raise RuntimeError(f"redaction failed: {failed}")
    cells: dict[str, dict[str, str]] = {field.name: {} for field in FIELDS}
    images = {}
    tags = exiftool_tags([*files.values(), *(outputs[source] for source in files.values())])
    for name, source in files.items():
        before, after = tags[source], tags[outputs[source]]
        for field in FIELDS:
            cells[field.name][name] = ("LEFT" if field.present(after) else
                                       "removed" if field.present(before) else "-")
        images[name] = (image_count(source, before), image_count(outputs[source], after))
    produced = {path for path in outputs.values()} | {summary.record}
    left = tuple(sorted(str(p.relative_to(folder / "out")) for p in (folder / "out").rglob("*")
                        if p.is_file() and p not in produced))
    return Matrix(formats=tuple(files), cells=cells, images=images, left_in_output=left,
                  skipped=tuple(f"{s.path.name}: {s.reason}" for s in summary.skipped))


def main(out: Path = typer.Option(None, "--out", help="Folder for the test files and their redacted copies "
                                                      "(default: a temporary folder, removed after).")) -> None:
    if shutil.which("exiftool") is None:
        raise typer.Exit("exiftool is not installed (Debian: apt-get install libimage-exiftool-perl)")
    folder = out or Path(tempfile.mkdtemp(prefix="unseen-metadata-"))
    try:
        matrix = measure(folder)
        print(matrix.table())
        print()
        for line in matrix.skipped:
            print(f"beside the photos, skipped: {line}")
        print("files in the output besides the redacted copies and the record: "
              + (", ".join(matrix.left_in_output) or "none"))
        print("every field removed, one image per file" if matrix.clean else "SOMETHING WAS LEFT (see LEFT above)")
    finally:
        if out is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    typer.run(main)
