"""Adversarial perturbations through the Adversarial Robustness Toolbox (ART), on torch CPU.

FGSM and PGD make perturbed inputs at a given L-infinity budget; DeepFool (L2) and a per-sample
bisection over PGD's budget (L-infinity) give each sample's smallest adversarial perturbation,
a stronger per-sample robustness score than random neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from ..data import Dataset
from ..errors import InputError
from ._common import art_classifier, art_evasion, check_dataset, check_model_fits, predict, progress_bar

__all__ = ["fgsm", "pgd", "MinimalPerturbation", "deepfool_l2", "pgd_linf_bisection"]


def _check_eps(eps: float) -> float:
    if not 0.0 < float(eps) <= 1.0:
        raise InputError(f"eps must lie in (0, 1] for images in [0, 1], got {eps}")
    return float(eps)


def fgsm(model: nn.Module, data: Dataset, eps: float, *, batch_size: int = 256) -> np.ndarray:
    """Fast gradient sign method (untargeted, on the true labels) at L-infinity budget eps."""
    check_dataset(data)
    check_model_fits(model, data)
    clf = art_classifier(model, data.x.shape[1:], data.num_classes)
    evasion = art_evasion("the FGSM attack")
    attack = evasion.FastGradientMethod(clf, norm=np.inf, eps=_check_eps(eps), batch_size=batch_size)
    return attack.generate(data.x, y=_onehot(data)).astype(np.float32)


def pgd(
    model: nn.Module, data: Dataset, eps: float, *, steps: int = 10, seed: int = 0, batch_size: int = 256
) -> np.ndarray:
    """Projected gradient descent (L-infinity, one random start, step 2.5 * eps / steps)."""
    check_dataset(data)
    check_model_fits(model, data)
    eps = _check_eps(eps)
    return _pgd_generate(model, data, np.float32(eps), steps=steps, seed=seed, batch_size=batch_size)


def _pgd_generate(
    model: nn.Module, data: Dataset, eps: np.ndarray | np.float32, *, steps: int, seed: int, batch_size: int
) -> np.ndarray:
    """ART PGD with a scalar eps or one eps per sample (shape (N, 1, 1, 1))."""
    import torch  # noqa: PLC0415

    torch.manual_seed(seed)  # ART draws the random start from torch and numpy
    np.random.seed(seed)
    clf = art_classifier(model, data.x.shape[1:], data.num_classes)
    step = eps * np.float32(2.5 / steps)
    # ART's random start cannot broadcast per-sample budgets, so the bisection starts at x itself
    # (which also keeps its success monotone in eps); the scalar attack keeps one random start.
    starts = 0 if isinstance(eps, np.ndarray) else 1
    if isinstance(eps, np.floating):
        eps, step = float(eps), float(step)
    attack = art_evasion("the PGD attack").ProjectedGradientDescent(
        clf, norm=np.inf, eps=eps, eps_step=step, max_iter=steps, num_random_init=starts, batch_size=batch_size,
        verbose=False,
    )
    return attack.generate(data.x, y=_onehot(data)).astype(np.float32)


def _onehot(data: Dataset) -> np.ndarray:
    return np.eye(data.num_classes, dtype=np.float32)[data.y]


@dataclass(frozen=True)
class MinimalPerturbation:
    """Per-sample size of the smallest adversarial perturbation found (inf where none was found)."""

    norm: str  # "l2" or "linf"
    size: np.ndarray
    found: np.ndarray  # bool: an adversarial example was found within the search
    correct: np.ndarray  # bool: the clean sample was classified correctly (else size is 0)


def deepfool_l2(
    model: nn.Module, data: Dataset, *, max_iter: int = 50, overshoot: float = 0.02, batch_size: int = 256,
    progress: bool = False,
) -> MinimalPerturbation:
    """Smallest L2 perturbation that DeepFool finds for each sample."""
    check_dataset(data)
    check_model_fits(model, data)
    clf = art_classifier(model, data.x.shape[1:], data.num_classes)
    evasion = art_evasion("the DeepFool attack")
    attack = evasion.DeepFool(clf, max_iter=max_iter, epsilon=overshoot, nb_grads=data.num_classes,
                              batch_size=batch_size, verbose=progress)
    adv = attack.generate(data.x).astype(np.float32)
    correct = predict(model, data.x) == data.y
    found = (predict(model, adv) != data.y) | ~correct
    size = np.linalg.norm((adv - data.x).reshape(len(data), -1), axis=1)
    return MinimalPerturbation("l2", np.where(~correct, 0.0, np.where(found, size, np.inf)), found, correct)


def pgd_linf_bisection(
    model: nn.Module, data: Dataset, *, eps_max: float = 0.5, iterations: int = 7, steps: int = 10, seed: int = 0,
    batch_size: int = 256, progress: bool = False,
) -> MinimalPerturbation:
    """Smallest L-infinity budget at which PGD succeeds, by per-sample bisection on [0, eps_max]."""
    check_dataset(data)
    check_model_fits(model, data)
    _check_eps(eps_max)
    if iterations < 1:
        raise InputError(f"bisection iterations must be at least 1, got {iterations}")
    correct = predict(model, data.x) == data.y
    lo = np.zeros(len(data), dtype=np.float32)
    hi = np.full(len(data), np.float32(eps_max))
    found = _pgd_fools(model, data, hi, steps, seed, batch_size) | ~correct
    for it in progress_bar(range(iterations), enabled=progress, desc="PGD bisection"):
        mid = (lo + hi) / 2
        fooled = _pgd_fools(model, data, mid, steps, seed + it + 1, batch_size)
        hi = np.where(fooled, mid, hi)
        lo = np.where(fooled, lo, mid)
    size = np.where(~correct, 0.0, np.where(found, hi, np.inf))
    return MinimalPerturbation("linf", size, found, correct)


def _pgd_fools(model: nn.Module, data: Dataset, eps: np.ndarray, steps: int, seed: int, batch_size: int) -> np.ndarray:
    """Whether PGD at each sample's own budget changes its prediction away from the label."""
    adv = _pgd_generate(model, data, eps.reshape(-1, *([1] * (data.x.ndim - 1))), steps=steps, seed=seed,
                        batch_size=batch_size)
    return predict(model, adv) != data.y
