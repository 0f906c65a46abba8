"""Write the seed corpus of the fuzzing targets: small valid files of every kind unseen
reads, which the fuzzer then mutates.

    python fuzz/seeds.py fuzz-corpus     # writes fuzz-corpus/{image,video,table}/

Each seed is one byte choosing the suffix (images, videos) or the reader (tables),
followed by the file.
"""

from __future__ import annotations

import io
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from tests.media import camera_files  # noqa: E402
from tests.media.video_files import make_video  # noqa: E402
from unseen.media.image import IMAGE_SUFFIXES, register_heif  # noqa: E402
from unseen.media.video import VIDEO_SUFFIXES  # noqa: E402


def _pixels(height: int = 24, width: int = 32) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.dstack([x * 8 % 256, y * 10 % 256, (x + y) * 4 % 256]).astype(np.uint8)


def _saved(image: Image.Image, file_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, file_format, **options)
    return buffer.getvalue()


def image_seeds() -> dict[str, tuple[str, bytes]]:
    register_heif()
    rgb = _pixels()
    frames = [Image.fromarray(np.roll(rgb, 4 * i, axis=1)) for i in range(3)]
    oriented = Image.fromarray(rgb).getexif()
    oriented[0x0112] = 6
    return {
        "camera": (".jpg", camera_files.camera_jpeg(rgb, orientation=6)),
        "cmyk": (".jpg", _saved(Image.fromarray(rgb).convert("CMYK"), "JPEG")),
        "png-text": (".png", camera_files.camera_png(np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)]))),
        "grey16": (".png", _saved(Image.fromarray((rgb[..., 0].astype(np.uint16) * 257)), "PNG")),
        "palette": (".png", _saved(Image.fromarray(rgb).convert("P"), "PNG", transparency=0)),
        "apng": (".png", _saved(frames[0], "PNG", save_all=True, append_images=frames[1:])),
        "gif": (".gif", _saved(frames[0], "GIF", save_all=True, append_images=frames[1:])),
        "webp": (".webp", camera_files.camera_file(rgb, "WEBP")),
        "tiff": (".tif", camera_files.camera_file(rgb, "TIFF")),
        "heic": (".heic", camera_files.camera_file(rgb, "HEIF")),
        "bmp": (".bmp", _saved(Image.fromarray(rgb), "BMP")),
        "exif-orientation": (".jpg", _saved(Image.fromarray(rgb), "JPEG", exif=oriented.tobytes())),
        "mpo": (".jpg", _saved(frames[0], "MPO", save_all=True, append_images=frames[1:2])),
        "gif-bomb": (".gif", b"GIF89a" + struct.pack("<HH", 65535, 65535) + b"\x00\x00\x00,"
                     + struct.pack("<HHHH", 0, 0, 65535, 65535) + b"\x00\x02\x02\x44\x01\x00;"),
        "png-as-jpg": (".jpg", _saved(Image.fromarray(rgb), "PNG")),
    }


def video_seeds(folder: Path) -> dict[str, tuple[str, bytes]]:
    clips = {
        "mp4-rotated-tagged": (".mp4", dict(rotation=90, tags=True, audio=True)),
        "mkv-vfr": (".mkv", dict(times=[0, 0.05, 0.2, 0.25], container="matroska")),
        "avi": (".avi", dict(container="avi")),
    }
    seeds = {}
    for name, (suffix, options) in clips.items():
        path = make_video(folder / f"{name}{suffix}", frames=4, width=48, height=32, **options)
        seeds[name] = (suffix, path.read_bytes())
    return seeds


TABLES = {
    "comparisons": (0, "img_1,img_2,score,other,mated,race,side_a,side_b\n"
                       "a_1.jpg,a_2.jpg,0.9,0.2,1,A,A,A\nb_1.jpg,c_1.jpg,0.1,1.5,0,B,B,A\n"),
    "by-subject": (1, "id_a,id_b,score,race\ns1,s1,0.8,A\ns1,s2,0.3,A\ns3,s2,0.1,B\n"),
    "manifest": (2, "path,subject,race\na_1.jpg,s1,A\nb_1.jpg,s2,B\n"),
    "pairs": (3, "image_a,image_b,same_person\na_1.jpg,b_1.jpg,0\n"),
    "faces": (4, "image,face,x,y,w,h,easy,medium,hard,blur,invalid,skin\n"
                 "a.jpg,0,1,2,3,4,1,1,1,0,0,V\na.jpg,1,1026,474,-2,23,0,0,1,0,0,\n"),
    "wider-txt": (5, "e/b\n2\n1 2 3 4 0.9\n5 6 7 8 0.5 1 1\n"),
    "jsonl": (6, '{"image": "a.jpg", "faces": [{"box": [1, 2, 5, 9], "score": 0.8}]}\n'
                 '{"path": "/x/e/b.jpg", "faces": []}\n'),
    "rates": (7, "system,FMR.A,FMR.B,FNMR.A,FNMR.B\nx,0.001,0.0001,0.02,0.03\ny,0.01,,0.01,0.05\n"),
}


def write(root: Path) -> None:
    for kind in ("image", "video", "table"):
        (root / kind).mkdir(parents=True, exist_ok=True)
    for name, (suffix, data) in image_seeds().items():
        (root / "image" / name).write_bytes(bytes([IMAGE_SUFFIXES.index(suffix)]) + data)
    with tempfile.TemporaryDirectory() as scratch:
        for name, (suffix, data) in video_seeds(Path(scratch)).items():
            (root / "video" / name).write_bytes(bytes([VIDEO_SUFFIXES.index(suffix)]) + data)
    for name, (reader, text) in TABLES.items():
        (root / "table" / name).write_bytes(bytes([reader]) + text.encode())


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python fuzz/seeds.py CORPUS_FOLDER")
    write(Path(sys.argv[1]))
