"""The face engine shared by audit and redact: detectors, embedders, `Detections`, boxes."""

from unseen.faces.boxes import box_iou
from unseen.faces.types import Detections

__all__ = ["Detections", "box_iou"]
