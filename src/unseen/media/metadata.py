"""What metadata a file carries, and which of it could identify a person, a place or a device.

`inspect_file` reads the file's container structure itself (JPEG segments, PNG chunks, WebP
and TIFF tags, HEIF items), so nothing hides behind what an image library chooses to expose:
an output is clean when this finds nothing at all.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
import zlib
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from PIL import ExifTags, Image, ImageCms, UnidentifiedImageError

from unseen.errors import InputFileError
from unseen.media.image import register_heif


class MetadataKind(str, Enum):
    EXIF = "exif"
    GPS = "gps"
    THUMBNAIL = "thumbnail"
    MAKER_NOTE = "maker note"
    SERIAL = "serial number"
    DATE = "date"
    DEVICE = "device"
    PERSON = "person"
    XMP = "xmp"
    LOCATION = "location"
    HISTORY = "editing history"
    IPTC = "iptc"
    TEXT = "text"
    COLOUR_PROFILE = "colour profile"
    EXTRA_IMAGE = "extra image"
    AUDIO = "audio"
    STREAM = "stream"
    OTHER = "other"


@dataclass(frozen=True)
class MetadataItem:
    """One piece of metadata: where it sits, what it is, a short preview of its value."""

    kind: MetadataKind
    name: str
    value: str
    identifying: bool

    def to_record(self) -> dict:
        return {"kind": self.kind.value, "name": self.name, "value": self.value, "identifying": self.identifying}


@dataclass(frozen=True)
class MetadataReport:
    """Everything `inspect_file` found in one file."""

    path: Path
    format: str
    items: tuple[MetadataItem, ...]

    @property
    def identifying(self) -> tuple[MetadataItem, ...]:
        return tuple(item for item in self.items if item.identifying)

    @property
    def clean(self) -> bool:
        """True when the file carries no metadata of any kind."""
        return not self.items

    def to_record(self) -> dict:
        return {"path": str(self.path), "format": self.format, "clean": self.clean,
                "items": [item.to_record() for item in self.items]}


PREVIEW_CHARS = 60


def _preview(value: object) -> str:
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace") if _mostly_text(value) else f"<{len(value)} bytes>"
    else:
        text = str(value)
    text = " ".join(text.replace("\x00", " ").split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _mostly_text(value: bytes) -> bool:
    sample = value[:200]
    return bool(sample) and sum(32 <= b < 127 or b in (9, 10, 13) for b in sample) >= 0.9 * len(sample)


# -- EXIF ---------------------------------------------------------------------------------
_IFD0_KINDS = {
    270: MetadataKind.TEXT, 271: MetadataKind.DEVICE, 272: MetadataKind.DEVICE, 305: MetadataKind.DEVICE,
    306: MetadataKind.DATE, 315: MetadataKind.PERSON, 316: MetadataKind.DEVICE, 33432: MetadataKind.PERSON,
}
_EXIF_KINDS = {
    36867: MetadataKind.DATE, 36868: MetadataKind.DATE, 36880: MetadataKind.DATE, 36881: MetadataKind.DATE,
    36882: MetadataKind.DATE, 37510: MetadataKind.TEXT, 42016: MetadataKind.SERIAL,
    42032: MetadataKind.PERSON, 42033: MetadataKind.SERIAL, 42034: MetadataKind.DEVICE,
    42035: MetadataKind.DEVICE, 42036: MetadataKind.DEVICE, 42037: MetadataKind.SERIAL,
}
_HARMLESS_EXIF = {274, 282, 283, 296, 531}  # orientation, resolution, YCbCr positioning
_POINTERS = {34665, 34853, 40965}  # to the Exif, GPS and interoperability IFDs, listed through them


def exif_items(data: bytes, where: str) -> list[MetadataItem]:
    """Items of an EXIF block (with or without its ``Exif\\0\\0`` header)."""
    exif = Image.Exif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exif.load(data)
    except (SyntaxError, ValueError, struct.error, OSError, KeyError, TypeError):
        return [MetadataItem(MetadataKind.EXIF, where, f"<{len(data)} bytes, unreadable>", True)]
    items = [MetadataItem(MetadataKind.EXIF, where, f"<{len(data)} bytes>", True)]
    for tag, value in exif.items():
        if tag in _POINTERS:
            continue
        name = f"{where}:{ExifTags.TAGS.get(tag, tag)}"
        kind, identifying = _exif_field(_IFD0_KINDS, tag, name)
        items.append(MetadataItem(kind, name, _preview(value), identifying))
    for ifd, label in ((ExifTags.IFD.Exif, "Exif"), (ExifTags.IFD.GPSInfo, "GPS"), (ExifTags.IFD.IFD1, "IFD1")):
        try:
            entries = exif.get_ifd(ifd)
        except (SyntaxError, ValueError, struct.error, OSError, KeyError, TypeError):
            items.append(MetadataItem(MetadataKind.EXIF, f"{where}:{label}", "<unreadable>", True))
            continue
        names = ExifTags.GPSTAGS if label == "GPS" else ExifTags.TAGS
        for tag, value in entries.items():
            name = f"{where}:{label}:{names.get(tag, tag)}"
            if label == "GPS":
                items.append(MetadataItem(MetadataKind.GPS, name, _preview(value), True))
            elif label == "IFD1":
                kind = MetadataKind.THUMBNAIL if tag in (513, 514, 273, 279) else MetadataKind.EXIF
                items.append(MetadataItem(kind, name, _preview(value), True))
            elif tag == 37500:
                items.append(MetadataItem(MetadataKind.MAKER_NOTE, name, f"<{len(value)} bytes>", True))
            else:
                kind, identifying = _exif_field(_EXIF_KINDS, tag, name)
                items.append(MetadataItem(kind, name, _preview(value), identifying))
    return items


def _exif_field(kinds: dict[int, MetadataKind], tag: int, name: str) -> tuple[MetadataKind, bool]:
    """(kind, identifying) of an EXIF tag: its known kind, else what its name says."""
    if tag in _HARMLESS_EXIF:
        return MetadataKind.EXIF, False
    if tag in kinds:
        return kinds[tag], True
    kind, identifying = classify_field(name)
    return (MetadataKind.EXIF if kind is MetadataKind.OTHER else kind), identifying


# -- what a named field says -------------------------------------------------------------
_FIELD_KINDS = (  # (kind, lower-case fragments of field names), first match wins
    (MetadataKind.HISTORY, ("history", "stevt:", "derivedfrom", "ingredients", "pantry")),
    (MetadataKind.SERIAL, ("serial", "documentid", "instanceid", "uniqueid", "imageuniqueid")),
    (MetadataKind.GPS, ("gps",)),
    (MetadataKind.LOCATION, ("location", "city", "country", "state", "province", "sublocation", "worldregion",
                             "address", "ciadr", "postal")),
    (MetadataKind.PERSON, ("creator", "author", "artist", "by-line", "owner", "rights", "copyright", "credit",
                           "contact", "email", "ciemail", "phone", "citel", "ciurl", "photographer", "person",
                           "writer", "captionwriter", "source", "name")),
    (MetadataKind.DEVICE, ("make", "model", "lens", "camera", "hostcomputer", "device")),
    (MetadataKind.TEXT, ("description", "caption", "title", "subject", "keyword", "headline", "instructions",
                         "comment", "event", "label", "objectname", "usercomment", "transmissionreference")),
)
_HARMLESS_FIELDS = (  # settings of the picture itself: they say nothing of who, where, when or with what
    "orientation", "resolution", "colorspace", "colormode", "iccprofile", "pixel", "bitspersample", "rating",
    "exposure", "fnumber", "aperture", "iso", "focal", "flash", "whitebalance", "metering", "shutter",
    "brightness", "contrast", "saturation", "sharpness", "scenecapture", "sensing", "lightsource", "gain",
    "crs:", "compression", "creatortool", "software", "ycbcr", "componentsconfiguration", "digitalzoom",
    "exifversion", "flashpixversion", "interoperability", "imagewidth", "imagelength", "imageheight",
    "scenetype", "filesource", "customrendered", "gamma", "subjectdistancerange", "sensitivitytype",
    "recommendedexposureindex", "planarconfiguration", "photometric", "samplesperpixel", "jpeginterchange",
    "originatingprogram", "programversion",
)


def classify_field(name: str) -> tuple[MetadataKind, bool]:
    """What a metadata field of this name holds, and whether it can identify a person, a
    place, a time or a device (settings of the picture itself, or the editing software's
    name, cannot). Dates count: with the place, a time narrows down who was there."""
    lower = name.lower()
    leaf = lower.rsplit("/", 1)[-1]
    if any(fragment in leaf for fragment in _HARMLESS_FIELDS) and "history" not in lower:
        return MetadataKind.OTHER, False
    if any(fragment in lower for fragment in ("date", "time", ":when")) and "exposuretime" not in lower:
        return MetadataKind.DATE, True
    for kind, fragments in _FIELD_KINDS:
        if any(fragment in lower for fragment in fragments):
            return kind, True
    return MetadataKind.OTHER, True  # a field we cannot name: assume the worst


# -- XMP, IPTC, ICC -----------------------------------------------------------------------
_XMP_PREFIXES = {
    "http://purl.org/dc/elements/1.1/": "dc", "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/xap/1.0/mm/": "xmpMM", "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#": "stEvt",
    "http://ns.adobe.com/xap/1.0/sType/ResourceRef#": "stRef", "http://ns.adobe.com/xap/1.0/rights/": "xmpRights",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop", "http://ns.adobe.com/exif/1.0/": "exif",
    "http://ns.adobe.com/tiff/1.0/": "tiff", "http://ns.adobe.com/exif/1.0/aux/": "aux",
    "http://ns.adobe.com/camera-raw-settings/1.0/": "crs", "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/": "Iptc4xmpCore",
    "http://iptc.org/std/Iptc4xmpExt/2008-02-29/": "Iptc4xmpExt", "http://cipa.jp/exif/1.0/": "exifEX",
    "http://www.w3.org/XML/1998/namespace": "xml",
}
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XMP_PROPERTY = re.compile(rb'([A-Za-z][\w.-]*):([A-Za-z][\w.-]*)\s*=\s*"([^"]*)"|<([A-Za-z][\w.-]*):([A-Za-z][\w.-]*)>([^<]+)<')
_XMP_SKIP = {"xmlns", "x", "rdf", "xml"}


def _xmp_name(tag: str) -> str:
    """``{namespace}local`` as ``prefix:local``."""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        prefix = _XMP_PREFIXES.get(namespace) or namespace.rstrip("/#").rsplit("/", 1)[-1]
        return f"{prefix}:{local}"
    return tag


def _xmp_properties(data: bytes) -> list[tuple[str, str]]:
    """(prefix:name, value) of every property with a value, lists joined by "; " and
    structures (history events, locations) flattened into their own fields."""
    from xml.etree import ElementTree

    if b"<!ENTITY" in data or b"<!DOCTYPE" in data:
        raise ValueError("XMP with a document type (refused: entity expansion)")
    text = data[data.find(b"<x:xmpmeta"):] if b"<x:xmpmeta" in data else data
    end = text.rfind(b"</x:xmpmeta>")
    root = ElementTree.fromstring(text[:end + len(b"</x:xmpmeta>")] if end >= 0 else text)
    found: list[tuple[str, str]] = []
    containers = {f"{{{_RDF}}}{name}" for name in ("Bag", "Seq", "Alt")}

    def structural(tag: str) -> bool:
        return tag.startswith(f"{{{_RDF}}}") or tag == "{adobe:ns:meta/}xmpmeta"

    def visit(element, path: str) -> None:
        for key, value in element.attrib.items():
            name = _xmp_name(key)
            if not name.startswith(("rdf:", "xml:")) and value.strip():
                found.append((f"{path}{name}", value.strip()))
        if structural(element.tag):
            for child in element:
                visit(child, path)
            return
        full = f"{path}{_xmp_name(element.tag)}"
        listed = [item for child in element if child.tag in containers for item in child]
        plain = [item.text.strip() for item in listed if item.text and item.text.strip() and not len(item)]
        if plain:
            found.append((full, "; ".join(plain)))
        elif element.text and element.text.strip() and not len(element):
            found.append((full, element.text.strip()))
        for item in listed:
            if len(item) or item.attrib:
                visit(item, f"{full}/")
        for child in element:
            if child.tag not in containers:
                visit(child, f"{full}/")

    visit(root, "")
    return found


def _xmp_properties_by_pattern(data: bytes) -> list[tuple[str, str]]:
    """The same from a damaged packet, property by property."""
    found = []
    for match in _XMP_PROPERTY.finditer(data):
        prefix, name, value = (match.group(1, 2, 3) if match.group(1) else match.group(4, 5, 6))
        if prefix.decode() not in _XMP_SKIP and value.strip():
            found.append((f"{prefix.decode()}:{name.decode()}", value.decode("utf-8", "replace").strip()))
    return found


def xmp_items(data: bytes, where: str) -> list[MetadataItem]:
    """The XMP packet and each property in it (creator, keywords, location, history, ...)."""
    try:
        properties = _xmp_properties(data)
    except (ValueError, SyntaxError):  # ElementTree.ParseError is a SyntaxError
        properties = _xmp_properties_by_pattern(data)
    items = []
    for name, value in properties:
        kind, identifying = classify_field(name)
        items.append(MetadataItem(kind, f"{where}:{name}", _preview(value), identifying))
    return [MetadataItem(MetadataKind.XMP, where, f"<{len(data)} bytes, {len(items)} properties>",
                         any(item.identifying for item in items) or not items)] + items


_IPTC_NAMES = {
    5: "ObjectName", 7: "EditStatus", 10: "Urgency", 15: "Category", 20: "SupplementalCategory",
    25: "Keywords", 40: "SpecialInstructions", 55: "DateCreated", 60: "TimeCreated", 62: "DigitalCreationDate",
    63: "DigitalCreationTime", 65: "OriginatingProgram", 70: "ProgramVersion", 80: "By-line",
    85: "By-lineTitle", 90: "City", 92: "Sub-location", 95: "Province-State", 100: "CountryCode",
    101: "Country", 103: "OriginalTransmissionReference", 105: "Headline", 110: "Credit", 115: "Source",
    116: "CopyrightNotice", 118: "Contact", 120: "Caption-Abstract", 122: "Writer-Editor",
}


def iptc_items(data: bytes, where: str) -> list[MetadataItem]:
    """Items of IPTC-IIM records (``0x1C record dataset length value`` ...)."""
    items = []
    position = 0
    while position + 5 <= len(data) and data[position] == 0x1C:
        record, dataset, length = data[position + 1], data[position + 2], struct.unpack(">H", data[position + 3:position + 5])[0]
        value = data[position + 5:position + 5 + length]
        position += 5 + length
        if record == 2 and dataset != 0:
            name = _IPTC_NAMES.get(dataset, f"2:{dataset}")
            kind, identifying = classify_field(name)
            items.append(MetadataItem(kind, f"{where}:{name}", _preview(value), identifying))
    return [MetadataItem(MetadataKind.IPTC, where, f"<{len(data)} bytes, {len(items)} fields>",
                         any(item.identifying for item in items) or not items)] + items


def photoshop_items(data: bytes, where: str) -> list[MetadataItem]:
    """Items of Photoshop image resources (``8BIM`` blocks); IPTC lives in resource 0x0404."""
    items = [MetadataItem(MetadataKind.OTHER, where, f"<{len(data)} bytes of Photoshop resources>", True)]
    position = 0
    while position + 12 <= len(data) and data[position:position + 4] == b"8BIM":
        resource = struct.unpack(">H", data[position + 4:position + 6])[0]
        name_length = data[position + 6]
        name_end = position + 7 + name_length
        name_end += (name_end - position) % 2
        if name_end + 4 > len(data):
            break
        size = struct.unpack(">I", data[name_end:name_end + 4])[0]
        body = data[name_end + 4:name_end + 4 + size]
        if resource == 0x0404:
            items += iptc_items(body, f"{where}:IPTC")
        elif resource == 0x0409 or resource == 0x040C:
            items.append(MetadataItem(MetadataKind.THUMBNAIL, f"{where}:thumbnail", f"<{size} bytes>", True))
        position = name_end + 4 + size + (size % 2)
    return items


def icc_items(data: bytes, where: str) -> list[MetadataItem]:
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(data))
        description = ImageCms.getProfileDescription(profile).strip()
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        description = "<unreadable>"
    generic = description.lower().startswith(("srgb", "display p3", "adobe rgb"))
    return [MetadataItem(MetadataKind.COLOUR_PROFILE, where, _preview(description or f"<{len(data)} bytes>"),
                         not generic)]


# -- containers ---------------------------------------------------------------------------
def _jpeg_items(data: bytes) -> list[MetadataItem]:
    items: list[MetadataItem] = []
    icc_parts: list[bytes] = []
    position = 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == 0xFF:
            position += 1
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no metadata segments after
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            position += 2
            continue
        length = struct.unpack(">H", data[position + 2:position + 4])[0]
        body = data[position + 4:position + 2 + length]
        position += 2 + length
        if marker == 0xE0 and body.startswith(b"JFIF\x00"):
            if len(body) >= 14 and body[12] * body[13] > 0:
                items.append(MetadataItem(MetadataKind.THUMBNAIL, "JFIF", f"{body[12]}x{body[13]} thumbnail", True))
        elif marker == 0xE0 and body.startswith(b"JFXX\x00"):
            items.append(MetadataItem(MetadataKind.THUMBNAIL, "JFXX", f"<{len(body)} bytes>", True))
        elif marker == 0xE1 and body.startswith(b"Exif\x00"):
            items += exif_items(body, "EXIF")
        elif marker == 0xE1 and body.startswith(b"http://ns.adobe.com/xap/1.0/\x00"):
            items += xmp_items(body, "XMP")
        elif marker == 0xE1 and body.startswith(b"http://ns.adobe.com/xmp/extension/\x00"):
            items += xmp_items(body, "XMP extension")
        elif marker == 0xE2 and body.startswith(b"ICC_PROFILE\x00"):
            icc_parts.append(body[14:])
        elif marker == 0xE2 and body.startswith(b"MPF\x00"):
            items.append(MetadataItem(MetadataKind.EXTRA_IMAGE, "MPF", "further images after this one", True))
        elif marker == 0xED and body.startswith(b"Photoshop 3.0\x00"):
            items += photoshop_items(body[14:], "Photoshop")
        elif marker == 0xEE and body.startswith(b"Adobe"):
            continue  # colour transform flag only
        elif marker == 0xFE:
            items.append(MetadataItem(MetadataKind.TEXT, "comment", _preview(body), True))
        elif 0xE0 <= marker <= 0xEF:
            label = body[:16].split(b"\x00")[0].decode("latin-1", "replace") or "?"
            items.append(MetadataItem(MetadataKind.OTHER, f"APP{marker - 0xE0}:{label}", f"<{len(body)} bytes>", True))
    if icc_parts:
        items += icc_items(b"".join(icc_parts), "ICC")
    return items


_PNG_CRITICAL_OR_PIXEL = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"acTL", b"fcTL", b"fdAT"}


def _png_items(data: bytes) -> list[MetadataItem]:
    items: list[MetadataItem] = []
    position = 8
    while position + 8 <= len(data):
        length, chunk = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        position += 12 + length
        if chunk in _PNG_CRITICAL_OR_PIXEL:
            continue
        if chunk in (b"tEXt", b"zTXt", b"iTXt"):
            key, _, value = body.partition(b"\x00")
            if chunk == b"iTXt" and key == b"XML:com.adobe.xmp":
                items += xmp_items(value, "XMP")
            else:
                items.append(MetadataItem(MetadataKind.TEXT, f"{chunk.decode()}:{key.decode('latin-1')}",
                                          _preview(value if chunk == b"tEXt" else b"<compressed>"), True))
        elif chunk == b"eXIf":
            items += exif_items(body, "eXIf")
        elif chunk == b"iCCP":
            name, _, rest = body.partition(b"\x00")
            try:
                items += icc_items(zlib.decompress(rest[1:]), f"iCCP:{name.decode('latin-1')}")
            except zlib.error:
                items.append(MetadataItem(MetadataKind.COLOUR_PROFILE, "iCCP", "<unreadable>", True))
        elif chunk == b"tIME":
            items.append(MetadataItem(MetadataKind.DATE, "tIME", body.hex(), True))
        elif chunk in (b"gAMA", b"cHRM", b"sRGB", b"pHYs", b"sBIT", b"bKGD"):
            items.append(MetadataItem(MetadataKind.OTHER, chunk.decode(), f"<{length} bytes>", False))
        else:
            items.append(MetadataItem(MetadataKind.OTHER, chunk.decode("latin-1"), f"<{length} bytes>", True))
    return items


def _webp_items(data: bytes) -> list[MetadataItem]:
    items: list[MetadataItem] = []
    position = 12
    while position + 8 <= len(data):
        chunk, length = struct.unpack("<4sI", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        position += 8 + length + (length % 2)
        if chunk == b"EXIF":
            items += exif_items(body, "EXIF")
        elif chunk == b"XMP ":
            items += xmp_items(body, "XMP")
        elif chunk == b"ICCP":
            items += icc_items(body, "ICCP")
        elif chunk not in (b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF"):
            items.append(MetadataItem(MetadataKind.OTHER, chunk.decode("latin-1"), f"<{length} bytes>", True))
    return items


_TIFF_PIXEL_TAGS = {
    254, 256, 257, 258, 259, 262, 266, 273, 274, 277, 278, 279, 282, 283, 284, 296, 317, 320, 322, 323,
    324, 325, 338, 339, 530, 531, 532,
}


def _tiff_items(image: Image.Image) -> list[MetadataItem]:
    items: list[MetadataItem] = []
    tags = dict(image.tag_v2) if hasattr(image, "tag_v2") else {}
    for tag, value in tags.items():
        if tag in _TIFF_PIXEL_TAGS:
            continue
        if tag == 34665 or tag == 34853:
            continue  # read below through getexif, which follows the pointers
        if tag == 700:
            items += xmp_items(value if isinstance(value, bytes) else bytes(value), "XMP")
        elif tag == 33723:
            raw = value if isinstance(value, bytes) else bytes(value) if isinstance(value, (tuple, list)) else b""
            items += iptc_items(raw, "IPTC")
        elif tag == 34377:
            items += photoshop_items(value if isinstance(value, bytes) else b"", "Photoshop")
        elif tag == 34675:
            items += icc_items(value, "ICC")
        else:
            kind = _IFD0_KINDS.get(tag, MetadataKind.OTHER)
            items.append(MetadataItem(kind, f"TIFF:{ExifTags.TAGS.get(tag, tag)}", _preview(value), True))
    exif = image.getexif()
    for ifd, label in ((ExifTags.IFD.Exif, "Exif"), (ExifTags.IFD.GPSInfo, "GPS")):
        entries = exif.get_ifd(ifd)
        if entries:
            items.append(MetadataItem(MetadataKind.EXIF, f"TIFF:{label}", f"<{len(entries)} tags>", True))
            names = ExifTags.GPSTAGS if label == "GPS" else ExifTags.TAGS
            for tag, value in entries.items():
                name = f"TIFF:{label}:{names.get(tag, tag)}"
                if label == "GPS":
                    items.append(MetadataItem(MetadataKind.GPS, name, _preview(value), True))
                elif tag == 37500:
                    items.append(MetadataItem(MetadataKind.MAKER_NOTE, name, f"<{len(value)} bytes>", True))
                else:
                    items.append(MetadataItem(_EXIF_KINDS.get(tag, MetadataKind.EXIF), name, _preview(value), True))
    return items


def _heif_items(data: bytes) -> list[MetadataItem]:
    import pillow_heif

    items: list[MetadataItem] = []
    heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=False)
    if len(heif) > 1:
        items.append(MetadataItem(MetadataKind.EXTRA_IMAGE, "images", f"{len(heif)} top-level images", True))
    for index, picture in enumerate(heif):
        where = "HEIF" if index == 0 else f"HEIF[{index}]"
        info = picture.info
        if info.get("exif"):
            items += exif_items(info["exif"], f"{where}:EXIF")
        if info.get("xmp"):
            items += xmp_items(info["xmp"], f"{where}:XMP")
        for block in info.get("metadata", []) or []:
            items.append(MetadataItem(MetadataKind.OTHER, f"{where}:{block.get('type', '?')}",
                                      f"<{len(block.get('data', b''))} bytes>", True))
        if info.get("icc_profile"):
            items += icc_items(info["icc_profile"], f"{where}:ICC")
        if info.get("thumbnails"):
            items.append(MetadataItem(MetadataKind.THUMBNAIL, f"{where}:thumbnails", str(len(info["thumbnails"])), True))
        if info.get("depth_images"):
            items.append(MetadataItem(MetadataKind.EXTRA_IMAGE, f"{where}:depth", str(len(info["depth_images"])), True))
        for aux in (info.get("aux") or {}).values():
            items.append(MetadataItem(MetadataKind.EXTRA_IMAGE, f"{where}:auxiliary", str(aux), True))
    return items


def _gif_items(data: bytes) -> list[MetadataItem]:
    items = []
    for marker, label in ((b"\x21\xfe", "comment"), (b"XMP DataXMP", "XMP")):
        if marker in data:
            items.append(MetadataItem(MetadataKind.TEXT if label == "comment" else MetadataKind.XMP,
                                      label, "present", True))
    return items


def inspect_bytes(data: bytes, *, name: str = "<memory>") -> MetadataReport:
    """Every piece of metadata in the encoded image ``data``."""
    register_heif()
    try:
        with Image.open(io.BytesIO(data)) as image:
            file_format = image.format or "?"
            if file_format in ("JPEG", "MPO"):
                items = _jpeg_items(data)
            elif file_format == "PNG":
                items = _png_items(data)
            elif file_format == "WEBP":
                items = _webp_items(data)
            elif file_format == "TIFF":
                items = _tiff_items(image)
            elif file_format == "HEIF":
                items = _heif_items(data)
            elif file_format == "GIF":
                items = _gif_items(data)
            else:
                items = [MetadataItem(MetadataKind.OTHER, key, _preview(value), True)
                         for key, value in image.info.items() if key not in ("dpi", "compression")]
    except Image.DecompressionBombError:
        raise InputFileError(f"{name}: its header claims more pixels than any camera makes (a decompression bomb, "
                             "or a damaged file); refused") from None
    except (UnidentifiedImageError, OSError) as error:
        raise InputFileError(f"{name}: not a readable image ({error})") from None
    except Exception as error:  # Pillow's parsers raise many kinds (TypeError, struct.error, ...) on damaged files
        raise InputFileError(f"{name}: not a readable image ({type(error).__name__}: {error}); it may be damaged") \
            from None
    return MetadataReport(path=Path(name), format=file_format, items=tuple(items))


def inspect_file(path: str | Path) -> MetadataReport:
    """Every piece of metadata in the image or video file at ``path`` (read only, never changed)."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    from unseen.media.video import is_video_path

    if is_video_path(path):
        from unseen.media.video_metadata import inspect_video

        return inspect_video(path)
    report = inspect_bytes(path.read_bytes(), name=str(path))
    return MetadataReport(path=path, format=report.format, items=report.items)
