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
from unseen.faces.boxes import Window, greedy_clusters, merged_windows
from unseen.faces.types import Detections


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
    refine_above: on images of more than this many pixels, the second looks (mirrored and
        upscaled passes) run only around what the first looks (native and smaller scales,
        not mirrored) found, not over the whole image; 0 refines every image. On WIDER's
        1-megapixel crowds refining every image costs 0.2 points of faces hidden (0.7 at
        10-16 px) for 59% fewer pixels searched, so smaller photos keep every pass.
        On those larger images CenterFace also hands its working memory back after each
        pass (`CenterFaceConfig.release_above`); smaller ones keep it.
    large_min_scale: on those larger images, passes below this scale are left out (the
        coarse pass, a 1024-px copy, still looks for the largest faces). On 12-megapixel
        phone photos a half-size pass cost a fifth of the time and, averaged into the score
        of faces it sees at only 16-32 px, hid fewer faces than native size alone (0.855
        against 0.833 of 330 faces on 12 photos made by `benchmarks/redact_phone.py`).
    sure: a face the first looks score at least this needs no second look (it is covered
        whatever the second looks say); look_above: one they score below this gets none
        (0.08 hid 3 more of those 330 faces than 0.15, for 5% more time).
    refine_margin: each window holds its candidate and this many face heights around it
        (at least `MIN_WINDOW_MARGIN` px of the image).
    whole_above: when the windows of a pass would cover more than this share of the image,
        the pass runs on the whole image instead.
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
    refine_above: int = 4_000_000
    large_min_scale: float = 1.0
    sure: float = 0.7
    look_above: float = 0.08
    refine_margin: float = 0.5
    whole_above: float = 0.6
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
    coarse: bool = False
    """Also CenterFace's coarse look for very large faces (the smallest scale's passes)."""


class Ensemble:
    """CenterFace at several scales, mirrored, optionally with MTCNN; boxes fused.

    ``detect`` returns fused faces whose score is at least ``threshold``; each face's
    ``found_by`` row says which of the ``passes`` found it: ``1x`` is CenterFace at native
    size, ``2x`` on the image upscaled twice, ``2xf`` the same mirrored, ``mtcnn`` MTCNN.
    """

    name = "ensemble"
    default_threshold = 0.22

    def __init__(self, config: EnsembleConfig | None = None, *, threads: int = 0) -> None:
        """``threads``: CPU threads each network may use (0: one per core)."""
        self.config = config or EnsembleConfig()
        self._centerface = CenterFace(self.config.centerface, threads=threads)
        self._mtcnn = None

    def passes_for(self, height: int, width: int) -> list[_Pass]:
        """The passes run on an image of this size (upscaled ones within `max_pass_pixels`)."""
        within = (self.config.max_pass_pixels / max(height * width, 1)) ** 0.5
        large = height * width > self.config.refine_above
        scales = []
        for scale in sorted(set(self.config.scales)):
            if scale > 1:
                scale = min(scale, within)
                if scale < MIN_UPSCALE:
                    continue
            if large and scale < self.config.large_min_scale:
                continue
            scales.append(round(scale, 2))
        passes = [_Pass(f"{s:g}x", s, False, s == scales[0]) for s in scales]
        if self.config.flip:
            passes += [_Pass(f"{s:g}xf", s, True, s == scales[0]) for s in scales]
        if self.config.thorough:
            passes.append(_Pass("mtcnn", 1.0, False))
        return passes

    def detect(self, image: np.ndarray, *, threshold: float | None = None,
               within: list[Window] | None = None, second_looks: bool = True) -> Detections:
        """Fused faces scoring at least ``threshold``; with ``within``, only those inside
        these windows are looked for (the passes are those of the whole image); without
        ``second_looks``, only the first looks run."""
        image = check_rgb_image(image)
        threshold = check_threshold(self.default_threshold if threshold is None else threshold)
        raw_threshold = min(self.config.pass_threshold, threshold)
        size = height, width = image.shape[:2]
        passes = [one for one in self.passes_for(*size) if second_looks or is_first_look(one)]
        if height * width <= self.config.refine_above or not second_looks:
            found = [self.run_pass_in(image, one, within, threshold=raw_threshold) for one in passes]
            return self.fuse(found, image_size=size, passes=passes, looked=[within] * len(passes)).above(threshold)
        first = [one for one in passes if is_first_look(one)]
        found = {one: self.run_pass_in(image, one, within, threshold=raw_threshold) for one in first}
        candidates = self.fuse(list(found.values()), image_size=size, passes=first, looked=[within] * len(first))
        looked: dict[_Pass, list[Window] | None] = dict.fromkeys(first, within)
        for one in passes:
            if one not in found:
                windows = self.second_look_windows(candidates, one, image_size=size)
                looked[one] = windows
                found[one] = self.run_pass_in(image, one, windows, threshold=raw_threshold)
        return self.fuse([found[one] for one in passes], image_size=size,
                         looked=[looked[one] for one in passes]).above(threshold)

    def second_look_windows(self, candidates: Detections, one: _Pass, *,
                            image_size: tuple[int, int]) -> list[Window] | None:
        """Where pass ``one`` takes its second look: around the first looks' candidates it can
        see well and that are not sure yet; None means the whole image (windows too large)."""
        height, width = image_size
        competent = np.array([self._competent([one], float(h))[0] for h in candidates.height], bool)
        unsure = (candidates.score >= self.config.look_above) & (candidates.score < self.config.sure)
        needing = candidates[competent & unsure] if len(candidates) else candidates
        windows = merged_windows(needing.xyxy, width=width, height=height, margin=self.config.refine_margin,
                                 least=MIN_WINDOW_MARGIN)
        area = sum((x2 - x1) * (y2 - y1) for x1, y1, x2, y2 in windows)
        return None if area > self.config.whole_above * width * height else windows

    def run_pass_in(self, image: np.ndarray, one: _Pass, windows: list[Window] | None, *,
                    threshold: float) -> Detections:
        """Pass ``one`` on each window of ``image`` (the whole image for None), in its pixels;
        a face cut by a window's inner edge is left out (its own window holds it whole)."""
        height, width = image.shape[:2]
        release = height * width > self.config.refine_above
        if windows is None:
            return self.run_pass(image, one, threshold=threshold, release=release)
        parts = []
        for x1, y1, x2, y2 in windows:
            found = self.run_pass(np.ascontiguousarray(image[y1:y2, x1:x2]), one, threshold=threshold,
                                  release=release)
            cut = np.zeros(len(found), bool)
            for edge, at, inner in ((0, 0, x1 > 0), (1, 0, y1 > 0), (2, x2 - x1, x2 < width), (3, y2 - y1, y2 < height)):
                if inner:
                    cut |= np.abs(found.xyxy[:, edge] - at) < 2.0
            parts.append(found[~cut].shifted(x1, y1))
        return Detections.merge(parts)._replace(source=one.name) if parts else Detections.empty()

    def run_pass(self, image: np.ndarray, one: _Pass, *, threshold: float, release: bool = False) -> Detections:
        """One pass's faces, in pixels of ``image``, each tagged with the pass's name; ``release``:
        CenterFace hands its working memory back after the pass."""
        if one.name == "mtcnn":
            found = self._mtcnn_detector().detect(image, threshold=max(threshold, self.config.mtcnn_threshold))
        else:
            source = np.ascontiguousarray(image[:, ::-1]) if one.flipped else image
            found = self._centerface_pass(source, one, threshold, release=release)
            if one.flipped:
                found = _mirrored(found, image.shape[1])
        return found._replace(source=np.full(len(found), one.name))

    def _centerface_pass(self, image: np.ndarray, one: _Pass, threshold: float, *, release: bool) -> Detections:
        """One scale; the smallest also gets CenterFace's coarse pass when the photo is so
        large that even this scale leaves faces too big for the network. ``release``: hand
        the network's working memory back after each pass (on large photos; small ones
        keep it from pass to pass and photo to photo)."""
        height, width = image.shape[:2]
        largest = (self.config.centerface.max_pixels / (height * width)) ** 0.5
        passes = [self._centerface.detect_at_scale(image, min(one.scale, largest), threshold=threshold,
                                                   release=release)]
        coarse = self.config.centerface.coarse_side
        if one.coarse and coarse and max(height, width) * one.scale > 1.5 * coarse:
            passes.append(self._centerface.detect_at_scale(image, coarse / max(height, width), threshold=threshold,
                                                           release=release))
        return Detections.merge(passes).nms(self.config.centerface.nms_iou) if len(passes) > 1 else passes[0]

    def _mtcnn_detector(self):
        if self._mtcnn is None:
            from unseen.faces.registry import build_detector

            self._mtcnn = build_detector("mtcnn")
        return self._mtcnn

    def fuse(self, found: list[Detections], *, image_size: tuple[int, int], passes: list[_Pass] | None = None,
             looked: list[list[Window] | None] | None = None) -> Detections:
        """Cluster the passes' boxes and fuse each cluster into one face (see the module doc).

        ``passes`` are those that ran (default: all for this image size); ``looked`` says,
        per pass, the windows it looked in (None: the whole image): a pass counts for a face
        only where it looked.
        """
        passes = self.passes_for(*image_size) if passes is None else passes
        looked = [None] * len(passes) if looked is None else looked
        tagged = Detections.merge(found)
        if len(tagged) == 0:
            return Detections.empty()
        pass_index = {one.name: i for i, one in enumerate(passes)}
        which = np.array([pass_index[s] for s in tagged.source])
        order = np.argsort(-tagged.score, kind="stable")
        tagged, which = tagged[order], which[order]
        boxes, scores, landmarks, found_by = [], [], [], []
        seeds, cluster = greedy_clusters(tagged.xyxy, self.config.merge_iou)
        members_of = np.split(np.argsort(cluster, kind="stable"), np.cumsum(np.bincount(cluster))[:-1])
        for seed, members in zip(seeds, members_of):
            best = _best_per_pass(members, which, tagged.score)
            weights = tagged.score[best].astype(np.float64)
            box = (tagged.xyxy[best] * weights[:, None]).sum(axis=0) / weights.sum()
            competent = self._competent(passes, float(box[3] - box[1])) & _inside_any(box, looked)
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


MIN_WINDOW_MARGIN = 48


def is_first_look(one: _Pass) -> bool:
    """First looks cover the whole image: CenterFace at native and smaller scales, not
    mirrored, and MTCNN; the rest (mirrored, upscaled) are second looks."""
    return not one.flipped and one.scale <= 1.0


def _inside_any(box: np.ndarray, looked: list[list[Window] | None]) -> np.ndarray:
    """(passes,) True where the pass looked at the whole of ``box``."""
    x1, y1, x2, y2 = (float(v) for v in box)
    return np.array([windows is None or any(wx1 <= x1 + 1 and wy1 <= y1 + 1 and x2 - 1 <= wx2 and y2 - 1 <= wy2
                                            for wx1, wy1, wx2, wy2 in windows) for windows in looked])


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
