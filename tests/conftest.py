"""Shared fixtures: where the real evaluation data lives, and small synthetic inputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def shared_data_root() -> Path:
    """``$UNSEEN_DATA`` if set, else ``../shared/data`` beside the project."""
    configured = os.environ.get("UNSEEN_DATA")
    return Path(configured) if configured else PROJECT_ROOT.parent / "shared" / "data"


def require_data(*relative: str) -> Path:
    """The real-data folder (or file) under the data root, or skip the test saying why."""
    path = shared_data_root().joinpath(*relative)
    if not path.exists():
        pytest.skip(f"real data not found at {path} (set UNSEEN_DATA to the evaluation data folder)")
    return path


@pytest.fixture(scope="session")
def wider_pack() -> Path:
    return require_data("wider")


@pytest.fixture(scope="session")
def identities_dir() -> Path:
    return require_data("identities")


@pytest.fixture(scope="session")
def scores_dir() -> Path:
    return require_data("scores")


@pytest.fixture(scope="session")
def utkface_dir() -> Path:
    return require_data("utkface")
