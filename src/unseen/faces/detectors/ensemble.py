"""Several detector passes over one image, merged: the detector redaction relies on.

CenterFace sees faces best when they are 16 to 256 px tall in the image it is given
(measured on WIDER: at native size it finds under half of the faces 10-16 px tall, on the
image upscaled 2x over 80%; upscaled, it does worse than native on faces over 64 px). So
the image is searched at 0.5x, 1x and 2x, each also mirrored (a second look at every
face), and MTCNN (`thorough`) can add a differently trained opinion. Each pass runs at a
low threshold; boxes of the same face are clustered across passes and fused (score-weighted
mean box), and the fused score is the mean over the passes *able to see a face of that
size* (those that see it 16-256 px tall), so a face found by every competent pass keeps its
score and a blip seen once is diluted (a face no pass is built for keeps its best score).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from unseen.errors import ConfigError
from unseen.faces.detectors.base import check_rgb_image, check_threshold
from unseen.faces.detectors.centerface import CenterFace, CenterFaceConfig
from unseen.faces.types import Detections, box_iou


MIN_UPSCALE = 1.25


@dataclass(frozen=True)
class EnsembleConfig:
    """Which passes run and how they merge.

    scales: CenterFace passes on the image resized by each factor.
    max_pass_pixels: an upscaled pass is scaled down to stay within this many pixels, and
        left out when that brings it below 1.25x (on a 12-megapixel phone photo a 2x pass
        would cost 48 megapixels; the faces it adds there are under ~10 px).
    flip: also run every scale on the mirrored image.
    thorough: add MTCNN as a second opinion (slower).
    pass_threshold: the threshold each pass runs at (below any threshold asked of the fusion).
    merge_iou: boxes of different passes overlapping at least this much are one face.
    seen_px: (smallest, largest) face height, in the pixels a pass sees, that the pass
        counts for when scores are averaged; CenterFace is reliable between these.
    mtcnn_min_px: MTCNN counts only for faces at least this tall (its smallest is 12 px).
    centerface: tiling and coarse-pass options of the CenterFace passes (its own scales are
        replaced by ``scales``).
    """

    scales: tuple[float, ...] = (0.5, 1.0, 2.0)
    max_pass_pixels: int = 16_000_000
    flip: bool = True
    thorough: bool = False
    pass_threshold: float = 0.05
    merge_iou: float = 0.3
    seen_px: tuple[float, float] = (16.0, 256.0)
    mtcnn_min_px: float = 24.0
    mtcnn_threshold: float = 0.5
    centerface: CenterFaceConfig = field(default_factory=CenterFaceConfig)

    def __post_init__(self) -> None:
        if not self.scales or any(s <= 0 for s in self.scales):
            raise ConfigError(f"EnsembleConfig.scales: expected positive factors, got {self.scales}")
        if self.max_pass_pixels < 1:
            raise ConfigError(f"EnsembleConfig.max_pass_pixels: expected a positive number, got {self.max_pass_pixels}")
        check_threshold(self.pass_threshold, "EnsembleConfig.pass_threshold")
        check_threshold(self.merge_iou, "EnsembleConfig.merge_iou")
        check_threshold(self.mtcnn_threshold, "EnsembleConfig.mtcnn_threshold")
        if not 0 < self.seen_px[0] < self.seen_px[1]:
            raise ConfigError(f"EnsembleConfig.seen_px: expected (smallest, largest) with 0 < smallest < largest, "
                              f"got {self.seen_px}")


@dataclass(frozen=True)
class _Pass:
    name: str
    scale: float
    flipped: bool


class Ensemble:
    """CenterFace at several scales, mirrored, optionally with MTCNN; boxes fused.

    ``detect`` returns fused faces whose score is at least ``threshold``; each face's
    ``found_by`` row says which of the ``passes`` found it: ``1x`` is CenterFace at native
    size, ``2x`` on the image upscaled twice, ``2xf`` the same mirrored, ``mtcnn`` MTCNN.
    """

    name = "ensemble"
    default_threshold = 0.22

    def __init__(self, config: EnsembleConfig | None = None) -> None:
        self.config = config or EnsembleConfig()
        self._centerface = CenterFace(self.config.centerface)
        self._mtcnn = None

    def passes_for(self, height: int, width: int) -> list[_Pass]:
        """The passes run on an image of this size (upscaled ones within `max_pass_pixels`)."""
        within = (self.config.max_pass_pixels / max(height * width, 1)) ** 0.5
        scales = []
        for scale in sorted(set(self.config.scales)):
            if scale > 1:
                scale = min(scale, within)
                if scale < MIN_UPSCALE:
                    continue
            scales.append(round(scale, 2))
        passes = [_Pass(f"{s:g}x", s, False) for s in scales]
        if self.config.flip:
            passes += [_Pass(f"{s:g}xf", s, True) for s in scales]
        if self.config.thorough:
            passes.append(_Pass("mtcnn", 1.0, False))
        return passes

    def detect(self, image: np.ndarray, *, threshold: float | None = None) -> Detections:
        image = check_rgb_image(image)
        threshold = check_threshold(self.default_threshold if threshold is None else threshold)
        raw_threshold = min(self.config.pass_threshold, threshold)
        found = [self.run_pass(image, one, threshold=raw_threshold) for one in self.passes_for(*image.shape[:2])]
        return self.fuse(found, image_size=image.shape[:2]).above(threshold)

    def run_pass(self, image: np.ndarray, one: _Pass, *, threshold: float) -> Detections:
        """One pass's faces, in pixels of ``image``, each tagged with the pass's name."""
        if one.name == "mtcnn":
            found = self._mtcnn_detector().detect(image, threshold=max(threshold, self.config.mtcnn_threshold))
        else:
            source = np.ascontiguousarray(image[:, ::-1]) if one.flipped else image
            found = self._centerface_pass(source, one.scale, threshold)
            if one.flipped:
                found = _mirrored(found, image.shape[1])
        return found._replace(source=np.full(len(found), one.name))

    def _centerface_pass(self, image: np.ndarray, scale: float, threshold: float) -> Detections:
        """One scale; the smallest also gets CenterFace's coarse pass when the photo is so
        large that even this scale leaves faces too big for the network."""
        height, width = image.shape[:2]
        largest = (self.config.centerface.max_pixels / (height * width)) ** 0.5
        passes = [self._centerface.detect_at_scale(image, min(scale, largest), threshold=threshold)]
        coarse = self.config.centerface.coarse_side
        if scale == min(self.config.scales) and coarse and max(height, width) * scale > 1.5 * coarse:
            passes.append(self._centerface.detect_at_scale(image, coarse / max(height, width), threshold=threshold))
        return Detections.merge(passes).nms(self.config.centerface.nms_iou) if len(passes) > 1 else passes[0]

    def _mtcnn_detector(self):
        if self._mtcnn is None:
            from unseen.faces.registry import build_detector

            self._mtcnn = build_detector("mtcnn")
        return self._mtcnn

    def fuse(self, found: list[Detections], *, image_size: tuple[int, int]) -> Detections:
        """Cluster the passes' boxes and fuse each cluster into one face (see the module doc)."""
        passes = self.passes_for(*image_size)
        tagged = Detections.merge(found)
        if len(tagged) == 0:
            return Detections.empty()
        pass_index = {one.name: i for i, one in enumerate(passes)}
        which = np.array([pass_index[s] for s in tagged.source])
        order = np.argsort(-tagged.score, kind="stable")
        tagged, which = tagged[order], which[order]
        boxes, scores, landmarks, found_by = [], [], [], []
        remaining = np.arange(len(tagged))
        while len(remaining):  # one cluster at a time: memory stays linear in the boxes
            seed = remaining[0]
            close = box_iou(tagged.xyxy[seed:seed + 1], tagged.xyxy[remaining])[0] >= self.config.merge_iou
            members, remaining = remaining[close], remaining[~close]
            best = _best_per_pass(members, which, tagged.score)
            weights = tagged.score[best].astype(np.float64)
            box = (tagged.xyxy[best] * weights[:, None]).sum(axis=0) / weights.sum()
            competent = self._competent(passes, float(box[3] - box[1]))
            counted = competent[which[best]]
            boxes.append(box)
            scores.append(float(weights[counted].sum()) / competent.sum() if competent.any() else float(weights.max()))
            landmarks.append(tagged.landmarks[seed])
            found_by.append(np.isin(np.arange(len(passes)), which[best]))
        return Detections(xyxy=np.asarray(boxes, np.float32), score=np.asarray(scores, np.float32),
                          landmarks=np.asarray(landmarks, np.float32), source=self.name,
                          passes=tuple(one.name for one in passes), found_by=np.asarray(found_by))

    def _competent(self, passes: list[_Pass], face_height: float) -> np.ndarray:
        """(passes,) True for the passes that see a face of this height well."""
        smallest, largest = self.config.seen_px
        return np.array([
            face_height >= self.config.mtcnn_min_px if one.name == "mtcnn"
            else smallest <= face_height * one.scale <= largest
            for one in passes
        ])


def _best_per_pass(members: np.ndarray, which: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Indices of the best-scoring member of each pass (members are sorted by score)."""
    seen: set[int] = set()
    best = []
    for index in members:
        if which[index] not in seen:
            seen.add(int(which[index]))
            best.append(index)
    return np.asarray(best)


def _mirrored(found: Detections, width: int) -> Detections:
    """Boxes and landmarks found on the mirrored image, put back on the original."""
    if len(found) == 0:
        return found
    xyxy = found.xyxy.copy()
    xyxy[:, 0], xyxy[:, 2] = width - found.xyxy[:, 2], width - found.xyxy[:, 0]
    landmarks = found.landmarks.copy()
    landmarks[:, :, 0] = width - landmarks[:, :, 0]
    landmarks = landmarks[:, [1, 0, 2, 4, 3]]  # the subject's left and right swap in a mirror
    return found._replace(xyxy=xyxy, landmarks=landmarks)
