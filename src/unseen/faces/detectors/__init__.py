"""Face detectors behind one protocol (`Detector`); look them up by name in the registry."""

from unseen.faces.detectors.base import Detector

__all__ = ["Detector"]
