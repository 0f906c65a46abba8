"""Reading and writing images safely.

Reading: orientation applied to the pixels, colours converted to sRGB, mode normalised,
size limited. Writing: a new file built from pixels alone (no EXIF, XMP, IPTC, text chunks,
thumbnails or colour profile can come along), encoded in memory, then written atomically.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from unseen.choices import Choice
from unseen.errors import ConfigError, InputFileError
from unseen.media.files import write_atomic

MAX_PIXELS = 200_000_000
"""Larger images are refused: a decompression bomb, or more than any camera makes."""

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".heic", ".heif", ".bmp", ".gif")


def register_heif() -> None:
    """Let Pillow open and write HEIC/HEIF files when pillow-heif is installed."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return
    register_heif_opener()


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """An image as unseen works on it.

    rgb: (H, W, 3) uint8, already turned upright by the file's orientation tag.
    alpha: (H, W) uint8 when the file has transparency, else None.
    format: Pillow's name of the file format ("JPEG", "PNG", "HEIF", ...).
    frames: how many frames the file holds (animated GIF/WebP have several).
    """

    path: Path
    rgb: np.ndarray
    alpha: np.ndarray | None
    format: str
    frames: int = 1

    @property
    def width(self) -> int:
        return self.rgb.shape[1]

    @property
    def height(self) -> int:
        return self.rgb.shape[0]


def load(path: str | Path, *, max_pixels: int = MAX_PIXELS) -> LoadedImage:
    """Read ``path`` as an upright RGB image (plus alpha if it has one).

    Raises InputFileError naming the file when it is missing, not an image, corrupt, or
    larger than ``max_pixels``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    register_heif()
    try:
        with Image.open(path) as opened:
            if opened.width * opened.height > max_pixels:
                raise InputFileError(
                    f"{path}: {opened.width}x{opened.height} is more than {max_pixels:,} pixels; "
                    "downscale it first or raise max_pixels")
            file_format = opened.format or path.suffix.lstrip(".").upper()
            frames = getattr(opened, "n_frames", 1)
            upright = ImageOps.exif_transpose(opened)
            upright.load()
            upright = _to_srgb(upright, opened.info.get("icc_profile"))
    except InputFileError:
        raise
    except Image.DecompressionBombError:
        raise InputFileError(f"{path}: its header claims more than {max_pixels:,} pixels (a decompression bomb, "
                             "or a damaged file); refused") from None
    except MemoryError:
        raise InputFileError(f"{path}: too large to decode in the memory there is; refused") from None
    except Exception as error:  # Pillow's parsers raise many kinds (TypeError, struct.error, ...) on damaged files
        raise InputFileError(f"{path}: {_unreadable_because(path, error)}") from None
    return _normalise(path, upright, file_format, frames)


def header_size(path: str | Path) -> tuple[int, int] | None:
    """(width, height) as the file's header states it, without decoding; None when the
    file is not an image unseen can read."""
    register_heif()
    try:
        with Image.open(path) as opened:
            return opened.width, opened.height
    except Exception:  # any parser error means the same here: the file will fail with its reason when read
        return None


_CONTENT_SIGNATURES = (
    (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive (or an office document)"),
    (b"\x1a\x45\xdf\xa3", "a Matroska/WebM video"), (b"RIFF", "a RIFF file (AVI video or WAV audio)"),
    (b"ID3", "an MP3 audio file"), (b"OggS", "an Ogg audio/video file"), (b"\x7fELF", "a program"),
)


def describe_content(head: bytes) -> str | None:
    """What a file whose first bytes are ``head`` is, when it is plainly not an image."""
    if not head:
        return "empty (0 bytes)"
    if head[4:8] == b"ftyp" and head[8:12] not in (b"heic", b"heix", b"mif1", b"msf1", b"avif", b"heim"):
        return "a video (MP4/MOV)"
    for signature, kind in _CONTENT_SIGNATURES:
        if head.startswith(signature):
            return kind
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "a text file" if all(c >= 32 or c in b"\t\n\r" for c in head) else None


def _unreadable_because(path: Path, error: Exception) -> str:
    try:
        with path.open("rb") as file:
            head = file.read(512)
    except OSError as reading:
        return f"cannot be read ({reading.strerror or reading})"
    kind = describe_content(head)
    if kind is not None:
        return f"not an image: the file is {kind}"
    detail = str(error) if isinstance(error, (OSError, UnidentifiedImageError)) else f"{type(error).__name__}: {error}"
    return f"not a readable image ({detail}); it may be truncated or damaged"


def _normalise(path: Path, image: Image.Image, file_format: str, frames: int) -> LoadedImage:
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = Image.fromarray((np.asarray(image, np.float64) / 256).clip(0, 255).astype(np.uint8))
    rgba = image.convert("RGBA") if has_alpha else None
    rgb = np.asarray((rgba or image).convert("RGB"), dtype=np.uint8)
    alpha = np.asarray(rgba.getchannel("A"), dtype=np.uint8) if rgba is not None else None
    return LoadedImage(path=path, rgb=np.ascontiguousarray(rgb), alpha=alpha, format=file_format, frames=frames)


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def _to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Pixels converted from the file's colour profile to sRGB, so outputs can drop the
    profile (a profile may name a device) and still show the right colours. A profile that
    cannot be read leaves the pixels as they are."""
    if not icc_profile or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    alpha = image.getchannel("A") if image.mode == "RGBA" else None
    source = image.convert("RGB") if image.mode == "RGBA" else image
    try:
        converted = ImageCms.profileToProfile(
            source, ImageCms.ImageCmsProfile(io.BytesIO(icc_profile)), ImageCms.createProfile("sRGB"),
            outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image
    if converted is None:
        return image
    if alpha is not None:
        converted.putalpha(alpha)
    return converted


class OutputFormat(Choice):
    """File formats unseen writes. Each is written from pixels alone, without metadata."""

    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    TIFF = "tiff"
    HEIF = "heif"
    BMP = "bmp"

    @property
    def suffix(self) -> str:
        return {"jpeg": ".jpg", "heif": ".heic", "tiff": ".tif"}.get(self.value, f".{self.value}")

    @property
    def keeps_alpha(self) -> bool:
        return self not in (OutputFormat.JPEG, OutputFormat.BMP)

    @classmethod
    def parse(cls, value: str | OutputFormat, argument: str = "format") -> OutputFormat:
        if isinstance(value, cls):
            return value
        aliases = {"jpg": "jpeg", "heic": "heif", "tif": "tiff"}
        name = str(value).lower().lstrip(".")
        return super().parse(aliases.get(name, name), argument)


_FORMAT_OF_SOURCE = {
    "JPEG": OutputFormat.JPEG, "MPO": OutputFormat.JPEG, "PNG": OutputFormat.PNG,
    "WEBP": OutputFormat.WEBP, "TIFF": OutputFormat.TIFF, "HEIF": OutputFormat.HEIF,
    "BMP": OutputFormat.BMP, "GIF": OutputFormat.PNG,
}


def output_format_for(source_format: str) -> OutputFormat:
    """The format a redacted copy of a ``source_format`` file is written in: the same one,
    except GIF (a still GIF becomes a lossless PNG) and unknown formats (PNG)."""
    return _FORMAT_OF_SOURCE.get(source_format.upper(), OutputFormat.PNG)


JPEG_QUALITY = 92


def visible_pixels(rgb: np.ndarray, alpha: np.ndarray | None, *, keeps_alpha: bool) -> np.ndarray:
    """The colours a file should hold for ``rgb`` shown with ``alpha``.

    Fully transparent pixels hold nothing (black): a cut-out must not carry the photo it
    was cut from in its invisible pixels. When the format cannot hold alpha, every pixel is
    what it shows over black (otherwise the invisible ones would appear).
    """
    if alpha is None:
        return rgb
    if keeps_alpha:
        if not (alpha == 0).any():
            return rgb
        cleared = rgb.copy()
        cleared[alpha == 0] = 0
        return cleared
    weight = alpha.astype(np.uint16)[..., None]
    return ((rgb.astype(np.uint16) * weight + 127) // 255).astype(np.uint8)


def encode(rgb: np.ndarray, *, alpha: np.ndarray | None = None, file_format: OutputFormat | str,
           quality: int = JPEG_QUALITY) -> bytes:
    """The image as the bytes of a new ``file_format`` file holding pixels only.

    The Pillow image is built from the arrays, so nothing of any source file (EXIF, XMP,
    IPTC, comments, text chunks, thumbnails, colour profile) exists to be carried over.
    Alpha is kept where the format can hold it; what is invisible is not written
    (`visible_pixels`).
    """
    file_format = OutputFormat.parse(file_format, "file_format")
    rgb = _check_pixels(rgb, alpha)
    if not 1 <= quality <= 100:
        raise ConfigError(f"quality: expected 1..100, got {quality}")
    rgb = visible_pixels(rgb, alpha, keeps_alpha=file_format.keeps_alpha)
    image = Image.fromarray(rgb, "RGB")
    if alpha is not None and file_format.keeps_alpha:
        image.putalpha(Image.fromarray(alpha, "L"))
    buffer = io.BytesIO()
    if file_format is OutputFormat.JPEG:
        # 4:4:4: every channel in 8 x 8 blocks, the grid covers are snapped to
        image.save(buffer, "JPEG", quality=quality, subsampling="4:4:4", optimize=True)
    elif file_format is OutputFormat.PNG:
        image.save(buffer, "PNG", optimize=False, compress_level=6)
    elif file_format is OutputFormat.WEBP:
        image.save(buffer, "WEBP", quality=quality, method=4)
    elif file_format is OutputFormat.TIFF:
        image.save(buffer, "TIFF", compression="tiff_adobe_deflate")
    elif file_format is OutputFormat.HEIF:
        register_heif()
        image.save(buffer, "HEIF", quality=quality, exif=None, xmp=None)
    else:
        image.save(buffer, "BMP")
    return buffer.getvalue()


def save(path: str | Path, rgb: np.ndarray, *, alpha: np.ndarray | None = None,
         file_format: OutputFormat | str | None = None, quality: int = JPEG_QUALITY) -> Path:
    """Write the pixels to ``path`` atomically as a new file without any metadata.

    The format defaults to the one ``path``'s suffix names.
    """
    path = Path(path)
    chosen = OutputFormat.parse(file_format if file_format is not None else path.suffix, "file_format")
    data = encode(rgb, alpha=alpha, file_format=chosen, quality=quality)
    return write_atomic(path, lambda temporary: temporary.write_bytes(data))


def decode(data: bytes) -> tuple[np.ndarray, np.ndarray | None]:
    """Pixels (rgb, alpha or None) of an encoded image, as a reader of the file will see them."""
    register_heif()
    with Image.open(io.BytesIO(data)) as opened:
        opened.load()
        loaded = _normalise(Path("<memory>"), opened, opened.format or "", 1)
    return loaded.rgb, loaded.alpha


def _check_pixels(rgb: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        shape = getattr(rgb, "shape", None)
        raise ConfigError(f"rgb: expected a uint8 array of shape (H, W, 3), got {type(rgb).__name__} {shape}")
    if alpha is not None and (alpha.dtype != np.uint8 or alpha.shape != rgb.shape[:2]):
        raise ConfigError(f"alpha: expected a uint8 array of shape {rgb.shape[:2]}, got {alpha.dtype} {alpha.shape}")
    return np.ascontiguousarray(rgb)
