"""Any ArcFace-style recognizer the user brings as an ONNX file: cosine similarity.

unseen ships no ArcFace weights, so the user passes a file, e.g. insightface's
``w600k_r50.onnx`` (mind its licence). The model must take
(N, 3, 112, 112) RGB faces aligned by five landmarks to the standard ArcFace template and
return one vector per face. Pixels are scaled as (x - 127.5) / 127.5 unless the graph does
that itself (its first nodes subtract and multiply), in which case it gets 0..255 values.

onnxruntime runs it with the providers named explicitly: CUDA when present, then CPU
(never a cloud provider).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from unseen.choices import Choice
from unseen.errors import ConfigError, InputFileError, ModelUnavailableError
from unseen.faces.embedders.align import ARCFACE_SIZE, ShapePredictor, align, with_landmarks
from unseen.faces.embedders.base import Metric, TemplateScoring, check_faces, l2_normalised
from unseen.faces.types import Detections

PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")
EXPECTED_INPUT = ("N", 3, ARCFACE_SIZE, ARCFACE_SIZE)


class PixelScaling(Choice):
    """What the network expects its input pixels to be."""

    AUTO = "auto"  # RAW if the graph's first nodes normalise the input, else CENTRED
    CENTRED = "centred"  # (x - 127.5) / 127.5, as insightface's recent models
    RAW = "raw"  # 0..255 as floats, for graphs that normalise inside (older MXNet exports)


class ArcFaceONNX(TemplateScoring):
    """An ArcFace-style ONNX recognizer; the file is read lazily on first use.

    A missing file is reported at once; a file that is not ONNX, or whose input is not
    (N, 3, 112, 112), when the model is first used.
    """

    name = "arcface-onnx"
    metric = Metric.COSINE
    customary_threshold = None
    """No agreed cut-off: it depends on the model and its training; calibrate one on your data."""

    def __init__(self, *, model_path: str | Path, pixel_scaling: PixelScaling = PixelScaling.AUTO) -> None:
        path = _check_model_path(model_path)
        if not path.is_file():
            raise InputFileError(
                f"{path}: no such ONNX model file; pass the path of an ArcFace-style .onnx file "
                "(e.g. insightface's w600k_r50.onnx) as model_path")
        self.model_path = path
        self.pixel_scaling = PixelScaling.parse(pixel_scaling, "pixel_scaling")
        self._shape_predictor = ShapePredictor()
        self._session = None
        self._dimension: int | None = None
        self._scaling = self.pixel_scaling

    @property
    def dimension(self) -> int:
        """Length of the model's templates (read from the file, which loads it)."""
        self._model()
        return int(self._dimension)  # type: ignore[arg-type]  # set by _model

    def _model(self):
        if self._session is None:
            graph = _read_onnx(self.model_path)
            if self._scaling == PixelScaling.AUTO:
                self._scaling = PixelScaling.RAW if _normalises_its_input(graph) else PixelScaling.CENTRED
            session = _session(self.model_path)
            self._check_input(session)
            self._session = session
            self._dimension = self._output_dimension(session)
        return self._session

    def _check_input(self, session) -> None:
        inputs = session.get_inputs()
        shapes = [tuple(item.shape) for item in inputs]
        fixed = [dim if isinstance(dim, int) else None for dim in shapes[0]] if len(shapes) == 1 else []
        if len(fixed) != 4 or any(got is not None and got != want for got, want in zip(fixed[1:], EXPECTED_INPUT[1:])):
            described = ", ".join(str(shape) for shape in shapes) or "none"
            raise InputFileError(
                f"{self.model_path}: the model's inputs have shapes {described}, expected one input "
                f"of shape (N, 3, {ARCFACE_SIZE}, {ARCFACE_SIZE}); export the recognizer with an NCHW "
                f"{ARCFACE_SIZE}x{ARCFACE_SIZE} RGB input")

    def _output_dimension(self, session) -> int:
        shape = session.get_outputs()[0].shape
        if len(shape) == 2 and isinstance(shape[1], int):
            return shape[1]
        probe = self._run(session, np.zeros((1, 3, ARCFACE_SIZE, ARCFACE_SIZE), np.float32))
        if probe.ndim != 2:
            raise InputFileError(
                f"{self.model_path}: the model's output has shape {probe.shape} for one face, expected (1, d); "
                "pass a recognizer that returns one vector per face")
        return probe.shape[1]

    def crops(self, image: np.ndarray, faces: Detections) -> np.ndarray:
        """The aligned 112x112 RGB crops the network sees, (n, 112, 112, 3) uint8."""
        image = check_faces(image, faces)
        faces = with_landmarks(image, faces, self._shape_predictor)
        return align(image, faces.landmarks, size=ARCFACE_SIZE)

    def embed(self, image: np.ndarray, faces: Detections) -> np.ndarray:
        session = self._model()
        crops = self.crops(image, faces)
        if len(crops) == 0:
            return np.zeros((0, self.dimension), np.float32)
        pixels = crops.astype(np.float32).transpose(0, 3, 1, 2)
        if self._scaling == PixelScaling.CENTRED:
            pixels = (pixels - 127.5) / 127.5
        batch_dim = session.get_inputs()[0].shape[0]
        if isinstance(batch_dim, int):  # a fixed batch size (usually 1): one face at a time
            templates = np.concatenate([self._run(session, pixels[i:i + 1]) for i in range(len(pixels))])
        else:
            templates = self._run(session, np.ascontiguousarray(pixels))
        return l2_normalised(templates.reshape(len(crops), -1))

    def _run(self, session, batch: np.ndarray) -> np.ndarray:
        return np.asarray(session.run(None, {session.get_inputs()[0].name: batch})[0], np.float32)


def _check_model_path(value: object) -> Path:
    if not isinstance(value, (str, Path)):
        raise ConfigError(f"model_path: expected the path of an .onnx file, got {type(value).__name__}")
    return Path(value)


def _read_onnx(path: Path):
    """The file's graph, without the weights of external-data models; or InputFileError."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load(str(path), load_external_data=False)
    except (DecodeError, OSError, ValueError) as error:
        raise InputFileError(f"{path}: not an ONNX model ({error}); pass an ArcFace-style .onnx file") from None
    if not model.graph.node or not model.graph.input:
        raise InputFileError(f"{path}: not an ONNX model (no graph found); pass an ArcFace-style .onnx file")
    return model.graph


def _normalises_its_input(graph) -> bool:
    """True when the graph starts by subtracting a mean and multiplying by a scale."""
    first = [(node.op_type, node.name) for node in graph.node[:8]]
    subtracts = any(op == "Sub" or name.startswith(("Sub", "_minus")) for op, name in first)
    multiplies = any(op == "Mul" or name.startswith(("Mul", "_mul")) for op, name in first)
    return subtracts and multiplies


def _session(path: Path):
    try:
        import onnxruntime
        from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors
    except ImportError:
        raise ModelUnavailableError("ArcFace ONNX models need onnxruntime; install it with: pip install onnxruntime") from None
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    available = onnxruntime.get_available_providers()
    providers = [provider for provider in PROVIDERS if provider in available]
    errors = tuple(getattr(ort_errors, name) for name in
                   ("Fail", "InvalidArgument", "InvalidGraph", "InvalidProtobuf", "NoModel", "NotImplemented",
                    "RuntimeException") if hasattr(ort_errors, name))
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=providers)
    except errors as error:
        raise InputFileError(f"{path}: onnxruntime cannot run this model ({error}); "
                             "pass an ArcFace-style .onnx file it can load") from None
