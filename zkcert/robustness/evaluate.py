"""Accuracy under every perturbation and severity on the weak-robust set, a random set and the test set."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from torch import nn

from ..data import Dataset
from ..errors import InputError
from ._common import SEVERITIES, check_dataset, check_model_fits, predict, progress_bar
from .corruptions import CORRUPTIONS
from .perturbations import PERTURBATIONS, check_perturbations, perturb
from .resilience import ResilienceResult, resilience_scores, select_weak_robust

__all__ = ["EvalRow", "Evaluation", "evaluate", "evaluation_sets", "random_subset"]


@dataclass(frozen=True)
class EvalRow:
    """Accuracy of one model on one set under one perturbation at one severity (0 = clean)."""

    set: str
    perturbation: str
    severity: int
    accuracy: float
    n: int


@dataclass(frozen=True)
class Evaluation:
    """All rows of one evaluation, with look-ups by set and perturbation."""

    rows: tuple[EvalRow, ...]

    def sets(self) -> list[str]:
        """Set names in first-seen order."""
        return list(dict.fromkeys(r.set for r in self.rows))

    def perturbations(self) -> list[str]:
        """Perturbation names (without 'clean') in first-seen order."""
        return list(dict.fromkeys(r.perturbation for r in self.rows if r.perturbation != "clean"))

    def accuracy(self, set_name: str, perturbation: str, severity: int) -> float:
        """One accuracy; InputError when that cell was not evaluated."""
        for r in self.rows:
            if (r.set, r.perturbation, r.severity) == (set_name, perturbation, severity):
                return r.accuracy
        raise InputError(f"no result for set {set_name!r}, perturbation {perturbation!r}, severity {severity}")

    def mean_accuracy(self, set_name: str, perturbation: str | None = None) -> float:
        """Mean accuracy over severities (and over all perturbations when none is named)."""
        vals = [r.accuracy for r in self.rows if r.set == set_name and r.perturbation != "clean"
                and (perturbation is None or r.perturbation == perturbation)]
        if not vals:
            raise InputError(f"no perturbed results for set {set_name!r} and perturbation {perturbation!r}")
        return float(np.mean(vals))

    def as_dicts(self) -> list[dict[str, object]]:
        """Rows as plain dicts (for CSV)."""
        return [r.__dict__.copy() for r in self.rows]


def random_subset(data: Dataset, size: int, *, seed: int = 0) -> np.ndarray:
    """Indices of a uniform random subset (without replacement)."""
    if not 1 <= size <= len(data):
        raise InputError(f"random subset size must be in [1, {len(data)}], got {size}")
    return np.sort(np.random.default_rng(seed).choice(len(data), size=size, replace=False))


def evaluation_sets(
    model: nn.Module, train: Dataset, test: Dataset, *, k: int | None = 200, threshold: float | None = None,
    seed: int = 0, progress: bool = False, resilience: ResilienceResult | None = None,
) -> tuple[dict[str, Dataset], np.ndarray, ResilienceResult]:
    """The three sets {'weak', 'random', 'test'}: weak-robust training samples, a same-size random one, the test set."""
    res = resilience if resilience is not None else resilience_scores(model, train, seed=seed, progress=progress)
    weak = select_weak_robust(res, k=k, threshold=threshold)
    sets = {
        "weak": train.subset(weak, f"{train.name}[weak-robust]"),
        "random": train.subset(random_subset(train, len(weak), seed=seed), f"{train.name}[random]"),
        "test": test,
    }
    return sets, weak, res


def _perturbed(model: nn.Module, data: Dataset, name: str, sev: int, seed: int, cache: dict | None) -> np.ndarray:
    """Perturbed inputs; corruptions do not depend on the model, so they may be cached by content."""
    if cache is None or name not in CORRUPTIONS:
        return perturb(model, data, name, sev, seed=seed)
    key = (hashlib.sha1(data.x.tobytes()).hexdigest(), name, sev, seed)
    if key not in cache:
        cache[key] = perturb(model, data, name, sev, seed=seed)
    return cache[key]


def evaluate(
    model: nn.Module, sets: Mapping[str, Dataset], *, perturbations: Sequence[str] = PERTURBATIONS,
    severities: Sequence[int] = SEVERITIES, seed: int = 0, progress: bool = False, cache: dict | None = None,
) -> Evaluation:
    """Clean and perturbed accuracy of the model on each set, for each perturbation and severity."""
    if not sets:
        raise InputError("no evaluation sets given")
    names = check_perturbations(list(perturbations))
    severities = tuple(severities)
    if not severities or any(s not in SEVERITIES for s in severities):
        raise InputError(f"severities must be a non-empty subset of {list(SEVERITIES)}, got {list(severities)}")
    for set_name, data in sets.items():
        check_dataset(data, what=f"set {set_name!r}")
        check_model_fits(model, data)
    rows: list[EvalRow] = []
    jobs = [(s, p, v) for s in sets for p in names for v in severities]
    for set_name in sets:
        data = sets[set_name]
        rows.append(EvalRow(set_name, "clean", 0, float(np.mean(predict(model, data.x) == data.y)), len(data)))
    for set_name, name, sev in progress_bar(jobs, enabled=progress, desc="evaluate", unit="cell"):
        data = sets[set_name]
        x = _perturbed(model, data, name, sev, seed, cache)
        rows.append(EvalRow(set_name, name, sev, float(np.mean(predict(model, x) == data.y)), len(data)))
    return Evaluation(tuple(rows))
