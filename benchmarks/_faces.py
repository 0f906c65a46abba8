"""Where the face benchmarks find the evaluation data, and how they look for faces."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DETECTION_SIDE = 640  # faces in these photos are large: detect on a copy this long, embed at full size


def data_root(argument: str | None) -> Path:
    """The evaluation data folder: the argument, else $UNSEEN_DATA, else ../shared/data."""
    if argument:
        return Path(argument)
    configured = os.environ.get("UNSEEN_DATA")
    return Path(configured) if configured else PROJECT_ROOT.parent / "shared" / "data"
