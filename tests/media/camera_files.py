"""Camera-style image files built inside the tests: EXIF with GPS, a thumbnail, a maker note
and serial numbers; XMP; IPTC; a comment; a device colour profile; PNG text and eXIf chunks.

The EXIF block is written by hand (as a camera writes it) so that every part a camera
includes, the IFD1 thumbnail above all, is really there to be stripped.
"""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image, ImageCms
from PIL.PngImagePlugin import PngInfo

SERIAL = "SN-4711-0815"
OWNER = "Jane Photographer"
MAKER_NOTE = b"MAKERNOTE:secret-internal-serial-77aa"
XMP_CREATOR = "Jane Photographer (xmp)"
IPTC_CITY = "Protestville"
COMMENT = "taken at the march by Jane"
GPS_LATITUDE = ((52, 1), (31, 1), (1234, 100))
DEVICE_PROFILE_NAME = "Phone SN-4711"  # as long as "sRGB built-in", so it fits in place

_ASCII, _SHORT, _LONG, _RATIONAL, _UNDEFINED = 2, 3, 4, 5, 7
_SIZES = {_ASCII: 1, _SHORT: 2, _LONG: 4, _RATIONAL: 8, _UNDEFINED: 1}


def _entry(tag: int, kind: int, value) -> tuple[int, int, int, bytes]:
    if kind == _ASCII:
        data = value.encode() + b"\x00"
    elif kind == _UNDEFINED:
        data = value
    elif kind == _SHORT:
        data = b"".join(struct.pack("<H", v) for v in value)
    elif kind == _LONG:
        data = b"".join(struct.pack("<I", v) for v in value)
    else:
        data = b"".join(struct.pack("<II", n, d) for n, d in value)
    return tag, kind, len(data) // _SIZES[kind], data


def _ifd(entries, start: int, next_ifd: int = 0) -> bytes:
    """One IFD placed at offset ``start`` of the TIFF block, its large values right after it."""
    entries = sorted(entries)
    data_offset = start + 2 + 12 * len(entries) + 4
    table, extra = b"", b""
    for tag, kind, count, data in entries:
        if len(data) <= 4:
            table += struct.pack("<HHI", tag, kind, count) + data.ljust(4, b"\x00")
        else:
            table += struct.pack("<HHII", tag, kind, count, data_offset + len(extra))
            extra += data + (b"\x00" if len(data) % 2 else b"")
    return struct.pack("<H", len(entries)) + table + struct.pack("<I", next_ifd) + extra


def _ifd_size(entries) -> int:
    return len(_ifd(entries, 0))


def exif_block(*, orientation: int = 1, thumbnail: bytes | None = None) -> bytes:
    """A camera's EXIF APP1 payload (``Exif\\0\\0`` + little-endian TIFF)."""
    ifd0 = [_entry(271, _ASCII, "CameraMaker"), _entry(272, _ASCII, "Model X100"),
            _entry(306, _ASCII, "2024:03:15 14:30:12"), _entry(274, _SHORT, [orientation]),
            _entry(315, _ASCII, OWNER), _entry(34665, _LONG, [0]), _entry(34853, _LONG, [0])]
    exif = [_entry(36867, _ASCII, "2024:03:15 14:30:12"), _entry(37500, _UNDEFINED, MAKER_NOTE),
            _entry(42033, _ASCII, SERIAL), _entry(42032, _ASCII, OWNER), _entry(42037, _ASCII, "LENS-99887")]
    gps = [_entry(1, _ASCII, "N"), _entry(2, _RATIONAL, GPS_LATITUDE), _entry(3, _ASCII, "E"),
           _entry(4, _RATIONAL, ((13, 1), (24, 1), (5678, 100)))]
    ifd1 = [_entry(259, _SHORT, [6]), _entry(513, _LONG, [0]), _entry(514, _LONG, [len(thumbnail or b"")])]
    exif_at = 8 + _ifd_size(ifd0)
    gps_at = exif_at + _ifd_size(exif)
    ifd1_at = gps_at + _ifd_size(gps)
    thumb_at = ifd1_at + _ifd_size(ifd1)
    ifd0[-2] = _entry(34665, _LONG, [exif_at])
    ifd0[-1] = _entry(34853, _LONG, [gps_at])
    ifd1[1] = _entry(513, _LONG, [thumb_at])
    tiff = (b"II*\x00" + struct.pack("<I", 8)
            + _ifd(ifd0, 8, next_ifd=ifd1_at if thumbnail else 0)
            + _ifd(exif, exif_at) + _ifd(gps, gps_at))
    if thumbnail:
        tiff += _ifd(ifd1, ifd1_at) + thumbnail
    return b"Exif\x00\x00" + tiff


def xmp_packet() -> bytes:
    return (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
            b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
            b'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
            b'xmlns:aux="http://ns.adobe.com/exif/1.0/aux/" exif:GPSLatitude="52,31.2N" '
            b'aux:SerialNumber="' + SERIAL.encode() + b'"><dc:creator>' + XMP_CREATOR.encode()
            + b'</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>')


def iptc_resource() -> bytes:
    """Photoshop APP13 payload holding IPTC records (By-line and City)."""
    def record(dataset: int, text: str) -> bytes:
        value = text.encode()
        return bytes([0x1C, 2, dataset]) + struct.pack(">H", len(value)) + value

    iptc = record(80, OWNER) + record(90, IPTC_CITY)
    padded = iptc + (b"\x00" if len(iptc) % 2 else b"")
    return b"Photoshop 3.0\x00" + b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iptc)) + padded


def device_profile() -> bytes:
    """An sRGB profile renamed after a device, as some phones name theirs."""
    data = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for encoding in ("utf-16-be", "ascii"):
        data = data.replace("sRGB built-in".encode(encoding), DEVICE_PROFILE_NAME.encode(encoding))
    return data


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _icc_segment(profile: bytes) -> bytes:
    return _segment(0xE2, b"ICC_PROFILE\x00\x01\x01" + profile)


def thumbnail_jpeg(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).resize((160, 120)).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def camera_jpeg(rgb: np.ndarray, *, orientation: int = 1) -> bytes:
    """A JPEG of ``rgb`` (the sensor's pixels) with everything a phone or camera adds."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=90)
    plain = buffer.getvalue()
    segments = (_segment(0xE1, exif_block(orientation=orientation, thumbnail=thumbnail_jpeg(rgb)))
                + _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + xmp_packet())
                + _icc_segment(device_profile())
                + _segment(0xED, iptc_resource())
                + _segment(0xFE, COMMENT.encode()))
    return plain[:2] + segments + plain[2:]


def camera_png(rgba: np.ndarray) -> bytes:
    info = PngInfo()
    info.add_text("Author", OWNER)
    info.add_text("Comment", COMMENT)
    info.add_itxt("XML:com.adobe.xmp", xmp_packet().decode())
    buffer = io.BytesIO()
    mode = "RGBA" if rgba.shape[2] == 4 else "RGB"
    Image.fromarray(rgba, mode).save(buffer, "PNG", pnginfo=info, exif=exif_block()[6:],
                                     icc_profile=device_profile())
    return buffer.getvalue()


def camera_file(rgb: np.ndarray, file_format: str) -> bytes:
    """WebP, TIFF or HEIF with EXIF (GPS, serial, maker note), XMP and a device profile."""
    from unseen.media.image import register_heif

    register_heif()
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, file_format, exif=exif_block(), xmp=xmp_packet(),
                              icc_profile=device_profile())
    return buffer.getvalue()
