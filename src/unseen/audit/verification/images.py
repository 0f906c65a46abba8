"""The images mode end to end: enrol with each model, compare, audit, report enrolment failures.

A manifest with no mated pairs (every image a different person) is an FMR-only audit: the
same analysis, with the report saying that nothing is measured about failures to recognise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from unseen.audit.recognition.comparisons import Provenance, label_codes
from unseen.audit.recognition.enrolment import (
    EnrolConfig, Enrolment, FailureToEnrol, ProcessEmbedding, enrol_images, enrolment_models, failure_to_enrol,
    image_digest, settings_text)
from unseen.audit.recognition.manifest import Manifest, image_labels
from unseen.audit.recognition.pairs import DEFAULT_MAX_NONMATED, comparisons_from_images, identical_files
from unseen.audit.recognition.templates import TemplateStore
from unseen.audit.scale import ScaleConfig
from unseen.audit.verification.audit import audit_verification
from unseen.audit.verification.config import BootstrapUnit, OperatingPoint, ThresholdPolicy, VerificationConfig
from unseen.audit.verification.results import VerificationAudit
from unseen.audit.verification.streaming import AllPairs, audit_all_pairs
from unseen.choices import Choice
from unseen.errors import ConfigError
from unseen.progress import SILENT, Progress

TOO_FEW_PEOPLE = 100
"""Below this many people in a group, a report says the sample tests the pipeline only."""

TABLE_BYTES_PER_PAIR = 360
"""Peak memory per pair of the audit of a listed table of pairs (2.8 GB for UTKFace's 7.9
million, with the bootstrap): above ``--memory`` the images mode streams instead."""


class Scoring(Choice):
    """How the images' pairs are compared: ``exact`` lists every pair (or a sample above
    ``--max-nonmated``) in a table; ``streaming`` scores all of them in blocks and keeps only
    counts and the upper tail (`unseen.audit.verification.streaming`); ``auto`` streams when the
    table would not fit in ``--memory``."""

    AUTO = "auto"
    EXACT = "exact"
    STREAMING = "streaming"


@dataclass(frozen=True)
class ImagesConfig:
    """Options of the images mode that travel together.

    ``customary``: also audit each model at its customary threshold (a fixed threshold,
    beside the target-FMR ones). ``templates``: a ``.npz`` file to reuse and keep templates
    in (see `unseen.audit.recognition.templates`); None keeps nothing. ``scoring`` and
    ``scale``: whether pairs are listed or streamed (`Scoring`), and the memory, grid and
    hardware of streaming (``scale.memory_mib`` also decides ``auto``). ``max_nonmated``:
    the sample size of a listed table (streaming scores every pair). ``workers``: enrolment
    processes, each with the models loaded once.
    """

    enrol: EnrolConfig = field(default_factory=EnrolConfig)
    customary: bool = True
    max_nonmated: int = DEFAULT_MAX_NONMATED
    templates: Path | None = None
    scoring: Scoring = Scoring.AUTO
    scale: ScaleConfig = field(default_factory=lambda: ScaleConfig(fine_bins=1 << 16))
    workers: int = 1

    def __post_init__(self) -> None:
        if self.max_nonmated < 1:
            raise ConfigError(f"--max-nonmated: expected at least 1, got {self.max_nonmated}")
        if self.workers < 1:
            raise ConfigError(f"--workers: expected at least 1, got {self.workers}")
        object.__setattr__(self, "scoring", Scoring.parse(self.scoring, "--scoring"))


@dataclass(frozen=True)
class IdenticalCopy:
    """An image whose bytes equal an earlier image's: left out of every pair."""

    image: Path
    copy_of: Path
    labels: tuple[str, ...]
    labels_of_original: tuple[str, ...]

    def to_record(self) -> dict[str, Any]:
        return {"image": str(self.image), "copy_of": str(self.copy_of), "labels": list(self.labels),
                "labels_of_copy_of": list(self.labels_of_original)}


@dataclass(frozen=True)
class ImagesAudit:
    """The verification audit of the images' comparisons, and how the images were enrolled:
    per model its templates and its failures to enrol by group."""

    audit: VerificationAudit
    enrolments: tuple[Enrolment, ...]
    failures: tuple[FailureToEnrol, ...]
    caveats: tuple[str, ...]
    enrolment_notes: tuple[str, ...]
    copies: tuple[IdenticalCopy, ...] = ()
    paths: tuple[Path, ...] = ()

    def failure_rows(self) -> list[dict[str, Any]]:
        """One row per model, attribute and group (for tables)."""
        return [row for f in self.failures for row in f.rows()]

    def enrolment_record(self) -> dict[str, Any]:
        return {"notes": list(self.enrolment_notes),
                "templates_reused": {e.model: e.reused for e in self.enrolments},
                "customary_thresholds": {e.model: {"value": e.customary_threshold, "metric": e.metric.value}
                                         for e in self.enrolments}}

    def report_extra(self) -> dict[str, Any]:
        """What the JSON report adds for the images mode."""
        return {"failure_to_enrol": {f.model: f.to_record() for f in self.failures},
                "failure_to_enrol_images": {e.model: [str(self.paths[i]) for i in np.flatnonzero(e.failed)]
                                            for e in self.enrolments} if self.paths else {},
                "enrolment": self.enrolment_record(),
                "identical_copies_left_out": [c.to_record() for c in self.copies],
                "caveats": list(self.caveats)}


def _people_caveats(manifest: Manifest, attributes: Sequence[str]) -> list[str]:
    people = len(set(manifest.subjects.tolist()))
    caveats = []
    if people < TOO_FEW_PEOPLE:
        caveats.append(f"Far too small for any bias figure: {people} people in all (fewer than {TOO_FEW_PEOPLE}). "
                       "Read every number here as a test of the pipeline, not as a measurement of the models.")
    for attribute in attributes:
        labels = image_labels(manifest, attribute)
        per_group = {g: len(set(manifest.subjects[labels == g].tolist())) for g in set(labels.tolist())}
        small = {g: n for g, n in per_group.items() if n < TOO_FEW_PEOPLE}
        if small and people >= TOO_FEW_PEOPLE:
            caveats.append(f"By {attribute}, some groups are too small for a bias figure: "
                           + ", ".join(f"{g} {n} people" for g, n in sorted(small.items()))
                           + f" (fewer than {TOO_FEW_PEOPLE}).")
    return caveats


def _copies(manifest: Manifest, digests: Sequence[str]) -> tuple[IdenticalCopy, ...]:
    first = identical_files(digests)
    return tuple(IdenticalCopy(manifest.paths[i], manifest.paths[first[i]], tuple(manifest.labels[i]),
                               tuple(manifest.labels[first[i]]))
                 for i in np.flatnonzero(first >= 0))


def _copies_caveat(copies: Sequence[IdenticalCopy]) -> str:
    differ = [c for c in copies if c.labels != c.labels_of_original]
    text = (f"{len(copies)} image(s) are byte-identical copies of another image in the manifest (the same photo "
            "twice, e.g. " + ", ".join(f"{c.image.name} = {c.copy_of.name}" for c in copies[:3])
            + "); the copies are left out of every pair, which would otherwise compare a photo with itself.")
    if differ:
        text += (f" In {len(differ)} of them the two copies carry different labels ("
                 + "; ".join(f"{c.copy_of.name}: {'/'.join(c.labels_of_original)} vs {'/'.join(c.labels)}"
                             for c in differ[:3])
                 + "): the labels are noisy.")
    text += " Other photos of one person (not identical files) cannot be found this way and may remain."
    return text


def _caveats(manifest: Manifest, n_mated: int, enrolments: Sequence[Enrolment],
             attributes: Sequence[str], copies: Sequence[IdenticalCopy]) -> tuple[str, ...]:
    caveats = _people_caveats(manifest, attributes)
    if n_mated == 0:
        caveats.append("Each image is taken to be a different person, as the manifest says: where one person "
                       "appears in two photos (datasets have such duplicates), their pair counts as a false match, "
                       "so the false match rates here can only be too high, never too low, on that account.")
    if copies:
        caveats.append(_copies_caveat(copies))
    for e in enrolments:
        if e.failed.sum():
            caveats.append(f"{e.model}: no face found in {int(e.failed.sum())} of {len(e.failed)} images "
                           "(failure to enrol, per group below); those images are left out of every pair of every "
                           "model, so all models are compared on the same pairs.")
    for attribute in manifest.attributes:
        source = dict(manifest.label_sources).get(attribute, "not stated")
        caveats.append(f"Labels '{attribute}': {source}.")
    return tuple(caveats)


def _customary_points(enrolments: Sequence[Enrolment]) -> list[OperatingPoint]:
    return [OperatingPoint(policy=ThresholdPolicy.FIXED, threshold=e.similarity_threshold, label=e.customary_label,
                           model=e.model)
            for e in enrolments if e.similarity_threshold is not None]


def audit_images(manifest: Manifest, *, models: Sequence[str], config: VerificationConfig = VerificationConfig(),
                 images: ImagesConfig = ImagesConfig(), attributes: Sequence[str] | None = None,
                 progress: Progress = SILENT,
                 build_embedder: Callable[[str], Any] | None = None,
                 build_detector: Callable[[str], Any] | None = None, cluster: Any = None) -> ImagesAudit:
    """Enrol the manifest with every model, compare, and audit each model (at its customary
    threshold too when ``images.customary``). ``build_embedder``/``build_detector`` default
    to the model registry's. ``cluster``: an open cluster (`unseen.distributed.RayCluster`)
    whose actors enrol and whose tasks score; then ``auto`` scoring streams."""
    from unseen.faces import registry

    build_embedder = build_embedder or registry.build_embedder  # worker processes and Ray build their own
    build_detector = build_detector or registry.build_detector
    embedders, detector = enrolment_models(models, images.enrol, build_embedder=build_embedder,
                                           build_detector=build_detector)
    store = TemplateStore.open(images.templates) if images.templates is not None else None
    digests = [image_digest(path) for path in manifest.paths]
    copies = _copies(manifest, digests)
    with _embedding(models, images, cluster, build_embedder, build_detector) as embedding:
        enrolments = enrol_images(manifest.paths, embedders=embedders, detector=detector, config=images.enrol,
                                  store=store, digests=digests, progress=progress, embedding=embedding)
    if images.customary:
        config = replace(config, operating_points=(*config.operating_points, *_customary_points(enrolments)))
    attributes = tuple(attributes or manifest.attributes)
    exclude = identical_files(digests) >= 0
    if _streams(manifest, enrolments, exclude, config, images, cluster is not None):
        pairs = all_pairs(manifest, enrolments, [embedders[m] for m in models], exclude=exclude)
        audit = audit_all_pairs(pairs, config=config, scale=images.scale, attributes=attributes,
                                progress=progress, runner=cluster.runner() if cluster is not None else None)
        n_mated = pairs.n_mated
    else:
        comparisons = comparisons_from_images(manifest, enrolments, [embedders[m] for m in models],
                                              max_nonmated=images.max_nonmated, seed=config.seed,
                                              exclude=exclude)
        audit = audit_verification(comparisons, config=config, attributes=attributes, progress=progress)
        n_mated = comparisons.n_mated
    failures = tuple(failure_to_enrol(manifest, e, attributes) for e in enrolments)
    notes = [f"Faces: {settings_text(images.enrol)}."]
    if store is not None:
        reused = ", ".join(f"{e.model} {e.reused}" for e in enrolments)
        notes.append(f"Templates kept in {store.path.name}; reused from earlier runs: {reused} of {len(manifest)} "
                     "images.")
    return ImagesAudit(audit, enrolments, failures, _caveats(manifest, n_mated, enrolments, attributes, copies),
                       tuple(notes), copies, manifest.paths)


def _compared(manifest: Manifest, enrolments: Sequence[Enrolment], exclude: np.ndarray | None) -> np.ndarray:
    """The images every model enrolled and that are not left out (identical copies)."""
    enrolled = np.ones(len(manifest), bool)
    for enrolment in enrolments:
        enrolled &= ~enrolment.failed
    if exclude is not None:
        enrolled &= ~np.asarray(exclude, bool)
    return np.flatnonzero(enrolled)


def _embedding(models: Sequence[str], images: ImagesConfig, cluster: Any, build_embedder: Callable[[str], Any],
               build_detector: Callable[[str], Any]):
    """Where the images are embedded: the cluster's actors, worker processes, or here (None)."""
    if cluster is not None:
        return nullcontext(cluster.embedding(models, images.enrol, build_embedder=build_embedder,
                                             build_detector=build_detector))
    if images.workers > 1:
        return ProcessEmbedding(models, images.enrol, workers=images.workers, build_embedder=build_embedder,
                                build_detector=build_detector)
    return nullcontext(None)


def _streams(manifest: Manifest, enrolments: Sequence[Enrolment], exclude: np.ndarray, config: VerificationConfig,
             images: ImagesConfig, on_cluster: bool) -> bool:
    """Whether to stream: as asked, or (auto) on a cluster or when the table would not fit in
    memory, as far as the options allow (no whole-range threshold policy, no pair bootstrap)."""
    if images.scoring is not Scoring.AUTO:
        return images.scoring is Scoring.STREAMING
    n = len(_compared(manifest, enrolments, exclude))
    listed = n * (n - 1) // 2
    needs_table = (any(p.policy.needs_all_scores for p in config.operating_points)
                   or config.bootstrap_unit is BootstrapUnit.PAIR)
    return not needs_table and (on_cluster or listed * TABLE_BYTES_PER_PAIR > images.scale.memory_bytes)


def all_pairs(manifest: Manifest, enrolments: Sequence[Enrolment], embedders: Sequence[Any], *,
              exclude: np.ndarray | None = None) -> AllPairs:
    """The images every model enrolled (less those in ``exclude``), to be compared all
    against all by streaming: the counterpart of `comparisons_from_images`."""
    images = _compared(manifest, enrolments, exclude)
    if len(images) < 2:
        raise ConfigError("images: at least two enrolled images are needed to compare anything")
    templates = []
    for enrolment in enrolments:
        row_of = np.full(len(manifest), -1)
        row_of[enrolment.image_index] = np.arange(len(enrolment.image_index))
        templates.append(enrolment.templates[row_of[images]])
    subject_names, subjects = label_codes(manifest.subjects[images])
    labels = np.zeros((len(images), len(manifest.attributes)), np.int64)
    group_names = []
    for i in range(len(manifest.attributes)):
        names, codes = label_codes(manifest.labels[:, i])
        labels[:, i] = codes[images]
        group_names.append(names)
    left_out = int(np.sum(exclude)) if exclude is not None else 0
    note = (f"{len(images)} of {len(manifest)} images enrolled by every model"
            + (f" and compared ({left_out} identical copies left out)" if left_out else "")
            + "; every pair compared (scored in blocks, not listed)")
    provenance = Provenance(source=manifest.source, label_sources=manifest.label_sources, notes=(note,))
    return AllPairs(subjects=subjects, subject_names=subject_names, attributes=manifest.attributes, labels=labels,
                    group_names=tuple(group_names), models=tuple(e.model for e in enrolments),
                    templates=tuple(templates), embedders=tuple(embedders), scales=tuple(e.scale for e in enrolments),
                    provenance=provenance)
