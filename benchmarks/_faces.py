"""Helpers shared by the face benchmarks: where the data is, the largest face, ROC AUC."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from unseen.faces.types import Detections

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def data_root(argument: str | None) -> Path:
    """The evaluation data folder: the argument, else $UNSEEN_DATA, else ../shared/data."""
    if argument:
        return Path(argument)
    configured = os.environ.get("UNSEEN_DATA")
    return Path(configured) if configured else PROJECT_ROOT.parent / "shared" / "data"


def largest_face(image: np.ndarray, detector, *, detection_side: int = 640) -> Detections:
    """The largest face ``detector`` finds on a copy at most ``detection_side`` px long,
    in pixels of ``image`` (empty when none)."""
    scale = min(1.0, detection_side / max(image.shape[:2]))
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image
    found = detector.detect(small)
    if len(found) == 0:
        return found
    return found[int(np.argmax(found.area))].scaled(1 / scale)


def roc_auc(mated: np.ndarray, nonmated: np.ndarray) -> float:
    """Mann-Whitney: the chance a mated pair outscores a non-mated one, ties counting half."""
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([mated, nonmated]))
    n_mated, n_nonmated = len(mated), len(nonmated)
    return float((ranks[:n_mated].sum() - n_mated * (n_mated + 1) / 2) / (n_mated * n_nonmated))


def d_prime(mated: np.ndarray, nonmated: np.ndarray) -> float:
    """Separation of the two score distributions in pooled standard deviations."""
    return float((mated.mean() - nonmated.mean()) / np.sqrt((mated.var() + nonmated.var()) / 2))
