"""The fuzzing targets: image, video and table entry points, one function each.

Each takes the fuzzer's bytes, makes a file of them and reads it as unseen does. An input
passes when unseen reads it or refuses it with one of its own errors
(`unseen.errors.UnseenError`: a message naming the file and the reason). Any other
exception, a hang or a crash of the interpreter is a finding. ``fuzz/run.py`` runs them
under Atheris; the tests replay the seeds and every input that once failed.
"""

from __future__ import annotations

import tempfile
from itertools import islice
from pathlib import Path

import numpy as np

from unseen.audit.detection.box_files import read_jsonl, read_wider_txt
from unseen.audit.detection.pack import LabelledFaces, load_faces_csv
from unseen.audit.recognition.manifest import manifest_from_pairs, read_manifest
from unseen.audit.recognition.readers import TableColumns, read_comparisons
from unseen.audit.verification.published import read_published_rates
from unseen.errors import UnseenError
from unseen.media.image import IMAGE_SUFFIXES, header_size, load, register_heif
from unseen.media.metadata import inspect_file
from unseen.media.video import VIDEO_SUFFIXES, probe, read_frames

WORK = Path(tempfile.mkdtemp(prefix="unseen-fuzz-"))
MAX_PIXELS = 4_000_000
"""A lower cap than the product's, so that the fuzzer spends its time on structure, not pixels."""
FRAMES = 4


def _input_file(data: bytes, suffixes: tuple[str, ...]) -> Path:
    """``data`` minus its first byte, in a file whose suffix the first byte picks (so a PNG
    named .jpg and a Matroska file named .avi are tried too)."""
    suffix = suffixes[data[0] % len(suffixes)] if data else suffixes[0]
    path = WORK / f"input{suffix}"
    path.write_bytes(data[1:])
    return path


def _each(readers) -> None:
    for read in readers:
        try:
            read()
        except UnseenError:
            pass


def image(data: bytes) -> None:
    """Loaded (orientation, colour profile, mode, pixel cap), header size read, metadata listed."""
    register_heif()
    path = _input_file(data, IMAGE_SUFFIXES)
    header_size(path)
    _each((lambda: load(path, max_pixels=MAX_PIXELS), lambda: inspect_file(path)))


def video(data: bytes) -> None:
    """Probed (streams, tags, rotation, frame count), first frames decoded upright, metadata listed."""
    path = _input_file(data, VIDEO_SUFFIXES)
    _each((lambda: probe(path), lambda: list(islice(read_frames(path), FRAMES)), lambda: inspect_file(path)))


FACES = LabelledFaces(images=["a.jpg", "e/b.jpg"], image_index=[0, 1], face_id=[0, 0],
                      xywh=[[1, 2, 3, 4], [5, 6, 7, 8]])
PAIRS = TableColumns(scores=("score", "other:distance"), mated="mated", groups=("race", "side_a:side_b"),
                     subjects=("img_1", "img_2"), subjects_from_files=True)
BY_SUBJECT = TableColumns(scores=("score",), groups=("race",), subjects=("id_a", "id_b"))
TABLE_READERS = (
    lambda path: read_comparisons(path, columns=PAIRS),
    lambda path: read_comparisons(path, columns=BY_SUBJECT),
    lambda path: read_manifest(path, groups=("race",), images=WORK),
    lambda path: manifest_from_pairs(path, images=WORK),
    lambda path: load_faces_csv(path),
    lambda path: read_wider_txt(path),
    lambda path: read_jsonl(path, FACES),
    lambda path: read_published_rates(path),
)
"""The readers, in the order the first byte of a table input picks them."""


def table(data: bytes) -> None:
    """The first byte picks the reader (and Parquet from 0xF0 up); the rest is the file."""
    if not data:
        return
    for name in ("a_1.jpg", "b_1.jpg"):
        (WORK / name).touch()
    path = WORK / ("table.parquet" if data[0] >= 0xF0 else "table.csv")
    path.write_bytes(data[1:])
    with np.errstate(all="ignore"):
        _each((lambda: TABLE_READERS[data[0] % len(TABLE_READERS)](path),))


TARGETS = {"image": image, "video": video, "table": table}
