"""The images mode end to end: enrol with each model, compare, audit, report enrolment failures.

A manifest with no mated pairs (every image a different person) is an FMR-only audit: the
same analysis, with the report saying that nothing is measured about failures to recognise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from unseen.audit.enrolment import EnrolConfig, Enrolment, FaceSource, TemplateStore, enrol_images, settings_text
from unseen.audit.scoring import (
    DEFAULT_MAX_NONMATED,
    FailureToEnrol,
    Manifest,
    comparisons_from_images,
    failure_to_enrol,
)
from unseen.audit.verification import (
    OperatingPoint,
    ThresholdPolicy,
    VerificationAudit,
    VerificationConfig,
    audit_verification,
)
from unseen.errors import ConfigError

TOO_FEW_PEOPLE = 100
"""Below this many people in a group, a report says the sample tests the pipeline only."""


@dataclass(frozen=True)
class ImagesConfig:
    """Options of the images mode that travel together.

    ``customary``: also audit each model at its customary threshold (a fixed threshold,
    beside the target-FMR ones). ``templates``: a ``.npz`` file to reuse and keep templates
    in (see `unseen.audit.enrolment.TemplateStore`); None keeps nothing.
    """

    enrol: EnrolConfig = field(default_factory=EnrolConfig)
    customary: bool = True
    max_nonmated: int = DEFAULT_MAX_NONMATED
    templates: Path | None = None

    def __post_init__(self) -> None:
        if self.max_nonmated < 1:
            raise ConfigError(f"--max-nonmated: expected at least 1, got {self.max_nonmated}")


@dataclass(frozen=True)
class ImagesAudit:
    audit: VerificationAudit
    enrolments: tuple[Enrolment, ...]
    failures: tuple[FailureToEnrol, ...]
    caveats: tuple[str, ...]
    enrolment_notes: tuple[str, ...]

    def failure_records(self) -> dict[str, Any]:
        """``{model: {attribute: {group: {images, failed, rate}}}}``."""
        out: dict[str, Any] = {}
        for f in self.failures:
            out.setdefault(f.model, {})[f.attribute] = {
                n: {"images": int(i), "failed": int(x), "rate": float(x / i) if i else None}
                for n, i, x in zip(f.names, f.images, f.failed)}
        return out

    def failure_rows(self) -> list[dict[str, Any]]:
        """One row per model, attribute and group (for tables)."""
        return [{"model": f.model, "attribute": f.attribute, "group": n, "images": int(i), "failed": int(x),
                 "rate": float(x / i) if i else None}
                for f in self.failures for n, i, x in zip(f.names, f.images, f.failed)]

    def report_extra(self) -> dict[str, Any]:
        """What the JSON report adds for the images mode."""
        return {"failure_to_enrol": self.failure_records(),
                "enrolment": {"notes": list(self.enrolment_notes),
                              "templates_reused": {e.model: e.reused for e in self.enrolments},
                              "customary_thresholds": {e.model: {"value": e.customary_threshold,
                                                                 "metric": e.metric.value}
                                                       for e in self.enrolments}},
                "caveats": list(self.caveats)}


def _people_caveats(manifest: Manifest, attributes: Sequence[str]) -> list[str]:
    from unseen.audit.scoring import image_labels

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


def _caveats(manifest: Manifest, comparisons, failures: Sequence[FailureToEnrol],
             attributes: Sequence[str]) -> tuple[str, ...]:
    caveats = _people_caveats(manifest, attributes)
    if comparisons.n_mated == 0:
        caveats.append("Each image is taken to be a different person, so every pair is non-mated: only false match "
                       "rates are measured, nothing about failing to recognise the same person (no FNMR). If the "
                       "same person appears twice (datasets have duplicates), their pair counts as a false match.")
    counted = set()
    for f in failures:
        if f.failed.sum() and f.model not in counted:
            counted.add(f.model)
            caveats.append(f"{f.model}: no face found in {int(f.failed.sum())} of {int(f.images.sum())} images "
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
                 progress: Callable[[int, int, str], None] | None = None,
                 build_embedder: Callable[[str], Any] | None = None,
                 build_detector: Callable[[str], Any] | None = None) -> ImagesAudit:
    """Enrol the manifest with every model, compare, and audit each model (at its customary
    threshold too when ``images.customary``). ``build_embedder``/``build_detector`` default
    to the model registry's."""
    from unseen.faces import registry

    if not models:
        raise ConfigError("--model: name at least one recognizer")
    if len(set(models)) != len(models):
        raise ConfigError(f"--model: each recognizer once, got {list(models)}")
    build_embedder = build_embedder or registry.build_embedder
    build_detector = build_detector or registry.build_detector
    embedders = {name: build_embedder(name) for name in models}
    detector = build_detector(images.enrol.detector) if images.enrol.faces is FaceSource.DETECT else None
    store = TemplateStore.open(images.templates) if images.templates is not None else None
    enrolments = enrol_images(manifest.paths, embedders=embedders, detector=detector, config=images.enrol,
                              store=store, progress=progress)
    comparisons = comparisons_from_images(manifest, enrolments, [embedders[m] for m in models],
                                          max_nonmated=images.max_nonmated, seed=config.seed)
    if images.customary:
        config = replace(config, operating_points=(*config.operating_points, *_customary_points(enrolments)))
    attributes = tuple(attributes or manifest.attributes)
    audit = audit_verification(comparisons, config=config, attributes=attributes, progress=progress)
    failures = tuple(failure_to_enrol(manifest, e, a) for e in enrolments for a in attributes)
    notes = [f"Faces: {settings_text(images.enrol)}."]
    if store is not None:
        reused = ", ".join(f"{e.model} {e.reused}" for e in enrolments)
        notes.append(f"Templates kept in {store.path.name}; reused from earlier runs: {reused} of {len(manifest)} "
                     "images.")
    return ImagesAudit(audit, enrolments, failures, _caveats(manifest, comparisons, failures, attributes),
                       tuple(notes))
