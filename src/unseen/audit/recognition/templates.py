"""A templates file: each model's templates by image digest, and how they were made.

One ``.npz`` file (no pickled objects): per model ``m{i}_keys`` (image SHA-256),
``m{i}_templates`` (float32) and ``m{i}_failed`` (no face found), and ``meta``, a JSON text
``{"schema": ..., "models": [{"settings": {...}}, ...]}``. A model's templates are reused
only when they were made the same way (`TemplateSettings`). The file holds biometric
templates of the people in the photos: it is written only where the user asks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from unseen.errors import ConfigError, InputFileError
from unseen.media.files import write_atomic

TEMPLATES_SCHEMA = "unseen.templates/1"


@dataclass(frozen=True)
class TemplateSettings:
    """What a model's templates depend on. The detector fields are None when faces are the
    whole image (no detector); such templates are then recorded without them."""

    model: str
    faces: str
    detector: str | None = None
    detection_side: int | None = None
    detection_threshold: float | None = None
    unseen_version: str = ""

    @property
    def detected(self) -> bool:
        return self.detector is not None

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"model": self.model, "faces": self.faces}
        if self.detected:
            record.update(detector=self.detector, detection_side=self.detection_side,
                          detection_threshold=self.detection_threshold)
        record["unseen_version"] = self.unseen_version
        return record

    @classmethod
    def from_record(cls, record: Any) -> TemplateSettings:
        if not isinstance(record, dict) or not isinstance(record.get("model"), str) or "faces" not in record:
            raise ValueError(f"template settings need a model and a face source, got {record!r}")
        return cls(model=record["model"], faces=str(record["faces"]), detector=record.get("detector"),
                   detection_side=record.get("detection_side"), detection_threshold=record.get("detection_threshold"),
                   unseen_version=str(record.get("unseen_version", "")))

    def differences(self, other: TemplateSettings) -> list[tuple[str, Any, Any]]:
        """``(setting, mine, other's)`` for every setting the two records disagree on."""
        mine, theirs = self.to_record(), other.to_record()
        return [(name, mine.get(name), theirs.get(name)) for name in sorted(set(mine) | set(theirs))
                if mine.get(name) != theirs.get(name)]


@dataclass
class ModelTemplates:
    """One model's block of the file: a row per image digest, in the order added."""

    settings: TemplateSettings
    keys: list[str] = field(default_factory=list)
    templates: list[np.ndarray] = field(default_factory=list)
    failed: list[bool] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, key: str, template: np.ndarray | None, *, dimension: int) -> bool:
        """Keep ``template`` (None: failure to enrol) of image ``key``; False when it was kept already."""
        if key in self.rows:
            return False
        self.rows[key] = len(self.keys)
        self.keys.append(key)
        self.templates.append(np.zeros(dimension, np.float32) if template is None
                              else np.asarray(template, np.float32).reshape(dimension))
        self.failed.append(template is None)
        return True

    def get(self, key: str) -> tuple[bool, np.ndarray | None] | None:
        """``(failed, template)`` of image ``key`` (template None when it failed), or None."""
        row = self.rows.get(key)
        if row is None:
            return None
        failed = self.failed[row]
        return failed, None if failed else self.templates[row]

    def to_arrays(self, index: int) -> dict[str, np.ndarray]:
        return {f"m{index}_keys": np.asarray(self.keys, dtype="<U64"),
                f"m{index}_templates": np.stack(self.templates).astype(np.float32),
                f"m{index}_failed": np.asarray(self.failed, bool)}

    @classmethod
    def from_arrays(cls, settings: TemplateSettings, archive: Any, index: int) -> ModelTemplates:
        keys = [str(k) for k in archive[f"m{index}_keys"]]
        return cls(settings=settings, keys=keys, templates=list(archive[f"m{index}_templates"]),
                   failed=[bool(v) for v in archive[f"m{index}_failed"]], rows={k: r for r, k in enumerate(keys)})


class TemplateStore:
    """Templates by image digest, for each model and the settings they were made with.
    Load with `TemplateStore.open`; nothing is written until `save`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._blocks: dict[str, ModelTemplates] = {}
        self._dirty = False

    @classmethod
    def open(cls, path: str | Path) -> TemplateStore:
        store = cls(Path(path))
        if store.path.exists():
            store._read()
        elif not store.path.parent.is_dir():
            raise ConfigError(f"--templates: the folder {store.path.parent} does not exist")
        return store

    def _read(self) -> None:
        try:
            with np.load(self.path, allow_pickle=False) as archive:
                meta = json.loads(str(archive["meta"]))
                if meta.get("schema") != TEMPLATES_SCHEMA:
                    raise InputFileError(f"{self.path}: not an unseen templates file (schema {meta.get('schema')!r})")
                for i, block in enumerate(meta["models"]):
                    settings = TemplateSettings.from_record(block["settings"])
                    self._blocks[settings.model] = ModelTemplates.from_arrays(settings, archive, i)
        except InputFileError:
            raise
        except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as error:
            raise InputFileError(f"{self.path}: not a readable templates file ({error}); name another "
                                 "--templates file") from None

    def models(self) -> tuple[str, ...]:
        return tuple(self._blocks)

    def __len__(self) -> int:
        return sum(len(block) for block in self._blocks.values())

    def check(self, settings: TemplateSettings) -> None:
        """Raise when this file holds templates of the same model made another way."""
        block = self._blocks.get(settings.model)
        if block is None or block.settings == settings:
            return
        differ = settings.differences(block.settings)
        raise ConfigError(
            f"--templates {self.path}: its {settings.model} templates were made with "
            + ", ".join(f"{name}={theirs!r}" for name, _, theirs in differ) + "; this run asks for "
            + ", ".join(f"{name}={mine!r}" for name, mine, _ in differ)
            + ". Name another templates file (or delete this one) to embed again.")

    def get(self, model: str, key: str) -> tuple[bool, np.ndarray | None] | None:
        """``(failed, template)`` stored for image ``key`` (template None when it failed),
        or None when the image is not stored for this model."""
        block = self._blocks.get(model)
        return None if block is None else block.get(key)

    def put(self, settings: TemplateSettings, key: str, template: np.ndarray | None, *, dimension: int) -> None:
        """Keep ``template`` (None: failure to enrol) of image ``key`` for ``settings.model``."""
        block = self._blocks.setdefault(settings.model, ModelTemplates(settings))
        self._dirty |= block.add(key, template, dimension=dimension)

    def save(self) -> Path:
        """Write the file atomically (only when something was added)."""
        if not self._dirty:
            return self.path
        arrays: dict[str, np.ndarray] = {}
        for i, block in enumerate(self._blocks.values()):
            arrays.update(block.to_arrays(i))
        meta = {"schema": TEMPLATES_SCHEMA,
                "models": [{"settings": block.settings.to_record()} for block in self._blocks.values()]}
        arrays["meta"] = np.array(json.dumps(meta))

        def write(temporary: Path) -> None:
            with temporary.open("wb") as handle:
                np.savez(handle, **arrays)

        write_atomic(self.path, write)
        self._dirty = False
        return self.path
