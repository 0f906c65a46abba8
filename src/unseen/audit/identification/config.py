"""Options of an identification audit: how the threshold is set, the rank, the bootstrap and
the gallery experiments."""

from __future__ import annotations

from dataclasses import dataclass

from unseen.choices import Choice
from unseen.errors import ConfigError

DEFAULT_TARGET_FPIR = 0.003
"""NIST FRTE 1:N's operating point: the threshold at which 0.3% of non-mated searches return
a candidate."""

MAKE_UP_SHARES = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)
"""Shares of the probe's own group in the gallery at which FPIR is measured."""


class ThresholdPolicy(Choice):
    """How the one threshold is set: for a target FPIR over all non-mated searches, or given."""

    TARGET_FPIR = "target-fpir"
    FIXED = "fixed"


@dataclass(frozen=True)
class IdentificationConfig:
    """Options that travel together through an identification audit.

    ``threshold``: the fixed threshold, in the candidate lists' own scale (a distance for a
    distance model). ``rank``: R of "FNIR at rank R" (default: the lists' length).
    ``n_bootstrap = 0`` turns intervals off. ``gallery_sizes`` sizes (log-spaced up to the
    whole gallery) and ``gallery_draws`` random galleries per size and per make-up share
    (``make_up_shares``); ``gallery_sizes = 0`` skips both experiments.
    """

    policy: ThresholdPolicy = ThresholdPolicy.TARGET_FPIR
    target_fpir: float = DEFAULT_TARGET_FPIR
    threshold: float | None = None
    rank: int | None = None
    n_bootstrap: int = 1000
    level: float = 0.95
    seed: int = 0
    gallery_sizes: int = 8
    gallery_draws: int = 10
    make_up_shares: tuple[float, ...] = MAKE_UP_SHARES

    def __post_init__(self) -> None:
        policy = ThresholdPolicy.parse(self.policy, "--threshold-policy")
        object.__setattr__(self, "policy", policy)
        if policy is ThresholdPolicy.FIXED and self.threshold is None:
            raise ConfigError("--threshold: the fixed policy needs a threshold value")
        if policy is ThresholdPolicy.TARGET_FPIR and self.threshold is not None:
            raise ConfigError("--threshold: a fixed threshold and a target FPIR exclude each other "
                              "(give --threshold alone, or --target-fpir alone)")
        if not 0.0 < self.target_fpir < 1.0:
            raise ConfigError(f"--target-fpir: expected a rate in (0, 1), got {self.target_fpir!r}")
        if self.rank is not None and self.rank < 1:
            raise ConfigError(f"--rank: expected at least 1, got {self.rank}")
        if self.n_bootstrap < 0:
            raise ConfigError(f"--bootstrap: expected >= 0 replicates, got {self.n_bootstrap}")
        if not 0.0 < self.level < 1.0:
            raise ConfigError(f"--level: expected a confidence level between 0 and 1, got {self.level!r}")
        if self.gallery_sizes < 0 or self.gallery_draws < 1:
            raise ConfigError(f"--gallery-sizes / --gallery-draws: expected >= 0 sizes and >= 1 draw, got "
                              f"{self.gallery_sizes} and {self.gallery_draws}")
        if any(not 0.0 <= s <= 1.0 for s in self.make_up_shares):
            raise ConfigError(f"make_up_shares: expected shares in [0, 1], got {self.make_up_shares}")

    @property
    def fixed(self) -> bool:
        return self.policy is ThresholdPolicy.FIXED
