"""What `inspect` finds: XMP and IPTC itemised field by field, and only what can identify
a person, place, time or device marked as identifying."""

import numpy as np
import pytest

from tests.media import camera_files
from unseen.media.metadata import MetadataKind, classify_field, inspect_bytes, iptc_items, xmp_items

RICH_XMP = b"""<?xpacket begin=""?><x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
 xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
 xmlns:Iptc4xmpCore="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
 xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
 photoshop:City="Berlin" xmp:CreatorTool="Darktable" crs:Exposure2012="+0.50" xmpMM:DocumentID="xmp.did:77">
<dc:creator><rdf:Seq><rdf:li>Jane Doe</rdf:li></rdf:Seq></dc:creator>
<dc:subject><rdf:Bag><rdf:li>protest</rdf:li><rdf:li>march</rdf:li></rdf:Bag></dc:subject>
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">At the march</rdf:li></rdf:Alt></dc:title>
<Iptc4xmpCore:Location>Alexanderplatz</Iptc4xmpCore:Location>
<xmpMM:History><rdf:Seq><rdf:li stEvt:action="saved" stEvt:when="2024-03-15T10:00:00"/></rdf:Seq></xmpMM:History>
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"""


def _by_name(items):
    return {item.name: item for item in items}


def test_xmp_is_itemised_creator_keywords_location_and_history():
    items = _by_name(xmp_items(RICH_XMP, "XMP"))
    expected = {
        "XMP:dc:creator": (MetadataKind.PERSON, "Jane Doe", True),
        "XMP:dc:subject": (MetadataKind.TEXT, "protest; march", True),
        "XMP:dc:title": (MetadataKind.TEXT, "At the march", True),
        "XMP:photoshop:City": (MetadataKind.LOCATION, "Berlin", True),
        "XMP:Iptc4xmpCore:Location": (MetadataKind.LOCATION, "Alexanderplatz", True),
        "XMP:xmpMM:DocumentID": (MetadataKind.SERIAL, "xmp.did:77", True),
        "XMP:xmpMM:History/stEvt:action": (MetadataKind.HISTORY, "saved", True),
        "XMP:xmpMM:History/stEvt:when": (MetadataKind.DATE, "2024-03-15T10:00:00", True),
        "XMP:xmp:CreatorTool": (MetadataKind.OTHER, "Darktable", False),
        "XMP:crs:Exposure2012": (MetadataKind.OTHER, "+0.50", False),
    }
    for name, (kind, value, identifying) in expected.items():
        item = items[name]
        assert (item.kind, item.value, item.identifying) == (kind, value, identifying), name
    assert not any("lang" in name for name in items)
    assert items["XMP"].identifying


def test_a_damaged_xmp_packet_is_still_read_property_by_property():
    items = _by_name(xmp_items(RICH_XMP[:700], "XMP"))
    assert items["XMP:photoshop:City"].value == "Berlin"


def test_an_xmp_packet_with_entities_is_not_expanded():
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&a;</x:xmpmeta>'
    items = xmp_items(bomb, "XMP")
    assert items[0].kind is MetadataKind.XMP


def test_iptc_fields_by_name():
    def record(dataset, text):
        value = text.encode()
        return bytes([0x1C, 2, dataset]) + len(value).to_bytes(2, "big") + value

    data = record(80, "Jane") + record(25, "protest") + record(90, "Berlin") + record(55, "20240315") + record(65, "Tool")
    items = _by_name(iptc_items(data, "IPTC"))
    assert items["IPTC:By-line"].kind is MetadataKind.PERSON and items["IPTC:Keywords"].kind is MetadataKind.TEXT
    assert items["IPTC:City"].kind is MetadataKind.LOCATION and items["IPTC:DateCreated"].kind is MetadataKind.DATE
    assert not items["IPTC:OriginatingProgram"].identifying


@pytest.mark.parametrize(("name", "kind", "identifying"), [
    ("EXIF:Exif:ExposureTime", MetadataKind.OTHER, False), ("EXIF:Exif:DateTimeOriginal", MetadataKind.DATE, True),
    ("EXIF:Exif:CameraOwnerName", MetadataKind.PERSON, True), ("EXIF:Exif:LensModel", MetadataKind.DEVICE, True),
    ("EXIF:Software", MetadataKind.OTHER, False), ("vendor:SomethingUnknown", MetadataKind.OTHER, True),
])
def test_fields_are_classified_by_what_they_can_reveal(name, kind, identifying):
    assert classify_field(name) == (kind, identifying)


def test_a_camera_jpeg_marks_camera_settings_harmless_and_the_rest_identifying():
    report = inspect_bytes(camera_files.camera_jpeg(np.zeros((32, 32, 3), np.uint8), orientation=6))
    items = _by_name(report.items)
    assert not items["EXIF:Orientation"].identifying
    assert items["EXIF:Artist"].kind is MetadataKind.PERSON and items["EXIF:Exif:BodySerialNumber"].identifying
    assert items["Photoshop:IPTC:City"].kind is MetadataKind.LOCATION
