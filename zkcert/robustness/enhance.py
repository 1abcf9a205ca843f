"""Validation-guided fine-tuning: augment with the perturbations the weak-robust set fails most.

Strategies compared on the same budget (same number of extra samples, epochs, seed):
'none' (the model as is), 'clean' (fine-tune on clean copies: isolates the effect of more
training), 'uniform' (random training samples, every perturbation type) and 'guided' (only the
weakest perturbation types, on the weak-robust samples and, by default, as many random ones).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import nn

from ..data import Dataset
from ..errors import InputError
from ..training import TrainConfig, train
from ._common import SEVERITIES, check_dataset
from .evaluate import Evaluation, random_subset
from .perturbations import PERTURBATIONS, check_perturbations, perturb

__all__ = ["EnhanceConfig", "EnhanceResult", "weakest_perturbations", "augmented_pool", "enhance", "STRATEGIES"]

STRATEGIES = ("none", "clean", "uniform", "guided")


@dataclass(frozen=True)
class EnhanceConfig:
    """Fine-tuning budget shared by every strategy."""

    top_types: int = 3  # how many of the weakest perturbation types guide the augmentation
    copies: int = 5  # perturbed copies per selected sample
    epochs: int = 3
    lr: float = 0.01
    batch_size: int = 64
    seed: int = 0
    # Share of the guided copies made from weak-robust samples; the rest come from random training
    # samples with the same types, so the model does not only see near-boundary examples.
    weak_fraction: float = 0.5


@dataclass(frozen=True)
class EnhanceResult:
    """The fine-tuned models by strategy, and the perturbation types that guided 'guided'."""

    models: dict[str, nn.Module]
    guided_types: tuple[str, ...]
    pool_size: int


def weakest_perturbations(evaluation: Evaluation, *, set_name: str = "weak", top: int = 3) -> tuple[str, ...]:
    """The `top` perturbation types with the lowest mean accuracy on the set (ties by name)."""
    names = evaluation.perturbations()
    if top < 1 or top > len(names):
        raise InputError(f"top_types must be in [1, {len(names)}], got {top}")
    return tuple(sorted(names, key=lambda p: (evaluation.mean_accuracy(set_name, p), p))[:top])


def augmented_pool(
    model: nn.Module, data: Dataset, idx: np.ndarray, types: Sequence[str], *, copies: int, seed: int = 0
) -> Dataset:
    """`copies` perturbed copies of data[idx], each with a random type from `types` and a random severity.

    Adversarial copies are made against `model` once, before fine-tuning (static adversarial
    augmentation): cheaper than regenerating them every step, and the same for every strategy.
    """
    types = check_perturbations(list(types))
    if copies < 1:
        raise InputError(f"copies must be at least 1, got {copies}")
    rng = np.random.default_rng(seed)
    base = np.tile(np.asarray(idx), copies)
    kind = rng.integers(len(types), size=base.size)
    sev = rng.choice(SEVERITIES, size=base.size)
    xs = np.empty((base.size,) + data.x.shape[1:], dtype=np.float32)
    for t in range(len(types)):
        for s in SEVERITIES:
            mask = (kind == t) & (sev == s)
            if mask.any():
                part = data.subset(base[mask], "pool")
                xs[mask] = perturb(model, part, types[t], int(s), seed=seed + 1000 * t + s)
    return Dataset(xs, data.y[base], data.num_classes, f"{data.name}[augmented]")


def _guided_pool(
    model: nn.Module, data: Dataset, weak_idx: np.ndarray, rand_idx: np.ndarray, types: Sequence[str],
    config: EnhanceConfig,
) -> Dataset:
    """Perturbed copies of the weak-robust samples (weak_fraction of them) and of random samples."""
    if not 0.0 < config.weak_fraction <= 1.0:
        raise InputError(f"weak_fraction must lie in (0, 1], got {config.weak_fraction}")
    n_weak = max(1, int(round(config.copies * config.weak_fraction)))
    pools = [augmented_pool(model, data, weak_idx, types, copies=n_weak, seed=config.seed)]
    if config.copies > n_weak:
        pools.append(augmented_pool(model, data, rand_idx, types, copies=config.copies - n_weak, seed=config.seed + 1))
    return Dataset(np.concatenate([p.x for p in pools]), np.concatenate([p.y for p in pools]), data.num_classes,
                   f"{data.name}[guided]")


def _fine_tune(model: nn.Module, train_data: Dataset, pool: Dataset | None, config: EnhanceConfig) -> nn.Module:
    """A copy of the model trained further on the training set plus the pool."""
    tuned = copy.deepcopy(model)
    data = train_data if pool is None else Dataset(
        np.concatenate([train_data.x, pool.x]), np.concatenate([train_data.y, pool.y]), train_data.num_classes,
        f"{train_data.name}+pool",
    )
    cfg = TrainConfig(epochs=config.epochs, lr=config.lr, batch_size=config.batch_size, seed=config.seed)
    return train(tuned, data, cfg)


def enhance(
    model: nn.Module, train_data: Dataset, weak_idx: np.ndarray, evaluation: Evaluation, *,
    config: EnhanceConfig = EnhanceConfig(), strategies: Sequence[str] = STRATEGIES,
    perturbations: Sequence[str] = PERTURBATIONS,
) -> EnhanceResult:
    """Fine-tune copies of the model by each strategy; the input model is left untouched."""
    check_dataset(train_data, what="training data")
    weak_idx = np.asarray(weak_idx)
    if weak_idx.size == 0:
        raise InputError("the weak-robust selection is empty; nothing to guide fine-tuning")
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise InputError(f"unknown strategy {unknown}; choose from {list(STRATEGIES)}")
    guided = weakest_perturbations(evaluation, top=config.top_types)
    rand_idx = random_subset(train_data, weak_idx.size, seed=config.seed + 1)
    models: dict[str, nn.Module] = {}
    torch.manual_seed(config.seed)
    for strategy in strategies:
        if strategy == "none":
            models[strategy] = copy.deepcopy(model).eval()
            continue
        if strategy == "clean":
            base = np.tile(rand_idx, config.copies)
            pool = train_data.subset(base, "clean copies")
        elif strategy == "uniform":
            pool = augmented_pool(model, train_data, rand_idx, check_perturbations(list(perturbations)),
                                  copies=config.copies, seed=config.seed)
        else:
            pool = _guided_pool(model, train_data, weak_idx, rand_idx, guided, config)
        models[strategy] = _fine_tune(model, train_data, pool, config)
    return EnhanceResult(models, guided, int(weak_idx.size * config.copies))
