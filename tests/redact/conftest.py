"""Shared inputs for the redaction tests: a real face photo shipped with scikit-image."""

import numpy as np
import pytest

from unseen.examples import astronaut_photo
from unseen.media.image import load
from unseen.redact.photo import RedactConfig, Redactor
from unseen.redact.verify import VerifyConfig


@pytest.fixture(scope="session")
def astronaut_rgb() -> np.ndarray:
    return load(astronaut_photo()).rgb


@pytest.fixture(scope="session")
def quick_config() -> RedactConfig:
    """The default redaction, verified by re-detection only (recognizers have their own tests)."""
    return RedactConfig(verification=VerifyConfig(embedders=()))


@pytest.fixture(scope="session")
def quick_redactor(quick_config) -> Redactor:
    return Redactor(quick_config)
