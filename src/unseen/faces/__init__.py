"""The face engine shared by audit and redact: detectors, embedders, `Detections`."""

from unseen.faces.types import Detections, box_iou

__all__ = ["Detections", "box_iou"]
