"""Verification (1:1) audit: thresholds, per-group and cross-group FMR/FNMR, DET, d'.

The method is NIST FRVT Part 3's (AUDIT-METRICS.md): one global threshold t* set on *all*
non-mated comparisons for a target FMR (or given), then per group g

- FMR_g: non-mated pairs with both sides in g scoring >= t*, over all such pairs;
- FNMR_g: mated pairs in g scoring < t*, over all mated pairs in g;

a cross-group FMR matrix (rows enrolled group, columns probe group), each group's own
threshold for the same FMR (its *shift*), and summary measures with subject-level
bootstrap intervals in which t* is re-estimated in every replicate.

Conventions, everywhere: a comparison is a match when ``score >= threshold`` (ties at the
threshold match); target-FMR thresholds give an FMR *at most* the target
(`unseen.audit.verification.metrics.threshold_for_fmr`).

Everything is computed on weighted counts: a point estimate has weight 1 per pair, a
bootstrap replicate has weights from drawing subjects (or pairs) with replacement.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from unseen.audit.recognition.comparisons import Comparisons
from unseen.audit.stats import uncertainty
from unseen.audit.verification.config import BootstrapUnit, OperatingPoint, ThresholdPolicy, VerificationConfig
from unseen.audit.verification.engine import Engine, Replicates
from unseen.audit.verification.estimates import assemble, group_scores
from unseen.audit.verification.cells import PairData, pair_data
from unseen.audit.verification.results import ModelAttributeAudit, VerificationAudit
from unseen.audit.verification.weights import UnitWeighting, Weighting, replicate_blocks
from unseen.errors import ConfigError, unknown_choice
from unseen.progress import SILENT, Progress


def _choose_unit(comparisons: Comparisons, config: VerificationConfig) -> BootstrapUnit:
    if config.n_bootstrap == 0:
        return BootstrapUnit.NONE
    if config.bootstrap_unit is None:
        return BootstrapUnit.SUBJECT if comparisons.has_subjects else BootstrapUnit.PAIR
    if config.bootstrap_unit is BootstrapUnit.SUBJECT and not comparisons.has_subjects:
        raise ConfigError("--bootstrap-unit subject: the data has no subject ids (give --subject-a/--subject-b "
                          "or --subjects-from)")
    return config.bootstrap_unit


def operating_points(n_nonmated: int, config: VerificationConfig) -> tuple[tuple[OperatingPoint, ...],
                                                                            tuple[str, ...]]:
    """The configured points with the supported extra targets placed after the primary one,
    and why the others were left out."""
    points = list(config.operating_points)
    extras = []
    skipped = []
    have = {p.target_fmr for p in points if p.policy is ThresholdPolicy.TARGET_FMR}
    for target in config.extra_targets:
        if target in have:
            continue
        if target * n_nonmated >= 1:
            extras.append(OperatingPoint(policy=ThresholdPolicy.TARGET_FMR, target_fmr=target))
        else:
            skipped.append(f"FMR {target:g}: {n_nonmated:,} non-mated pairs give {target * n_nonmated:.2g} expected "
                           f"false matches (needs at least 1, and {uncertainty.trials_needed(rate=target):,} "
                           "for +-30%)")
    return (points[0], *extras, *points[1:]), tuple(skipped)


def points_of(points: Sequence[OperatingPoint], model: str) -> tuple[OperatingPoint, ...]:
    """The points that apply to ``model``: those for every model and its own."""
    return tuple(p for p in points if not p.model or p.model == model)


def _observed(engine: Engine, data: PairData, points: Sequence[OperatingPoint],
              shift_targets: Sequence[float | None], weighting: Weighting | None = None) -> list[Replicates]:
    if weighting is None:
        labelled_nonmated = data.cell[(~data.mated) & (data.cell >= 0)]
        weighting = UnitWeighting(np.bincount(labelled_nonmated, minlength=data.n_cells).astype(np.float64))
    return engine.run(weighting, points, shift_targets)


ReplicateSource = Callable[[int], Iterable[Weighting]]
"""Given how many pairs the engine weighs per replicate, the bootstrap's blocks of replicates."""


def _bootstrap(data: PairData, full: Engine, observed: list[Replicates], points: Sequence[OperatingPoint],
               shift_targets: Sequence[float | None], replicates: ReplicateSource, config: VerificationConfig,
               progress: Progress, description: str) -> list[Replicates]:
    """The bootstrap replicates of every point: first over the non-mated tail the thresholds
    can plausibly need, and again over every listed pair if some replicate needed more."""
    floor = full.tail_floor(observed, points, config.tail_factor)
    boots: list[Replicates] = []
    for attempt_floor in (floor, -np.inf):
        engine = Engine(data, floor=attempt_floor) if attempt_floor > -np.inf else full
        if attempt_floor == -np.inf and floor > -np.inf:
            progress.start(config.n_bootstrap, unit="replicates", description=f"{description}: whole score range")
        blocks: list[list[Replicates]] = [[] for _ in points]
        for weighting in replicates(engine.weighted_pairs):
            for i, rep in enumerate(engine.run(weighting, points, shift_targets, shifts=False)):
                blocks[i].append(rep)
            progress.advance(weighting.replicates)
        boots = [Replicates.stacked(b) for b in blocks]
        if not any(np.any(b.hit_floor) for b in boots) or floor == -np.inf:
            break
    return boots


def estimate_points(data: PairData, points: Sequence[OperatingPoint], *, config: VerificationConfig,
                    replicates: ReplicateSource | None, observed_weighting: Weighting | None = None,
                    progress: Progress = SILENT, description: str = "") -> tuple[list[Replicates],
                                                                                 list[Replicates | None]]:
    """Observed counts and bootstrap replicates (None without ``replicates``) of every point."""
    shift_targets = [p.target_fmr for p in points]
    full = Engine(data, floor=-np.inf)
    observed = _observed(full, data, points, shift_targets, observed_weighting)
    if replicates is None:
        return observed, [None] * len(points)
    return observed, list(_bootstrap(data, full, observed, points, shift_targets, replicates, config, progress,
                                     description))


def _needs_mated(comparisons: Comparisons, points: Sequence[OperatingPoint]) -> None:
    if comparisons.n_mated == 0:
        for point in points:
            if point.policy.needs_all_scores:
                raise ConfigError(f"--threshold-policy {point.policy.value}: needs mated pairs; this data "
                                  "has none (use target-fmr or fixed)")


def _analysis(comparisons: Comparisons, model: str, attribute: str, points: Sequence[OperatingPoint],
              unit: BootstrapUnit, config: VerificationConfig, progress: Progress) -> ModelAttributeAudit:
    """One model and one attribute at every operating point."""
    grouping = comparisons.grouping(attribute)
    data = pair_data(comparisons, model, grouping)
    _needs_mated(comparisons, points)
    description = f"{model} / {attribute}"
    progress.start(config.n_bootstrap if unit is not BootstrapUnit.NONE else None, unit="replicates",
                   description=description)

    def replicates(weighted_pairs: int) -> Iterable[Weighting]:
        return replicate_blocks(comparisons, grouping, data, unit, config, weighted_pairs=weighted_pairs)

    observed, boots = estimate_points(data, points, config=config,
                                      replicates=replicates if unit is not BootstrapUnit.NONE else None,
                                      progress=progress, description=description)
    results = tuple(assemble(model, grouping, point, obs, boot, config, scale=comparisons.scale(model),
                             ordered=comparisons.ordered)
                    for point, obs, boot in zip(points, observed, boots))
    return ModelAttributeAudit(model, attribute, comparisons.provenance.label_source(attribute), results,
                               group_scores(data, grouping.names))


def audit_verification(comparisons: Comparisons, *, config: VerificationConfig = VerificationConfig(),
                       attributes: Sequence[str] | None = None, models: Sequence[str] | None = None,
                       progress: Progress = SILENT) -> VerificationAudit:
    """Run the verification audit over every model and attribute (default: all of them).

    ``attributes`` may include intersections such as ``"race x gender"``. ``progress`` hears
    one stage per model and attribute, in bootstrap replicates.
    """
    models = tuple(models or comparisons.models)
    attributes = tuple(attributes or comparisons.attributes)
    unit = _choose_unit(comparisons, config)
    points, skipped = operating_points(int((~comparisons.mated).sum()), config)
    if int((~comparisons.mated).sum()) == 0:
        raise ConfigError("comparisons: no non-mated pairs; an FMR threshold needs some")
    foreign = sorted({p.model for p in points if p.model and p.model not in models})
    if foreign:
        raise unknown_choice("operating point model", foreign[0], list(models))
    results = tuple(_analysis(comparisons, model, attribute, points_of(points, model), unit, config, progress)
                    for model in models for attribute in attributes)
    notes = list(comparisons.provenance.notes)
    if unit is BootstrapUnit.PAIR:
        notes.append("The data has no subject ids, so intervals come from resampling pairs. Pairs that share a "
                     "person are not independent: these intervals are too narrow.")
    return VerificationAudit(config=config, results=results, models=models, attributes=attributes,
                             bootstrap_unit=unit, n_pairs=len(comparisons), n_mated=comparisons.n_mated,
                             n_subjects=len(comparisons.subject_names), skipped_targets=skipped,
                             notes=tuple(notes), provenance=comparisons.provenance,
                             scales=tuple(comparisons.scale(m) for m in models))
