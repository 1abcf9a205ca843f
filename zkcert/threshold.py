"""Suggest the certification threshold T from the metric values of models known to be honest.

Method "conformal" (the default): T is the ceil((n+1)(1-fpr))-th smallest of n honest values. If a new
honest model's value is exchangeable with the n reference values, P(value > T) <= fpr exactly, for any
distribution of values (the split-conformal quantile; Vovk et al. 2005, Angelopoulos & Bates 2021).
It needs n >= 1/fpr - 1 honest models. Method "empirical": numpy's (1-fpr) quantile (method="higher"),
which has no finite-sample guarantee but works with fewer models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .errors import InputError

__all__ = ["ThresholdSuggestion", "suggest_threshold", "false_positive_rate"]

METHODS = ("conformal", "empirical")


@dataclass(frozen=True)
class ThresholdSuggestion:
    """A suggested T, the false-positive rate it targets, and how it was chosen."""

    threshold: float
    fpr: float
    n_honest: int
    method: str

    def describe(self) -> str:
        """One line for `zkcert measure` output."""
        guarantee = "at most" if self.method == "conformal" else "about"
        return (
            f"suggested threshold T = {self.threshold:.6g}: {guarantee} {self.fpr:.0%} of honest models exceed it "
            f"({self.method} quantile of {self.n_honest} honest models)"
        )


def _check(values: Sequence[float], fpr: float) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size == 0:
        raise InputError("need the metric values of at least one honest model, got none")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"honest values contain {int(np.sum(~np.isfinite(arr)))} NaN or inf entries")
    if not 0.0 < fpr < 1.0:
        raise InputError(f"fpr must lie strictly between 0 and 1, got {fpr}")
    return arr


def suggest_threshold(values: Sequence[float], *, fpr: float = 0.05, method: str = "conformal") -> ThresholdSuggestion:
    """The threshold T above which at most a fraction fpr of honest models would fall."""
    arr = _check(values, fpr)
    if method not in METHODS:
        raise InputError(f"method must be one of {METHODS}, got {method!r}")
    n = arr.size
    if method == "empirical":
        t = float(np.quantile(arr, 1.0 - fpr, method="higher"))
        return ThresholdSuggestion(t, fpr, n, method)
    # Small tolerance so that (n+1)(1-fpr) = 19.000000000000004 counts as 19, not 20.
    rank = math.ceil((n + 1) * (1.0 - fpr) - 1e-9)
    if rank > n:
        need = math.ceil(1.0 / fpr - 1.0 - 1e-9)
        raise InputError(
            f"a conformal threshold at fpr={fpr} needs at least {need} honest models, got {n}; "
            "add honest models, raise fpr, or use method='empirical'"
        )
    return ThresholdSuggestion(float(np.sort(arr)[rank - 1]), fpr, n, method)


def false_positive_rate(values: Sequence[float], threshold: float) -> float:
    """Fraction of honest values strictly above the threshold (those would be refused a certificate)."""
    arr = _check(values, 0.5)
    return float(np.mean(arr > threshold))
