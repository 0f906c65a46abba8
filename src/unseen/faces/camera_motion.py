"""How the camera moved between frames, so a face the detector stops seeing stays covered
where the camera carried it.

A handheld phone pans, tilts and zooms: a face that is not detected for a few frames (or
not yet) moves across the picture with the camera even when the person stands still. The
motion between two frames is estimated from the background: corners tracked with
pyramidal Lucas-Kanade optical flow on a small grey copy of each frame, faces left out,
and a similarity transform (shift, rotation, zoom) fitted with RANSAC. Where too few
points agree (a scene cut, a frame blurred or dark throughout) the step is taken as no
motion, so a cover stays where the face was last seen: the fail-secure default.

Only the transforms are kept, never pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unseen.errors import ConfigError


@dataclass(frozen=True)
class MotionConfig:
    """How camera motion is estimated.

    max_side: frames are shrunk to at most this many pixels on their long side first.
    corners: at most this many corners are followed from one frame to the next.
    min_inliers / min_share: a step is trusted when at least this many points, and this
        share of those followed, agree with the fitted transform; otherwise no motion.
    """

    max_side: int = 480
    corners: int = 300
    min_inliers: int = 24
    min_share: float = 0.4

    def __post_init__(self) -> None:
        if self.max_side < 64:
            raise ConfigError(f"MotionConfig.max_side: expected at least 64 pixels, got {self.max_side}")
        if self.corners < 8 or self.min_inliers < 3:
            raise ConfigError(f"MotionConfig: expected corners >= 8 and min_inliers >= 3, got {self.corners}, "
                              f"{self.min_inliers}")
        if not 0.0 < self.min_share <= 1.0:
            raise ConfigError(f"MotionConfig.min_share: expected a share in (0, 1], got {self.min_share}")


@dataclass(frozen=True, eq=False)
class CameraPath:
    """The camera's motion over a whole video.

    steps: (frames, 3, 3) for each frame, the transform taking the previous frame's pixel
        coordinates to this frame's (the identity for the first frame and where no motion
        could be trusted).
    """

    steps: np.ndarray

    def __post_init__(self) -> None:
        steps = np.asarray(self.steps, np.float64)
        if steps.ndim != 3 or steps.shape[1:] != (3, 3):
            raise ConfigError(f"CameraPath.steps: expected (frames, 3, 3), got {steps.shape}")
        cumulative = np.empty_like(steps)
        total = np.eye(3)
        for i, step in enumerate(steps):
            total = step @ total
            cumulative[i] = total
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "_to_frame", cumulative)
        object.__setattr__(self, "_from_frame", np.linalg.inv(cumulative))

    @classmethod
    def still(cls, frames: int) -> CameraPath:
        """A camera that never moved (every step the identity)."""
        return cls(np.repeat(np.eye(3)[None], frames, axis=0))

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def trusted(self) -> np.ndarray:
        """(frames,) True where a motion other than "none" was measured."""
        return ~np.all(np.isclose(self.steps, np.eye(3)[None]), axis=(1, 2))

    def to_scene(self, frames: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
        """Boxes seen in ``frames`` in the first frame's coordinates (the scene's)."""
        return _moved(self._from_frame[np.asarray(frames, np.int64)], xyxy)

    def to_frames(self, frames: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
        """Boxes in the scene's coordinates where the camera shows them in ``frames``."""
        return _moved(self._to_frame[np.asarray(frames, np.int64)], xyxy)


def _moved(matrices: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
    """(n, 4) the boxes spanned by the four corners of each box under its matrix."""
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    corners = np.stack([xyxy[:, [0, 1]], xyxy[:, [2, 1]], xyxy[:, [0, 3]], xyxy[:, [2, 3]]], axis=1)
    moved = np.einsum("nij,nkj->nki", matrices[:, :2, :2], corners) + matrices[:, None, :2, 2]
    return np.concatenate([moved.min(axis=1), moved.max(axis=1)], axis=1)


class MotionEstimator:
    """Feed it every frame in order (`update`); `path` gives the camera's motion so far."""

    def __init__(self, config: MotionConfig | None = None) -> None:
        self.config = config or MotionConfig()
        self._previous: np.ndarray | None = None
        self._scale = 1.0
        self._steps: list[np.ndarray] = []

    def update(self, rgb: np.ndarray, faces: np.ndarray | None = None) -> np.ndarray:
        """The step from the previous frame to ``rgb`` (3 x 3, full-size pixels); ``faces``
        (n, 4) are boxes of faces seen in the previous frame, left out of the estimate."""
        import cv2

        height, width = rgb.shape[:2]
        self._scale = min(1.0, self.config.max_side / max(height, width))
        small = cv2.resize(rgb, (max(1, round(width * self._scale)), max(1, round(height * self._scale))),
                           interpolation=cv2.INTER_AREA) if self._scale < 1.0 else rgb
        grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        step = np.eye(3)
        if self._previous is not None and self._previous.shape == grey.shape:
            step = self._step(self._previous, grey, faces)
        self._previous = grey
        self._steps.append(step)
        return step

    def _step(self, before: np.ndarray, after: np.ndarray, faces: np.ndarray | None) -> np.ndarray:
        import cv2

        mask = np.full(before.shape, 255, np.uint8)
        if faces is not None and len(faces):
            grown = _grown(np.asarray(faces, np.float64) * self._scale, 0.5)
            for x1, y1, x2, y2 in np.round(grown).astype(int):
                mask[max(y1, 0):max(y2, 0), max(x1, 0):max(x2, 0)] = 0
        points = cv2.goodFeaturesToTrack(before, maxCorners=self.config.corners, qualityLevel=0.01,
                                         minDistance=max(4, before.shape[1] // 60), mask=mask)
        if points is None or len(points) < self.config.min_inliers:
            return np.eye(3)
        followed, status, _ = cv2.calcOpticalFlowPyrLK(before, after, points, None, winSize=(21, 21), maxLevel=3)
        good = status.ravel() == 1
        if good.sum() < self.config.min_inliers:
            return np.eye(3)
        matrix, inliers = cv2.estimateAffinePartial2D(points[good], followed[good], method=cv2.RANSAC,
                                                      ransacReprojThreshold=1.0)
        count = 0 if inliers is None else int(inliers.sum())
        if matrix is None or count < max(self.config.min_inliers, self.config.min_share * len(points)):
            return np.eye(3)
        step = np.vstack([matrix, [0.0, 0.0, 1.0]])
        to_small = np.diag([self._scale, self._scale, 1.0])
        return np.linalg.inv(to_small) @ step @ to_small

    @property
    def path(self) -> CameraPath:
        return CameraPath(np.asarray(self._steps).reshape(-1, 3, 3)) if self._steps else CameraPath.still(0)


def _grown(xyxy: np.ndarray, share: float) -> np.ndarray:
    size = np.stack([xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]] * 2, axis=1)
    return xyxy + share * size * np.array([-1, -1, 1, 1])
