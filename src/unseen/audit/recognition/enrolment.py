"""Enrolment for the images mode: each image of a manifest -> one face -> one template per model.

The face of an image is the largest face the detector finds. Detection runs on a copy whose
long side is at most ``detection_side`` (faces in enrolment photos are large; this keeps a
50-megapixel photo fast), and the face is embedded from the full-size image. With
``FaceSource.WHOLE_IMAGE`` there is no detector: the whole image is taken to be one face
already cropped (datasets of aligned crops), and each recognizer finds its own landmarks in it.

An image with no face is a *failure to enrol*: counted per group and reported, never dropped
silently. Each image is read and searched once; every model embeds the same face.

Templates can be kept in a file the user names (`unseen.audit.recognition.templates`), so that a rerun of the
analysis, or a run cut short, does not embed again. Rows are keyed by the image's content
(SHA-256), so renaming or reordering the manifest reuses them and a changed image is embedded
afresh; a model's templates are reused only when they were made the same way (recognizer,
face source, detector and its settings, unseen version). The file holds biometric templates
of the people in the photos: it is written only where the user asks, and deserves the same
care as the photos themselves.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Protocol

import numpy as np

import unseen
from unseen.audit.recognition.comparisons import ScoreScale
from unseen.audit.recognition.manifest import Manifest, image_labels
from unseen.audit.recognition.templates import TemplateSettings, TemplateStore
from unseen.audit.stats.rates import Group, RateTable
from unseen.choices import Choice
from unseen.errors import ConfigError, InputFileError
from unseen.faces.detect import largest_face
from unseen.faces.embedders.base import Metric, similarity_threshold
from unseen.faces.types import Detections
from unseen.media.files import file_digest
from unseen.progress import SILENT, Progress

CHECKPOINT_EVERY = 200
"""A templates file is saved after this many newly embedded images (and at the end)."""


class FaceSource(Choice):
    """Where an image's face comes from."""

    DETECT = "detect"            # the largest face the detector finds
    WHOLE_IMAGE = "whole-image"  # the image is one face, already cropped


@dataclass(frozen=True)
class EnrolConfig:
    """How faces are found before embedding (see the module text)."""

    faces: FaceSource = FaceSource.DETECT
    detector: str = "centerface"
    detection_side: int = 1024
    detection_threshold: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "faces", FaceSource.parse(self.faces, "--faces"))
        if self.detection_side < 0:
            raise ConfigError(f"--detection-side: expected 0 (native size) or a positive number of pixels, "
                              f"got {self.detection_side}")
        if self.detection_threshold is not None and not 0.0 <= self.detection_threshold <= 1.0:
            raise ConfigError(f"--detection-threshold: expected a score between 0 and 1, got "
                              f"{self.detection_threshold}")

    def settings(self, model: str) -> TemplateSettings:
        """What a template of ``model`` depends on: templates made otherwise are not reused."""
        detected = self.faces is FaceSource.DETECT
        return TemplateSettings(model=model, faces=self.faces.value, detector=self.detector if detected else None,
                                detection_side=self.detection_side if detected else None,
                                detection_threshold=self.detection_threshold if detected else None,
                                unseen_version=unseen.__version__)


@dataclass(frozen=True)
class Enrolment:
    """One model's templates: ``templates[i]`` belongs to image ``image_index[i]``;
    ``failed[j]`` is True when image ``j`` gave no face (failure to enrol).
    ``similarity_threshold`` is the model's customary cut-off on the similarity scale,
    ``customary_threshold`` the same in the model's own ``metric``."""

    model: str
    templates: np.ndarray
    image_index: np.ndarray
    failed: np.ndarray
    similarity_threshold: float | None
    customary_threshold: float | None
    metric: Metric
    reused: int = 0

    @property
    def scale(self) -> ScoreScale:
        """How the model's scores read to a person: distances for a euclidean model."""
        return ScoreScale.DISTANCE if self.metric is Metric.EUCLIDEAN else ScoreScale.SIMILARITY

    @property
    def customary_label(self) -> str:
        unit = "distance" if self.scale is ScoreScale.DISTANCE else "similarity"
        return f"customary {unit} {self.customary_threshold:g}"


def enrolment_models(models: Sequence[str], config: EnrolConfig, *,
                     build_embedder: Callable[[str], Any] | None = None,
                     build_detector: Callable[[str], Any] | None = None) -> tuple[dict[str, Any], Any]:
    """The recognizers named in ``models`` (each once) and the detector ``config`` asks for
    (None when faces are not detected), built by the model registry unless builders are given."""
    from unseen.faces import registry

    if not models:
        raise ConfigError("--model: name at least one recognizer")
    if len(set(models)) != len(models):
        raise ConfigError(f"--model: each recognizer once, got {list(models)}")
    build_embedder = build_embedder or registry.build_embedder
    build_detector = build_detector or registry.build_detector
    embedders = {name: build_embedder(name) for name in models}
    detector = build_detector(config.detector) if config.faces is FaceSource.DETECT else None
    return embedders, detector


def image_digest(path: Path) -> str:
    """SHA-256 of an image file's bytes (hex): the key of its templates."""
    try:
        return file_digest(path).hex()
    except OSError as error:
        raise InputFileError(f"{path}: cannot read ({error.strerror or error})") from None


def _face_of(image: np.ndarray, detector: Any, config: EnrolConfig) -> Detections:
    """The one face of ``image`` to embed (empty when none is found)."""
    height, width = image.shape[:2]
    if config.faces is FaceSource.WHOLE_IMAGE:
        return Detections(xyxy=[[0, 0, width, height]], score=[1.0], source="whole-image")
    return largest_face(image, detector, max_side=config.detection_side or None,
                        threshold=config.detection_threshold)


@dataclass(frozen=True)
class EnrolJob:
    """One image to read, search once for its face, and embed with ``models`` (those whose
    template is not stored yet)."""

    index: int
    path: Path
    models: tuple[str, ...]


Templates = dict[str, "np.ndarray | None"]
"""One image's template per model (None: no face found, a failure to enrol)."""


def embed_image(path: Path, *, embedders: Mapping[str, Any], detector: Any, config: EnrolConfig,
                models: Sequence[str]) -> Templates:
    """The templates of ``path``'s face by each of ``models`` (all None when no face is found)."""
    from unseen.media.image import load

    if config.faces is FaceSource.DETECT and detector is None:
        raise ConfigError(f"detector: {Path(path).name} has no stored template, and finding its face "
                          "needs a detector (or faces taken from the whole image)")
    image = load(path).rgb
    face = _face_of(image, detector, config)
    return {name: (np.asarray(embedders[name].embed(image, face)[0], np.float32) if len(face) else None)
            for name in models}


class Embedding(Protocol):
    """Runs `EnrolJob`s somewhere (this process, worker processes, a cluster) and yields
    their templates in the jobs' order."""

    def map(self, jobs: Sequence[EnrolJob]) -> Iterator[Templates]: ...


class LocalEmbedding:
    """In this process, one image at a time, as its result is asked for."""

    def __init__(self, embedders: Mapping[str, Any], detector: Any, config: EnrolConfig) -> None:
        self.embedders, self.detector, self.config = embedders, detector, config

    def map(self, jobs: Sequence[EnrolJob]) -> Iterator[Templates]:
        for job in jobs:
            yield embed_image(job.path, embedders=self.embedders, detector=self.detector, config=self.config,
                              models=job.models)


class ProcessEmbedding:
    """``workers`` processes, each with its own detector and recognizers loaded once (built
    by ``build_embedder`` / ``build_detector``, which must be importable functions, such as
    the model registry's). Use as a context manager.

    Each worker keeps the libraries' own thread settings: the detector's results depend on
    its thread count at the level of float rounding, which moves FaceNet's templates by up
    to about 5e-5, so with fewer threads per worker the templates would not be this
    process's, bit for bit.
    """

    def __init__(self, models: Sequence[str], config: EnrolConfig, *, workers: int,
                 build_embedder: Callable[[str], Any], build_detector: Callable[[str], Any]) -> None:
        if workers < 2:
            raise ConfigError(f"--workers: ProcessEmbedding needs at least 2 workers, got {workers}")
        self.models, self.config, self.workers = tuple(models), config, workers
        self.builders = (build_embedder, build_detector)
        self._executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> ProcessEmbedding:
        try:
            pickle.dumps(self.builders)
        except (pickle.PicklingError, AttributeError, TypeError):
            raise ConfigError("--workers: the model builders cannot be sent to worker processes (use functions "
                              "defined at module level, e.g. the model registry's), or use one worker") from None
        self._executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=get_context("spawn"),
                                             initializer=_start_enrolment_worker,
                                             initargs=(self.models, self.config, *self.builders))
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=kind is None, cancel_futures=True)
            self._executor = None

    def map(self, jobs: Sequence[EnrolJob]) -> Iterator[Templates]:
        if self._executor is None:
            raise ConfigError("ProcessEmbedding: use it in a with-block")
        return self._executor.map(_embed_in_worker, jobs, chunksize=4)


_worker_models: tuple[Mapping[str, Any], Any, EnrolConfig] | None = None
"""A worker process's recognizers, detector and settings (set once by `_start_enrolment_worker`)."""


def _start_enrolment_worker(models: tuple[str, ...], config: EnrolConfig, build_embedder: Callable[[str], Any],
                            build_detector: Callable[[str], Any]) -> None:
    global _worker_models
    detector = build_detector(config.detector) if config.faces is FaceSource.DETECT else None
    _worker_models = ({name: build_embedder(name) for name in models}, detector, config)


def _embed_in_worker(job: EnrolJob) -> Templates:
    assert _worker_models is not None, "enrolment workers start with _start_enrolment_worker"
    embedders, detector, config = _worker_models
    return embed_image(job.path, embedders=embedders, detector=detector, config=config, models=job.models)


def enrol_images(paths: Sequence[Path], *, embedders: Mapping[str, Any], detector: Any,
                 config: EnrolConfig = EnrolConfig(), store: TemplateStore | None = None,
                 digests: Sequence[str] | None = None, progress: Progress = SILENT,
                 checkpoint_every: int = CHECKPOINT_EVERY, embedding: Embedding | None = None) -> tuple[Enrolment, ...]:
    """Templates of every image for every model in ``embedders`` (name -> embedder).

    ``detector`` is not used (and may be None) with ``FaceSource.WHOLE_IMAGE`` or when every
    image is in ``store``. Images found
    in ``store`` are not read again; new templates are added to it and saved every
    ``checkpoint_every`` images and at the end, also when the run is interrupted.
    ``digests``: the images' `image_digest` when already known (else computed when there
    is a store). ``Enrolment.reused`` counts templates taken from the store as
    it was opened (a file seen twice in one run is embedded once but not counted).
    ``embedding``: where the images are embedded (default: here, `LocalEmbedding`; also
    `ProcessEmbedding`, or a Ray cluster's in `unseen.distributed`); the results are the same.
    """
    if not embedders:
        raise ConfigError("--model: name at least one recognizer")
    settings = {name: config.settings(name) for name in embedders}
    if store is not None:
        for name in embedders:
            store.check(settings[name])
    n = len(paths)
    if digests is not None and len(digests) != n:
        raise ConfigError(f"digests: expected one per image ({n}), got {len(digests)}")
    keys = [(digests[i] if digests is not None else image_digest(path)) if store is not None else ""
            for i, path in enumerate(paths)]
    jobs, planned = [], set()
    for i, path in enumerate(paths):
        missing = tuple(name for name in embedders if store is None or store.get(name, keys[i]) is None)
        if missing and not (store is not None and keys[i] in planned):   # the same file twice: embedded once
            jobs.append(EnrolJob(i, Path(path), missing))
            planned.add(keys[i])
    embedding = embedding or LocalEmbedding(embedders, detector, config)
    rows: dict[str, list[np.ndarray]] = {name: [] for name in embedders}
    index: dict[str, list[int]] = {name: [] for name in embedders}
    failed = {name: np.zeros(n, bool) for name in embedders}
    reused = dict.fromkeys(embedders, 0)
    added: set[str] = set()
    since_save = 0
    progress.start(n, unit="images", description="enrolling")
    results = iter(embedding.map(jobs))
    pending = iter(jobs)
    job = next(pending, None)
    try:
        for i in range(n):
            computed: Templates = {}
            if job is not None and job.index == i:
                computed = next(results)
                job = next(pending, None)
            for name, embedder in embedders.items():
                if name in computed:
                    template = computed[name]
                    if store is not None:
                        store.put(settings[name], keys[i], template, dimension=int(embedder.dimension))
                        added.add(keys[i])
                else:
                    was_failed, template = store.get(name, keys[i])
                    template = None if was_failed else template
                    reused[name] += keys[i] not in added
                if template is None:
                    failed[name][i] = True
                else:
                    rows[name].append(np.asarray(template, np.float32))
                    index[name].append(i)
            since_save += bool(computed)
            if store is not None and since_save >= checkpoint_every:
                store.save()
                since_save = 0
            progress.advance()
    finally:
        if store is not None:
            store.save()
    return tuple(_enrolment(name, embedder, rows[name], index[name], failed[name], reused[name])
                 for name, embedder in embedders.items())


def _enrolment(name: str, embedder: Any, rows: list[np.ndarray], index: list[int], failed: np.ndarray,
               reused: int) -> Enrolment:
    dimension = int(embedder.dimension)
    templates = np.stack(rows) if rows else np.zeros((0, dimension), np.float32)
    return Enrolment(model=name, templates=templates, image_index=np.asarray(index, np.int64), failed=failed,
                     similarity_threshold=similarity_threshold(embedder),
                     customary_threshold=embedder.customary_threshold, metric=Metric(embedder.metric),
                     reused=reused)


def settings_text(config: EnrolConfig) -> str:
    """One line for a report: how faces were found."""
    if config.faces is FaceSource.WHOLE_IMAGE:
        return "each image taken as one face already cropped (no detector); landmarks from each recognizer"
    side = f"a copy at most {config.detection_side} px on its long side" if config.detection_side else "full size"
    return (f"largest face found by {config.detector} (run on {side}"
            + (f", threshold {config.detection_threshold:g}" if config.detection_threshold is not None else "")
            + "), embedded from the full-size image")



@dataclass(frozen=True)
class FailureToEnrol:
    """One model's failures to enrol: per group of each attribute, images without a face
    found (events) out of images (trials)."""

    model: str
    rates: RateTable

    def to_record(self) -> dict[str, dict[str, dict[str, Any]]]:
        """``{attribute: {group: {images, failed, rate}}}`` (rate None for an empty group)."""
        record: dict[str, dict[str, dict[str, Any]]] = {}
        for rate in self.rates:
            record.setdefault(rate.group.attribute, {})[rate.group.label] = {
                "images": rate.n, "failed": rate.k, "rate": float(rate.k / rate.n) if rate.n else None}
        return record

    def rows(self) -> list[dict[str, Any]]:
        """One table row per attribute and group."""
        return [{"model": self.model, "attribute": attribute, "group": group, **counts}
                for attribute, groups in self.to_record().items() for group, counts in groups.items()]


def failure_to_enrol(manifest: Manifest, enrolment: Enrolment, attributes: Sequence[str]) -> FailureToEnrol:
    """Images and failures to enrol of one model, per group of each of ``attributes``."""
    tables = []
    for attribute in attributes:
        labels = image_labels(manifest, attribute)
        names = tuple(sorted(set(labels.tolist())))
        tables.append(RateTable.counted([Group(attribute=attribute, label=name) for name in names],
                                        np.array([labels == name for name in names]).reshape(len(names), -1),
                                        enrolment.failed))
    return FailureToEnrol(enrolment.model, RateTable.joined(tables))
