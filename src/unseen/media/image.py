"""Reading images safely: orientation applied to the pixels, mode normalised, size limited."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from unseen.errors import InputFileError

MAX_PIXELS = 200_000_000
"""Larger images are refused: a decompression bomb, or more than any camera makes."""

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".heic", ".heif", ".bmp", ".gif")


def _register_heif() -> None:
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
    _register_heif()
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
    except InputFileError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InputFileError(f"{path}: not a readable image ({error}); check the file is complete") from None
    return _normalise(path, upright, file_format, frames)


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
