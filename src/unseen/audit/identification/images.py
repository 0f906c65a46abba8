"""The templates / images mode: enrol the probe and gallery photos with each model, search
every probe against the gallery (exhaustive, `unseen.audit.identification.search`), and audit
the candidate lists exactly as a vendor's lists are audited.

Each photo is enrolled once, whichever table lists it; with a templates file
(``templates``) a rerun embeds nothing again (`unseen.audit.recognition.templates`). A
gallery photo in which no face is found is not in the gallery (reported per group); a probe
without a face is still a search that returns nothing. A probe is never its own candidate:
the same photo (same bytes) in the gallery is left out of its search, and byte-identical
copies inside the gallery are kept once.

The search runs over the gallery manifest given and nothing else: unseen audits search
systems on labelled audit data and offers no search of anyone outside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from unseen.audit.identification.audit import audit_identification
from unseen.audit.identification.candidates import NO_SAMPLE, CandidateLists
from unseen.audit.identification.config import IdentificationConfig
from unseen.audit.identification.results import IdentificationAudit
from unseen.audit.identification.samples import Samples, samples_from_manifest
from unseen.audit.identification.search import SearchConfig, search_gallery
from unseen.audit.recognition.enrolment import (
    EnrolConfig, Enrolment, FailureToEnrol, enrol_images, enrolment_models, image_digest, settings_text)
from unseen.audit.recognition.manifest import Manifest, image_labels
from unseen.audit.recognition.templates import TemplateStore
from unseen.audit.stats.rates import Group, RateTable
from unseen.progress import SILENT, Progress


@dataclass(frozen=True)
class SearchImagesConfig:
    """Options of the images mode that travel together: how faces are found (``enrol``), how
    the search runs (``search``) and where templates are kept (``templates``; None: nowhere)."""

    enrol: EnrolConfig = field(default_factory=EnrolConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    templates: Path | None = None


@dataclass(frozen=True)
class ImagesIdentification:
    """Per model: its candidate lists, its audit, and its failures to enrol (probes and gallery)."""

    lists: tuple[CandidateLists, ...]
    audits: tuple[IdentificationAudit, ...]
    probe_failures: tuple[FailureToEnrol, ...]
    gallery_failures: tuple[FailureToEnrol, ...]
    notes: tuple[str, ...]

    def failure_rows(self) -> list[dict[str, Any]]:
        return [{"table": table, **row} for table, failures in (("probes", self.probe_failures),
                                                                ("gallery", self.gallery_failures))
                for f in failures for row in f.rows()]

    def report_extra(self) -> dict[str, Any]:
        """What the JSON report adds for the images mode."""
        return {"failure_to_enrol": {"probes": {f.model: f.to_record() for f in self.probe_failures},
                                     "gallery": {f.model: f.to_record() for f in self.gallery_failures}},
                "enrolment_notes": list(self.notes)}


def _failures(manifest: Manifest, failed: np.ndarray, model: str, attributes: Sequence[str]) -> FailureToEnrol:
    tables = []
    for attribute in attributes:
        labels = image_labels(manifest, attribute)
        names = tuple(sorted(set(labels.tolist())))
        tables.append(RateTable.counted([Group(attribute=attribute, label=name) for name in names],
                                        np.array([labels == name for name in names]).reshape(len(names), -1), failed))
    return FailureToEnrol(model, RateTable.joined(tables))


@dataclass(frozen=True)
class _Photos:
    """The distinct photos of both tables (by content) and where each table's rows are."""

    paths: tuple[Path, ...]
    digests: tuple[str, ...]
    probe_photo: np.ndarray
    gallery_photo: np.ndarray


def _photos(probes: Manifest, gallery: Manifest) -> _Photos:
    first: dict[str, int] = {}
    paths: list[Path] = []
    rows = []
    for path in (*probes.paths, *gallery.paths):
        digest = image_digest(path)
        if digest not in first:
            first[digest] = len(paths)
            paths.append(path)
        rows.append(first[digest])
    rows = np.asarray(rows, np.int64)
    return _Photos(tuple(paths), tuple(first), rows[:len(probes)], rows[len(probes):])


def _gallery_rows(photos: _Photos, enrolment: Enrolment) -> tuple[np.ndarray, int]:
    """Gallery rows kept for ``enrolment``: enrolled, and the first row of each photo."""
    enrolled = ~enrolment.failed[photos.gallery_photo]
    _, first = np.unique(photos.gallery_photo, return_index=True)
    is_first = np.zeros(len(photos.gallery_photo), bool)
    is_first[first] = True
    return np.flatnonzero(enrolled & is_first), int(np.sum(enrolled & ~is_first))


def _model_lists(probes: Manifest, gallery: Manifest, photos: _Photos, enrolment: Enrolment, metric: Any,
                 config: SearchImagesConfig, progress: Progress) -> tuple[CandidateLists, list[str]]:
    template_of = np.full(len(photos.paths), -1, np.int64)
    template_of[enrolment.image_index] = np.arange(len(enrolment.image_index))
    kept, copies = _gallery_rows(photos, enrolment)
    probe_samples = samples_from_manifest(probes, role="probes")
    full_gallery = samples_from_manifest(gallery, role="gallery")
    gallery_samples = Samples(ids=full_gallery.ids[kept], subjects=full_gallery.subjects[kept],
                              attributes=full_gallery.attributes, labels=full_gallery.labels[kept], role="gallery",
                              label_sources=full_gallery.label_sources, source=full_gallery.source)
    gallery_of_photo = np.full(len(photos.paths), NO_SAMPLE, np.int64)
    gallery_of_photo[photos.gallery_photo[kept]] = np.arange(len(kept))
    probe_rows = np.flatnonzero(template_of[photos.probe_photo] >= 0)
    notes = []
    if copies:
        notes.append(f"{enrolment.model}: {copies} gallery photo(s) are byte-identical copies of another gallery "
                     "photo and were kept once")
    lists = search_gallery(probes=probe_samples, gallery=gallery_samples,
                           probe_templates=enrolment.templates[template_of[photos.probe_photo[probe_rows]]],
                           gallery_templates=enrolment.templates[template_of[photos.gallery_photo[kept]]],
                           metric=metric, config=config.search, probe_rows=probe_rows,
                           same_sample=gallery_of_photo[photos.probe_photo], system=enrolment.model,
                           progress=progress)
    return lists, notes


def audit_search_images(probes: Manifest, gallery: Manifest, *, models: Sequence[str],
                        config: IdentificationConfig = IdentificationConfig(),
                        images: SearchImagesConfig = SearchImagesConfig(), attributes: Sequence[str] | None = None,
                        progress: Progress = SILENT, build_embedder: Callable[[str], Any] | None = None,
                        build_detector: Callable[[str], Any] | None = None) -> ImagesIdentification:
    """Enrol both manifests with every model, search each probe against the gallery, and
    audit each model's lists. ``build_embedder`` / ``build_detector`` default to the model
    registry's."""
    embedders, detector = enrolment_models(models, images.enrol, build_embedder=build_embedder,
                                           build_detector=build_detector)
    store = TemplateStore.open(images.templates) if images.templates is not None else None
    attributes = tuple(attributes or probes.attributes)
    photos = _photos(probes, gallery)
    enrolments = enrol_images(photos.paths, embedders=embedders, detector=detector, config=images.enrol, store=store,
                              digests=photos.digests, progress=progress)
    notes = [f"Faces: {settings_text(images.enrol)}.",
             f"The search ran over the {len(gallery)} photos of the gallery manifest ({gallery.source}) and nothing "
             "else."]
    if store is not None:
        notes.append(f"Templates kept in {store.path.name}; reused from earlier runs: "
                     + ", ".join(f"{e.model} {e.reused}" for e in enrolments) + f" of {len(photos.paths)} photos.")
    all_lists, audits, probe_failures, gallery_failures = [], [], [], []
    for enrolment in enrolments:
        lists, model_notes = _model_lists(probes, gallery, photos, enrolment, embedders[enrolment.model].metric,
                                          images, progress)
        notes.extend(model_notes)
        all_lists.append(lists)
        audits.append(audit_identification(lists, config=config, attributes=attributes, progress=progress))
        probe_failures.append(_failures(probes, enrolment.failed[photos.probe_photo], enrolment.model, attributes))
        gallery_failures.append(_failures(gallery, enrolment.failed[photos.gallery_photo], enrolment.model,
                                          attributes))
    return ImagesIdentification(tuple(all_lists), tuple(audits), tuple(probe_failures), tuple(gallery_failures),
                                tuple(notes))
