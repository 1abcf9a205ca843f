"""Per-input resilience by random neighbours, and the choice of weak-robust training samples.

After REVa (arXiv 2509.19197): each sample x gets Q random neighbours x + e * u, u uniform in
[-1, 1]^d, at each perturbation degree e. A neighbour scores 0 when still classified as the
label, else the largest wrong-class softmax probability (how confidently it is wrong). The
sample's fragility is the mean score over its neighbours; resilience = 1 - fragility.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import nn

from ..data import Dataset
from ..errors import InputError
from ._common import check_dataset, check_model_fits, predict_proba, progress_bar

__all__ = ["ResilienceResult", "resilience_scores", "select_weak_robust", "neighbour_scores"]


@dataclass(frozen=True)
class ResilienceResult:
    """Per-sample scores of one model on one dataset (arrays indexed like the dataset)."""

    fragility: np.ndarray  # mean neighbour score in [0, 1]; 0 = every neighbour still right
    wrong_prob: np.ndarray  # mean largest wrong-class probability over all neighbours (tie-breaker)
    correct: np.ndarray  # bool: the clean sample is classified as its label
    degrees: tuple[float, ...]
    neighbours: int

    @property
    def resilience(self) -> np.ndarray:
        """1 - fragility: 1 for a sample whose every neighbour keeps its label."""
        return 1.0 - self.fragility

    def ranking(self) -> np.ndarray:
        """Indices of correctly classified samples, most fragile first (ties: larger wrong_prob first)."""
        idx = np.flatnonzero(self.correct)
        order = np.lexsort((-self.wrong_prob[idx], -self.fragility[idx]))
        return idx[order]


def neighbour_scores(proba: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Score of each neighbour: 0 if argmax is the label, else the largest wrong-class probability."""
    wrong = proba.copy()
    wrong[np.arange(len(labels)), labels] = -np.inf
    top_wrong = wrong.max(axis=1)
    return np.where(proba.argmax(axis=1) == labels, 0.0, top_wrong)


def _check_options(degrees: Sequence[float], neighbours: int) -> tuple[float, ...]:
    if neighbours < 1:
        raise InputError(f"neighbours must be at least 1, got {neighbours}")
    degrees = tuple(float(e) for e in degrees)
    if not degrees or any(not 0.0 < e <= 1.0 for e in degrees):
        raise InputError(f"perturbation degrees must be a non-empty list in (0, 1], got {list(degrees)}")
    return degrees


@torch.no_grad()
def resilience_scores(
    model: nn.Module,
    data: Dataset,
    *,
    degrees: Sequence[float] = (0.1, 0.2, 0.3),
    neighbours: int = 20,
    batch_size: int = 256,
    seed: int = 0,
    progress: bool = False,
) -> ResilienceResult:
    """Fragility of every sample under Q random neighbours per degree (REVa's local robustness analysis)."""
    check_dataset(data)
    check_model_fits(model, data)
    degrees = _check_options(degrees, neighbours)
    model.eval()
    rng = np.random.default_rng(seed)
    n = len(data)
    frag = np.zeros(n)
    wrong_prob = np.zeros(n)
    scale = np.repeat(np.asarray(degrees, dtype=np.float32), neighbours)  # e for each neighbour
    per = len(scale)
    for start in progress_bar(range(0, n, batch_size), enabled=progress, desc="resilience", unit="batch"):
        x = data.x[start : start + batch_size]
        y = data.y[start : start + batch_size]
        noise = rng.uniform(-1.0, 1.0, size=(len(x), per) + x.shape[1:]).astype(np.float32)
        noise *= scale.reshape((1, per) + (1,) * (x.ndim - 1))
        nb = np.clip(x[:, None] + noise, 0.0, 1.0).reshape((-1,) + x.shape[1:])
        labels = np.repeat(y, per)
        proba = predict_proba(model, nb)
        scores = neighbour_scores(proba, labels).reshape(len(x), per)
        others = proba.copy()
        others[np.arange(len(labels)), labels] = -np.inf
        frag[start : start + len(x)] = scores.mean(axis=1)
        wrong_prob[start : start + len(x)] = others.max(axis=1).reshape(len(x), per).mean(axis=1)
    correct = predict_proba(model, data.x).argmax(axis=1) == data.y
    return ResilienceResult(frag, wrong_prob, correct, degrees, neighbours)


def select_weak_robust(
    result: ResilienceResult, *, k: int | None = None, threshold: float | None = None
) -> np.ndarray:
    """Indices of weak-robust samples: correct and most fragile (bottom-k resilience, or resilience < threshold)."""
    if (k is None) == (threshold is None):
        raise InputError("give exactly one of k (bottom-k) or threshold (resilience below it)")
    ranked = result.ranking()
    if k is not None:
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        if k > len(ranked):
            raise InputError(f"asked for {k} weak-robust samples but only {len(ranked)} are classified correctly")
        return ranked[:k]
    chosen = ranked[result.resilience[ranked] < threshold]
    if chosen.size == 0:
        raise InputError(
            f"no correctly classified sample has resilience below {threshold}; "
            f"the lowest is {result.resilience[ranked].min():.4g}" if ranked.size else "no sample is classified correctly"
        )
    return chosen
