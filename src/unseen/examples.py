"""Built-in example inputs, from packages unseen already depends on (nothing downloaded)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def astronaut_photo() -> Path:
    """NASA's public-domain portrait of astronaut Eileen Collins (512 x 512 PNG),
    shipped inside scikit-image."""
    return Path(str(files("skimage.data") / "astronaut.png"))
