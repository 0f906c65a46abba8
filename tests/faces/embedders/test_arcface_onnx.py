"""The ArcFace-style ONNX embedder's plumbing, on tiny models built here (no ArcFace
weights exist offline, so no quality claims)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from unseen.errors import InputFileError
from unseen.faces.embedders import Embedder, Metric, similarity_threshold
from unseen.faces.embedders.align import ARCFACE_TEMPLATE, align
from unseen.faces.embedders.arcface import PROVIDERS, ArcFaceONNX, PixelScaling
from unseen.faces.registry import build_embedder
from unseen.faces.types import Detections


def _save(path, nodes, input_shape, output_shape, initializers=()):
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, output_shape)],
        initializer=list(initializers),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def channel_means_model(path, input_shape=("N", 3, 112, 112), *, normalises_inside=False):
    """Embedding = each channel's mean over the crop (3-D), optionally after x * 2 - 1."""
    nodes, first = [], "input"
    initializers = []
    if normalises_inside:
        initializers = [helper.make_tensor("half", TensorProto.FLOAT, [], [0.5]),
                        helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])]
        nodes += [helper.make_node("Sub", ["input", "half"], ["centred"], name="_minus0"),
                  helper.make_node("Mul", ["centred", "two"], ["scaled"], name="_mul0")]
        first = "scaled"
    nodes += [helper.make_node("GlobalAveragePool", [first], ["pooled"]),
              helper.make_node("Flatten", ["pooled"], ["embedding"])]
    return _save(path, nodes, input_shape, [input_shape[0], 3], initializers)


def _face_image():
    """A synthetic image with a tilted 'face': the template's five points, coloured regions."""
    rng = np.random.default_rng(3)
    image = rng.integers(0, 255, (200, 240, 3), dtype=np.uint8)
    angle = np.deg2rad(15)
    rotation = 1.4 * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    landmarks = (ARCFACE_TEMPLATE - 56) @ rotation.T + [120, 100]
    faces = Detections(xyxy=[[40, 20, 200, 190], [0, 0, 30, 30]], score=[0.9, 0.8],
                       landmarks=[landmarks, landmarks * 0.2])
    return image, faces


def test_arcface_embeds_aligned_crops_scaled_as_insightface(tmp_path):
    embedder = ArcFaceONNX(model_path=channel_means_model(tmp_path / "means.onnx"))
    assert isinstance(embedder, Embedder)
    image, faces = _face_image()
    templates = embedder.embed(image, faces)
    assert templates.shape == (2, 3) and templates.dtype == np.float32
    assert embedder.dimension == 3
    crops = align(image, faces.landmarks, size=112).astype(np.float64)
    expected = ((crops - 127.5) / 127.5).mean(axis=(1, 2))
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(templates, expected, atol=1e-5)
    assert embedder.metric == Metric.COSINE
    assert similarity_threshold(embedder) is None


def test_a_graph_that_normalises_its_input_gets_raw_pixels(tmp_path):
    model = ArcFaceONNX(model_path=channel_means_model(tmp_path / "raw.onnx", normalises_inside=True))
    image, faces = _face_image()
    templates = model.embed(image, faces)
    crops = align(image, faces.landmarks, size=112).astype(np.float64)
    expected = ((crops - 0.5) * 2).mean(axis=(1, 2))
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(templates, expected, atol=1e-5)
    assert model._scaling == PixelScaling.RAW


def test_a_model_with_batch_size_one_runs_face_by_face(tmp_path):
    image, faces = _face_image()
    batched = ArcFaceONNX(model_path=channel_means_model(tmp_path / "n.onnx")).embed(image, faces)
    single = ArcFaceONNX(model_path=channel_means_model(tmp_path / "one.onnx", (1, 3, 112, 112))).embed(image, faces)
    np.testing.assert_allclose(single, batched, atol=1e-6)


def test_no_faces_and_faces_without_landmarks(tmp_path):
    embedder = ArcFaceONNX(model_path=channel_means_model(tmp_path / "m.onnx"))
    empty = embedder.embed(np.zeros((50, 50, 3), np.uint8), Detections.empty())
    assert empty.shape == (0, 3) and empty.dtype == np.float32
    image, faces = _face_image()
    boxes_only = embedder.embed(image, Detections(xyxy=faces.xyxy, score=faces.score))
    assert boxes_only.shape == (2, 3) and np.all(np.isfinite(boxes_only))


def test_providers_are_named_explicitly(tmp_path):
    embedder = ArcFaceONNX(model_path=channel_means_model(tmp_path / "m.onnx"))
    used = embedder._model().get_providers()
    assert used and set(used) <= set(PROVIDERS)
    assert "CPUExecutionProvider" in used


def test_the_registry_builds_it_with_a_model_path(tmp_path):
    embedder = build_embedder("arcface-onnx", model_path=channel_means_model(tmp_path / "m.onnx"))
    assert isinstance(embedder, ArcFaceONNX)
    assert embedder._session is None  # nothing loaded until first use


def test_a_missing_file_is_reported_at_once(tmp_path):
    missing = tmp_path / "nowhere.onnx"
    with pytest.raises(InputFileError, match=r"nowhere\.onnx: no such ONNX model file; pass the path"):
        ArcFaceONNX(model_path=missing)


@pytest.mark.parametrize("content", [b"", b"this is a text file\n", bytes(range(256)) * 4])
def test_a_file_that_is_not_onnx_is_reported_with_its_name(tmp_path, content):
    path = tmp_path / "weights.onnx"
    path.write_bytes(content)
    embedder = ArcFaceONNX(model_path=path)
    with pytest.raises(InputFileError, match=r"weights\.onnx: not an ONNX model"):
        embedder.embed(np.zeros((20, 20, 3), np.uint8), Detections.empty())


@pytest.mark.parametrize("shape", [("N", 3, 224, 224), ("N", 112, 112, 3), (1, 1, 112, 112)])
def test_a_model_with_the_wrong_input_shape_is_refused(tmp_path, shape):
    embedder = ArcFaceONNX(model_path=channel_means_model(tmp_path / "wrong.onnx", shape))
    with pytest.raises(InputFileError, match=r"wrong\.onnx: .*expected one input of shape \(N, 3, 112, 112\)"):
        embedder.embed(np.zeros((20, 20, 3), np.uint8), Detections.empty())


def test_a_model_path_of_the_wrong_type_is_refused():
    from unseen.errors import ConfigError

    with pytest.raises(ConfigError, match="model_path"):
        ArcFaceONNX(model_path=42)
