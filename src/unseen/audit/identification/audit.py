"""Identification (1:N) audit: FPIR and FNIR per probe group at one threshold.

The method follows NIST FRTE 1:N (AUDIT-METRICS.md, "Identification"): one threshold ``t``
for every search, set so that at most a target share of all non-mated searches (0.003 by
default) return a candidate at or above it, or given. Then per probe group g

- FPIR_g: non-mated searches from g whose list holds a candidate scoring ``>= t``, over all
  non-mated searches from g;
- FNIR_g at rank r: mated searches from g whose mate is not among the first r candidates
  (rank 1 and rank R), and at the threshold: not there with a score ``>= t`` either;

each group's own threshold for the same FPIR (its shift), which groups the false candidates
come from, FPIR against the gallery's size and make-up, and subject-level bootstrap
intervals (the people searched drawn again, the gallery as it is) in which the threshold is
set again in every replicate.

A probe whose subject has no other sample in the gallery is a non-mated search; a probe
that returned an empty list (e.g. no face found in it) is still a search: it finds no mate
and returns no false candidate, as NIST counts it. Ties at the threshold count as at or
above it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from unseen.audit.identification.candidates import CandidateLists
from unseen.audit.identification.config import IdentificationConfig
from unseen.audit.identification.engine import GroupCoding, GroupTotals, Outcomes, SearchData, outcomes, search_data
from unseen.audit.identification.gallery import ProbeBootstrap, gallery_size_curve, make_up_curve
from unseen.audit.identification.results import AttributeAudit, CandidateSources, IdentificationAudit
from unseen.audit.recognition.comparisons import label_codes
from unseen.audit.recognition.manifest import NO_LABEL
from unseen.audit.stats import uncertainty
from unseen.audit.stats.counts import SortedScores, target_thresholds
from unseen.audit.stats.rates import Group, RateTable
from unseen.audit.verification.images import TOO_FEW_PEOPLE
from unseen.errors import ConfigError
from unseen.progress import SILENT, Progress

BLOCK_VALUES = 4_000_000
"""Values (replicates x candidate rows) computed at once in the bootstrap."""


# -- coding ---------------------------------------------------------------------------------
def _coding(lists: CandidateLists, data: SearchData, attribute: str) -> tuple[GroupCoding, np.ndarray]:
    probe_labels = lists.probes.group_labels(attribute)
    gallery_labels = lists.gallery.group_labels(attribute)
    both = np.r_[probe_labels, gallery_labels]
    names, codes = label_codes(np.where(both == NO_LABEL, "", both))
    probe_code, gallery_code = codes[:len(probe_labels)], codes[len(probe_labels):]
    return GroupCoding.of(attribute, names, probe_code, gallery_code, data), gallery_code


def _strata(lists: CandidateLists, data: SearchData, attributes: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The people searched (subject codes) and a stratum for each: their labels of every attribute."""
    searched, first = np.unique(data.probe_subject, return_index=True)
    joined = np.full(len(lists.probes), "", dtype=object)
    for attribute in attributes:
        joined = joined + "|" + lists.probes.group_labels(attribute).astype(object)
    return searched, joined[first].astype(str)


# -- counting ---------------------------------------------------------------------------------
def _fixed_threshold(lists: CandidateLists, config: IdentificationConfig) -> float | None:
    return float(lists.scale.to_similarity(config.threshold)) if config.fixed else None


def _run(data: SearchData, weights: np.ndarray, codings: Sequence[GroupCoding], rank: int, fixed: float | None,
         config: IdentificationConfig) -> tuple[Outcomes, list[GroupTotals]]:
    out = outcomes(data, weights, rank=rank, fixed_threshold=fixed, target=config.target_fpir)
    return out, [GroupTotals.of(out, data, coding) for coding in codings]


def _bootstrap(lists: CandidateLists, data: SearchData, codings: Sequence[GroupCoding], attributes: Sequence[str],
               rank: int, fixed: float | None, config: IdentificationConfig,
               progress: Progress) -> tuple[np.ndarray, list[GroupTotals]]:
    """Thresholds ``(n_bootstrap,)`` and per attribute the totals of every replicate: the
    people searched drawn with replacement within their groups, the gallery as it is (see
    `unseen.audit.identification.engine`)."""
    searched, strata = _strata(lists, data, attributes)
    bootstrap = uncertainty.ClusterBootstrap(strata=strata)
    size = int(max(1, min(64, BLOCK_VALUES // max(len(data.row_search) + data.n_searches, 1))))
    rng = np.random.default_rng(config.seed)
    thresholds, blocks = [], [[] for _ in codings]
    progress.start(config.n_bootstrap, unit="replicates", description=f"{lists.system}: bootstrap")
    for counts in bootstrap.chunks(rng=rng, n_replicates=config.n_bootstrap, chunk_size=size):
        weights = np.zeros((len(counts), data.n_subjects))
        weights[:, searched] = counts
        out, totals = _run(data, weights, codings, rank, fixed, config)
        thresholds.append(out.threshold)
        for block, total in zip(blocks, totals):
            block.append(total)
        progress.advance(len(counts))
    return np.concatenate(thresholds), [GroupTotals.stacked(b) for b in blocks]


# -- estimates --------------------------------------------------------------------------------
def _interval(events: np.ndarray, trials: np.ndarray, boot_events: np.ndarray | None,
              boot_trials: np.ndarray | None, level: float) -> np.ndarray:
    """Percentile intervals of the replicates' rates; ``[0, rule-of-three bound]`` where no
    event was seen."""
    if boot_events is None:
        ci = np.full((len(events), 2), np.nan)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            ci = uncertainty.percentile_interval(boot_events / boot_trials, level=level, axis=0)
    zero = (events == 0) & (trials > 0)
    bound = uncertainty.zero_error_upper_bound(trials=np.maximum(trials, 1), level=level)
    ci[zero] = np.column_stack([np.zeros(int(zero.sum())), bound[zero]])
    return ci


MIN_TEST_SEARCHES = 20
"""A group is tested against the other searches only when both have at least this many."""


def _varies(events: np.ndarray, trials: np.ndarray) -> np.ndarray:
    return (trials >= MIN_TEST_SEARCHES) & (events > 0) & (events < trials)


def _holm(boot_events: np.ndarray | None, boot_trials: np.ndarray | None, events: np.ndarray,
          trials: np.ndarray) -> np.ndarray:
    """Holm-adjusted bootstrap p-values of "the group's rate equals that of every other
    search" (NaN for the overall row and for groups not tested: too few searches, or no error
    or only errors on either side, which a bootstrap cannot vary; their intervals say it)."""
    n = len(trials)
    out = np.full(n, np.nan)
    tested = _varies(events[1:], trials[1:]) & _varies(events[0] - events[1:], trials[0] - trials[1:])
    if boot_events is None or n < 3 or not tested.any():
        return out
    with np.errstate(invalid="ignore", divide="ignore"):  # differences of rates stay finite where logs would not
        rates = boot_events[:, 1:] / boot_trials[:, 1:]
        rest = (boot_events[:, :1] - boot_events[:, 1:]) / (boot_trials[:, :1] - boot_trials[:, 1:])
    differences = (rates - rest)[:, tested]
    p = uncertainty.bootstrap_p_value(differences, axis=0)
    valid = np.isfinite(p) & np.any(np.isfinite(differences), axis=0)
    if valid.any():
        adjusted = np.full(len(p), np.nan)
        adjusted[valid] = uncertainty.holm_adjust(p[valid])
        out[1:][tested] = adjusted
    return out


def _p_text(p: float, replicates: int) -> str:
    return f"p < {1 / replicates:.2g}" if p == 0 and replicates > 0 else f"p = {p:.2g}"


def _flags(events: np.ndarray, trials: np.ndarray, people: np.ndarray, p_holm: np.ndarray, *, rate: str,
           searches: str, error: str, plural: str, target: float | None, level: float,
           replicates: int) -> tuple[tuple[str, ...], ...]:
    """Per row: why its rate cannot be read plainly, if it cannot."""
    flags = []
    for k in range(len(events)):
        items = []
        if trials[k] == 0:
            items.append(f"no {searches}: {rate} cannot be measured")
        elif events[k] == 0:
            items.append(f"no {error} seen in {int(trials[k]):,} {searches}: {rate} shown as an upper bound "
                         "(rule of three)")
        elif events[k] < uncertainty.DODDINGTON_ERRORS:
            items.append(f"only {int(events[k])} {error if events[k] == 1 else plural} (< 30): {rate} uncertain by "
                         "more than +-30%")
        if target is not None and 0 < trials[k] < uncertainty.trials_needed(rate=target):
            items.append(f"{int(trials[k]):,} {searches}; {rate} {target:g} needs "
                         f"{uncertainty.trials_needed(rate=target):,} for +-30%")
        if 0 < people[k] < TOO_FEW_PEOPLE:
            items.append(f"{int(people[k])} people: too few for a bias figure (fewer than {TOO_FEW_PEOPLE})")
        if np.isfinite(p_holm[k]) and p_holm[k] < 1 - level:
            items.append(f"{rate} differs from the other groups' (Holm-adjusted {_p_text(p_holm[k], replicates)})")
        flags.append(tuple(items))
    return tuple(flags)


def _table(groups: tuple[Group, ...], observed: np.ndarray, trials: np.ndarray, boot: GroupTotals | None,
           events_name: str, trials_name: str, people: np.ndarray, config: IdentificationConfig,
           flag: Callable[..., tuple[tuple[str, ...], ...]]) -> RateTable:
    events = observed[0]
    n = trials[0]
    boot_events = getattr(boot, events_name) if boot is not None else None
    boot_trials = getattr(boot, trials_name) if boot is not None else None
    p_holm = _holm(boot_events, boot_trials, events, n)
    replicates = len(boot_events) if boot_events is not None else 0
    return RateTable(groups=groups, trials=n, events=events,
                     ci=_interval(events, n, boot_events, boot_trials, config.level),
                     bound_only=(events == 0) & (n > 0), p_holm=p_holm, differs=p_holm < 1 - config.level,
                     flags=flag(events, n, people, p_holm, level=config.level, replicates=replicates))


def _own_thresholds(best: np.ndarray, data: SearchData, coding: GroupCoding, target: float) -> np.ndarray:
    """Per row, the threshold at which its non-mated searches alone reach ``target`` FPIR."""
    out = np.full(len(coding.names) + 1, np.nan)
    if not 0 < target < 1:
        return out
    rows = [np.ones(data.n_searches, bool)] + [coding.probe_code == g for g in range(len(coding.names))]
    for k, mine in enumerate(rows):
        mine = mine & data.nonmated
        scores = best[mine]
        finite = scores[np.isfinite(scores)]
        if not mine.any() or not len(finite):
            continue
        ordered = SortedScores.of(finite)
        thresholds, _ = target_thresholds(ordered, ordered.prefix(None), np.array([float(mine.sum())]), target)
        out[k] = thresholds[0]
    return out


def _sources(coding: GroupCoding, observed: GroupTotals, boot: GroupTotals | None, lists: CandidateLists,
             gallery_code: np.ndarray, level: float) -> CandidateSources:
    g = len(coding.names)
    counts = observed.sources[0].reshape(g, g)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = counts / counts.sum(axis=1, keepdims=True)
        if boot is not None:
            replicates = boot.sources.reshape(-1, g, g)
            replicates = replicates / replicates.sum(axis=2, keepdims=True)
            ci = uncertainty.percentile_interval(replicates, level=level, axis=0)
        else:
            ci = np.full((g, g, 2), np.nan)
    labelled = gallery_code[gallery_code >= 0]
    gallery_share = np.bincount(labelled, minlength=g) / max(len(labelled), 1)
    return CandidateSources(names=coding.names, counts=counts, share=share, share_ci=ci, gallery_share=gallery_share)


def _people(data: SearchData, coding: GroupCoding) -> np.ndarray:
    rows = [np.ones(data.n_searches, bool)] + [coding.probe_code == g for g in range(len(coding.names))]
    return np.array([len(np.unique(data.probe_subject[mine])) for mine in rows])


def _attribute_audit(lists: CandidateLists, data: SearchData, coding: GroupCoding, gallery_code: np.ndarray,
                     out: Outcomes, observed: GroupTotals, boot: GroupTotals | None, threshold: float,
                     config: IdentificationConfig) -> AttributeAudit:
    attribute = coding.attribute
    groups = (Group(name=coding.overall), *(Group(attribute=attribute, label=name, name=name) for name in coding.names))
    people = _people(data, coding)
    target = None if config.fixed else config.target_fpir

    def flag(kind: str, what: str, error: str, plural: str, rate_target: float | None):
        def make(events, trials, people, p_holm, *, level, replicates):
            return _flags(events, trials, people, p_holm, rate=kind, searches=what, error=error, plural=plural,
                          target=rate_target, level=level, replicates=replicates)
        return make

    fpir_flags = flag("FPIR", "non-mated searches", "false positive", "false positives", target)
    fnir_flags = flag("FNIR", "mated searches", "miss", "misses", None)
    has_threshold = not np.isnan(threshold)

    def fnir(events: str) -> RateTable:
        return _table(groups, getattr(observed, events), observed.mated, boot, events, "mated", people, config,
                      fnir_flags)

    fpir = _table(groups, observed.false_positives, observed.nonmated, boot, "false_positives", "nonmated", people,
                  config, fpir_flags)
    global_fpir = fpir.rate[0]
    shift_target = config.target_fpir if not config.fixed else global_fpir
    own = _own_thresholds(out.best[0], data, coding, shift_target) if has_threshold else \
        np.full(len(groups), np.nan)
    bootstrap = ProbeBootstrap(data, coding, config)
    curve = gallery_size_curve(data, coding, threshold, config, bootstrap) if config.gallery_sizes else None
    make_up, note = make_up_curve(data, coding, gallery_code, threshold, config, bootstrap)
    return AttributeAudit(
        attribute=attribute, label_source=lists.probes.label_source(attribute), fpir=fpir,
        fnir_rank1=fnir("miss_rank1"), fnir_rank_r=fnir("miss_rank_r"),
        fnir_rank1_at=fnir("miss_rank1_at") if has_threshold else None,
        fnir_rank_r_at=fnir("miss_rank_r_at") if has_threshold else None,
        own_threshold=own, threshold_shift=own - threshold, people=people,
        sources=_sources(coding, observed, boot, lists, gallery_code, config.level),
        gallery_size=curve, make_up=make_up, notes=(note,) if note else ())


# -- the audit --------------------------------------------------------------------------------
def _threshold_flags(data: SearchData, config: IdentificationConfig) -> tuple[str, ...]:
    n = int(data.nonmated.sum())
    if config.fixed:
        return ()
    if n == 0:
        return ("no non-mated searches: no threshold can be set for a target FPIR, so there is no FPIR and FNIR is "
                "given by rank alone",)
    expected = config.target_fpir * n
    if expected < 1:
        return (f"target FPIR {config.target_fpir:g} is below 1 / {n:,} non-mated searches: the threshold sits above "
                "every non-mated search's best score and cannot be estimated",)
    if expected < uncertainty.DODDINGTON_ERRORS:
        return (f"only {expected:.1f} false positives allowed at FPIR {config.target_fpir:g} over {n:,} non-mated "
                "searches: the threshold itself is uncertain",)
    return ()


def _caveats(lists: CandidateLists, data: SearchData, audits: Sequence[AttributeAudit]) -> tuple[str, ...]:
    caveats = []
    people = len(np.unique(data.probe_subject))
    if people < TOO_FEW_PEOPLE:
        caveats.append(f"Far too small for any bias figure: {people} people searched (fewer than {TOO_FEW_PEOPLE}). "
                       "Read every number here as a test of the pipeline, not as a measurement of the system.")
    else:
        for item in audits:
            small = [f"{name} {int(n)} people" for name, n in zip(item.groups, item.people[1:]) if n < TOO_FEW_PEOPLE]
            if small:
                caveats.append(f"By {item.attribute}, some groups are too small for a bias figure: " + ", ".join(small)
                               + f" (fewer than {TOO_FEW_PEOPLE}).")
    if not data.mated.any():
        caveats.append("No probe has a mate in the gallery: only false positives (FPIR) are measured here; nothing "
                       "is said about failing to find a person who is in the gallery (FNIR).")
        if np.all(np.bincount(data.gallery_subject)[data.gallery_subjects] == 1):
            caveats.append("Each photo is taken to be a different person, as the tables say: where one person appears "
                           "in two photos (datasets have such duplicates), a search finds them and counts as a false "
                           "positive, so FPIR can only be too high on that account; at a very low FPIR such "
                           "near-copies can be what sets the threshold.")
    if not data.nonmated.any():
        caveats.append("Every probe has a mate in the gallery: false positives of people not in the gallery (FPIR) "
                       "cannot be measured here.")
    empty = int(np.sum(data.lengths == 0))
    if empty:
        caveats.append(f"{empty} search(es) returned an empty list (e.g. no face found in the probe): each counts as a "
                       "miss when mated and as no false positive when not, as NIST counts them.")
    for attribute in dict.fromkeys(a for item in audits for a in item.attribute.split(" x ")):
        caveats.append(f"Labels '{attribute}': {lists.probes.label_source(attribute)}.")
    return tuple(caveats)


def audit_identification(lists: CandidateLists, *, config: IdentificationConfig = IdentificationConfig(),
                         attributes: Sequence[str] | None = None, progress: Progress = SILENT) -> IdentificationAudit:
    """Audit one system's candidate lists for every attribute (default: every label column of
    the probes; intersections such as ``"race x gender"`` allowed). ``progress`` hears the
    bootstrap in replicates."""
    attributes = tuple(attributes or lists.probes.attributes)
    if not attributes:
        raise ConfigError("--group: name at least one label column")
    data = search_data(lists)
    rank = config.rank or lists.max_rank
    if rank > lists.max_rank:
        raise ConfigError(f"--rank: the lists hold at most {lists.max_rank} candidates; FNIR at rank {rank} cannot "
                          "be measured from them")
    fixed = _fixed_threshold(lists, config)
    coded = [_coding(lists, data, attribute) for attribute in attributes]
    codings = [c for c, _ in coded]
    ones = np.ones((1, data.n_subjects))
    out, observed = _run(data, ones, codings, rank, fixed, config)
    threshold = float(out.threshold[0])
    boot_thresholds, boots = np.full(0, np.nan), [None] * len(codings)
    if config.n_bootstrap:
        boot_thresholds, boots = _bootstrap(lists, data, codings, attributes, rank, fixed, config, progress)
    items = tuple(_attribute_audit(lists, data, coding, gallery_code, out, obs, boot, threshold, config)
                  for (coding, gallery_code), obs, boot in zip(coded, observed, boots))
    finite = boot_thresholds[np.isfinite(boot_thresholds)]
    threshold_ci = (np.sort(lists.scale.from_similarity(uncertainty.percentile_interval(finite, level=config.level)))
                    if len(finite) and not config.fixed else np.full(2, np.nan))
    return IdentificationAudit(
        system=lists.system, config=config, scale=lists.scale, threshold=threshold,
        threshold_input=float(lists.scale.from_similarity(threshold)), threshold_ci=threshold_ci, rank=rank,
        max_rank=lists.max_rank, n_searches=data.n_searches, n_mated=int(data.mated.sum()),
        n_nonmated=int(data.nonmated.sum()), n_empty_lists=int(np.sum(data.lengths == 0)), n_gallery=len(lists.gallery),
        n_gallery_people=len(data.gallery_subjects), n_probe_people=len(np.unique(data.probe_subject)),
        attributes=items, flags=_threshold_flags(data, config), notes=lists.notes,
        caveats=_caveats(lists, data, items), probes_source=lists.probes.source, gallery_source=lists.gallery.source,
        bootstrap_replicates=config.n_bootstrap)
