"""One registry of perturbations: adversarial attacks and common corruptions, each at severities 1..5."""

from __future__ import annotations

import numpy as np
from torch import nn

from ..data import Dataset
from ..errors import InputError
from ._common import SEVERITIES, size_key
from .attacks import fgsm, pgd
from .corruptions import CORRUPTIONS, corrupt

__all__ = ["ADVERSARIAL", "PERTURBATIONS", "ADV_EPS", "perturb", "adversarial_eps", "check_perturbations"]

ADVERSARIAL = ("fgsm", "pgd")
PERTURBATIONS = ADVERSARIAL + tuple(CORRUPTIONS)

# L-infinity budgets for severities 1..5. CIFAR: the usual k/255 ladder; grey digits tolerate more.
ADV_EPS = {
    "cifar": (1 / 255, 2 / 255, 4 / 255, 8 / 255, 16 / 255),
    "mnist": (0.02, 0.05, 0.1, 0.15, 0.2),
    "digits": (0.02, 0.05, 0.1, 0.15, 0.2),
}


def adversarial_eps(data: Dataset, severity: int) -> float:
    """The L-infinity budget that severity 1..5 means for this kind of image."""
    return ADV_EPS[size_key(data.x.shape[1:])][severity - 1]


def check_perturbations(names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Validate a list of perturbation names."""
    names = tuple(names)
    if not names:
        raise InputError("the list of perturbations is empty")
    unknown = [n for n in names if n not in PERTURBATIONS]
    if unknown:
        raise InputError(f"unknown perturbation(s) {unknown}; choose from {list(PERTURBATIONS)}")
    return names


def perturb(model: nn.Module, data: Dataset, name: str, severity: int, *, seed: int = 0) -> np.ndarray:
    """Perturbed copy of data.x: an attack on `model` (white-box) or a corruption (model-free)."""
    check_perturbations([name])
    if severity not in SEVERITIES:
        raise InputError(f"severity must be an integer from 1 to 5, got {severity!r}")
    if name == "fgsm":
        return fgsm(model, data, adversarial_eps(data, severity))
    if name == "pgd":
        return pgd(model, data, adversarial_eps(data, severity), seed=seed)
    return corrupt(data.x, name, severity, seed=seed)
