"""What a video file carries besides its pictures: container and stream tags, audio (voices),
subtitles, data and timecode tracks (GPS logs live there), attachments, cover art, chapters,
and the display matrix. Read with FFmpeg's demuxers (`unseen.media.video.probe`).

A video is clean when nothing but the format's own structure is left: the brand tags every
MP4 has, ``language=und`` and the muxer's generic handler names.
"""

from __future__ import annotations

from pathlib import Path

from unseen.media.metadata import MetadataItem, MetadataKind, MetadataReport, _preview
from unseen.media.video import GENERIC_HANDLERS, STRUCTURAL_TAGS, VideoInfo, probe

_GPS_WORDS = ("location", "iso6709", "gps", "xyz")
_DATE_WORDS = ("date", "creation_time", "time")
_DEVICE_WORDS = ("make", "model", "software", "encoder", "handler_name", "vendor", "device", "camera", "lens")
_PERSON_WORDS = ("artist", "author", "copyright", "composer", "performer", "album_artist", "publisher", "owner")


def _tag_kind(key: str) -> MetadataKind:
    lowered = key.lower()
    for words, kind in ((_GPS_WORDS, MetadataKind.GPS), (_PERSON_WORDS, MetadataKind.PERSON),
                        (_DEVICE_WORDS, MetadataKind.DEVICE), (_DATE_WORDS, MetadataKind.DATE)):
        if any(word in lowered for word in words):
            return kind
    return MetadataKind.TEXT


def _harmless(key: str, value: str) -> bool:
    return (key in STRUCTURAL_TAGS or (key == "language" and value == "und")
            or (key == "handler_name" and value in GENERIC_HANDLERS) or (key == "vendor_id" and not value.strip("[0]")))


def video_items(info: VideoInfo) -> list[MetadataItem]:
    """Every item of ``info`` that is not the format's own structure."""
    items = [MetadataItem(_tag_kind(key), f"container:{key}", _preview(value), True)
             for key, value in info.tags if not _harmless(key, value)]
    for stream in info.streams:
        where = f"stream {stream.index} ({stream.kind}, {stream.codec})"
        if stream.cover_art:
            items.append(MetadataItem(MetadataKind.EXTRA_IMAGE, where, "cover art", True))
        elif stream.kind == "audio":
            items.append(MetadataItem(MetadataKind.AUDIO, where, "sound (voices identify people)", True))
        elif stream.kind != "video":
            items.append(MetadataItem(MetadataKind.STREAM, where, f"{stream.kind} track", True))
        items += [MetadataItem(_tag_kind(key), f"{where}:{key}", _preview(value), True)
                  for key, value in stream.tags if not _harmless(key, value)]
    items += [MetadataItem(MetadataKind.TEXT, f"chapter {i + 1}", _preview(title or "(untitled)"), True)
              for i, title in enumerate(info.chapters)]
    if info.orientation.degrees or info.orientation.flip:
        turn = f"turned {info.orientation.degrees} degrees" + (", mirrored" if info.orientation.flip else "")
        items.append(MetadataItem(MetadataKind.OTHER, "display matrix", turn, False))
    return items


def inspect_video(path: str | Path) -> MetadataReport:
    info = probe(path)
    return MetadataReport(path=Path(path), format=info.container.split(",")[0].upper(), items=tuple(video_items(info)))
