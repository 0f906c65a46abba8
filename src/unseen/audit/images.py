"""The images mode end to end: enrol with each model, compare, audit, report enrolment failures."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from unseen.audit.scoring import (
    DEFAULT_MAX_NONMATED,
    FailureToEnrol,
    Manifest,
    comparisons_from_images,
    enrol,
    failure_to_enrol,
)
from unseen.audit.verification import OperatingPoint, VerificationAudit, VerificationConfig, audit_verification

TOO_FEW_PEOPLE = 100
"""Below this many people in a group, a report says the sample tests the pipeline only."""


@dataclass(frozen=True)
class ImagesAudit:
    audit: VerificationAudit
    failures: tuple[FailureToEnrol, ...]
    caveats: tuple[str, ...]

    def failure_records(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.failures:
            out.setdefault(f.model, {})[f.attribute] = {
                n: {"images": int(i), "failed": int(x), "rate": float(x / i) if i else None}
                for n, i, x in zip(f.names, f.images, f.failed)}
        return out


def _caveats(manifest: Manifest, comparisons, failures: Sequence[FailureToEnrol]) -> tuple[str, ...]:
    caveats = []
    people = len(set(manifest.subjects.tolist()))
    for i, attribute in enumerate(manifest.attributes):
        labels = manifest.labels[:, i]
        per_group = {g: len(set(manifest.subjects[labels == g].tolist())) for g in set(labels.tolist())}
        small = {g: n for g, n in per_group.items() if n < TOO_FEW_PEOPLE}
        if small:
            caveats.append(f"Too small for a bias figure: {people} people in all; by {attribute}, "
                           + ", ".join(f"{g} {n}" for g, n in sorted(small.items()))
                           + f" (fewer than {TOO_FEW_PEOPLE} people). Read this as a test of the pipeline.")
    if comparisons.n_mated == 0:
        caveats.append("Each image is taken to be a different person, so every pair is non-mated: only false match "
                       "rates are measured. If the same person appears twice, their pair counts as a false match.")
    for f in failures:
        if f.failed.sum():
            caveats.append(f"{f.model}: no face found in {int(f.failed.sum())} of {int(f.images.sum())} images "
                           "(failure to enrol, per group in the JSON); those images are left out of every pair.")
            break
    for attribute in manifest.attributes:
        source = dict(manifest.label_sources).get(attribute, "not stated")
        caveats.append(f"Labels '{attribute}': {source}.")
    return tuple(caveats)


def audit_images(manifest: Manifest, *, models: Sequence[str], build_embedder: Callable[[str], Any], detector: Any,
                 config: VerificationConfig = VerificationConfig(), customary: bool = True,
                 attributes: Sequence[str] | None = None, max_nonmated: int = DEFAULT_MAX_NONMATED,
                 progress: Callable[[int, int, str], None] | None = None) -> ImagesAudit:
    """Enrol the manifest with every model, compare, and audit each model (its customary
    threshold added as an operating point when ``customary``)."""
    embedders = [build_embedder(name) for name in models]
    enrolments = [enrol(manifest, embedder=e, detector=detector, model=name, progress=progress)
                  for name, e in zip(models, embedders)]
    comparisons = comparisons_from_images(manifest, enrolments, embedders, max_nonmated=max_nonmated,
                                          seed=config.seed)
    results, skipped = [], ()
    audit = None
    for enrolment in enrolments:
        points = list(config.operating_points)
        if customary and enrolment.similarity_threshold is not None:
            points.append(OperatingPoint(policy="fixed", threshold=enrolment.similarity_threshold,
                                         label=f"customary ({enrolment.metric} {enrolment.customary_threshold:g})"))
        model_config = dataclasses.replace(config, operating_points=tuple(points))
        audit = audit_verification(comparisons, config=model_config, models=[enrolment.model], attributes=attributes)
        results.extend(audit.results)
        skipped = audit.skipped_targets
    assert audit is not None
    combined = dataclasses.replace(audit, results=tuple(results), models=tuple(models), skipped_targets=skipped)
    failures = tuple(failure_to_enrol(manifest, e, a) for e in enrolments for a in manifest.attributes)
    return ImagesAudit(combined, failures, _caveats(manifest, comparisons, failures))
