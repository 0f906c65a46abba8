"""Metadata proof: files carrying every identifying field a format can hold are redacted and
exiftool finds none of it in the copies, nor any image but the redacted one; sidecars beside
them are never copied (benchmarks/metadata_matrix.py, the matrix quoted in the README)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PHOTOS = ("JPEG", "PNG", "WebP", "TIFF", "HEIC", "MPO")
VIDEOS = ("MP4", "MOV")

pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed "
                                                                         "(Debian: libimage-exiftool-perl)")


def _benchmark():
    spec = importlib.util.spec_from_file_location("metadata_matrix", PROJECT_ROOT / "benchmarks" / "metadata_matrix.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    return _benchmark().measure(tmp_path_factory.mktemp("metadata"))


# every cell here must read "removed": the original carried the field and the copy does not
CARRIED = {
    "EXIF (any)": PHOTOS,
    "GPS position / location": PHOTOS + VIDEOS,
    "thumbnail / preview image": ("JPEG", "MPO"),
    "maker note": PHOTOS,
    "serial numbers": PHOTOS,
    "owner / author names": PHOTOS + VIDEOS,
    "capture dates": PHOTOS + VIDEOS,
    "device make and model": PHOTOS + VIDEOS,
    "XMP": ("JPEG", "PNG", "WebP", "TIFF", "HEIC"),
    "IPTC / Photoshop": ("JPEG", "TIFF"),
    "comments and PNG text": ("JPEG", "PNG"),
    "colour profile naming a device": ("JPEG", "PNG", "WebP", "TIFF", "HEIC"),
    "MPO / extra images": ("MPO",),
    "handler names": VIDEOS,
    "GPS data track": ("MP4",),
    "subtitle track": VIDEOS,
    "chapters": VIDEOS,
    "audio track": VIDEOS,
}


@pytest.mark.parametrize("field", list(CARRIED))
def test_every_field_the_originals_carry_is_gone_from_the_copies(matrix, field):
    row = matrix.cells[field]
    assert "LEFT" not in row.values(), row
    assert {name: row[name] for name in CARRIED[field]} == {name: "removed" for name in CARRIED[field]}


def test_no_copy_holds_an_image_but_the_redacted_one(matrix):
    assert {name: after for name, (_, after) in matrix.images.items()} == {name: 1 for name in PHOTOS + VIDEOS}
    assert matrix.images["JPEG"][0] == 2 and matrix.images["MPO"][0] == 3 and matrix.images["HEIC"][0] == 2


def test_sidecars_are_skipped_by_name_and_nothing_else_reaches_the_output(matrix):
    assert matrix.left_in_output == ()
    assert sorted(matrix.skipped) == [
        "CLIP_0001.THM: metadata sidecar or thumbnail (.thm): never copied",
        "IMG_0001.jpg.json: metadata sidecar or thumbnail (.json): never copied",
        "IMG_0001.xmp: metadata sidecar or thumbnail (.xmp): never copied"]
    assert matrix.clean
    assert "| GPS data track | - | - | - | - | - | - | removed | - |" in matrix.table()
