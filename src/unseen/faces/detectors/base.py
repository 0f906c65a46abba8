"""What every detector offers, and the checks they share."""

from __future__ import annotations

from importlib.resources import files
from importlib.util import find_spec
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from unseen.errors import ConfigError, ModelUnavailableError
from unseen.faces.types import Detections


@runtime_checkable
class Detector(Protocol):
    """Finds faces in an RGB ``uint8`` image of shape (H, W, 3).

    ``detect`` returns every face scoring at least ``threshold`` (the detector's
    ``default_threshold`` when None), in pixels of the image passed in; never None.
    """

    name: str
    default_threshold: float

    def detect(self, image: np.ndarray, *, threshold: float | None = None) -> Detections: ...


def check_rgb_image(image: np.ndarray, argument: str = "image") -> np.ndarray:
    """The image as a C-contiguous uint8 (H, W, 3) array, or a ConfigError naming the problem."""
    if not isinstance(image, np.ndarray):
        raise ConfigError(f"{argument}: expected a numpy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ConfigError(f"{argument}: expected an RGB array of shape (H, W, 3), got {image.shape}")
    if image.dtype != np.uint8:
        raise ConfigError(f"{argument}: expected dtype uint8, got {image.dtype}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ConfigError(f"{argument}: image is empty ({image.shape})")
    return np.ascontiguousarray(image)


def check_threshold(threshold: float, argument: str = "threshold") -> float:
    if not 0.0 <= threshold <= 1.0:
        raise ConfigError(f"{argument}: expected a score between 0 and 1, got {threshold}")
    return float(threshold)


def packaged_file(package: str, relative: str, *, install: str) -> Path:
    """Path of a weight file shipped inside ``package``, without importing the package."""
    if find_spec(package) is None:
        raise ModelUnavailableError(f"package {package!r} is not installed; install it with: {install}")
    path = Path(str(files(package) / relative))
    if not path.is_file():
        raise ModelUnavailableError(f"{path} is missing from package {package!r}; reinstall it with: {install}")
    return path
