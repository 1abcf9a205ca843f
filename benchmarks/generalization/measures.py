"""Every measure of the study on one model, with its cost, plus the model's accuracies and losses.

All sharpness measures are computed on the model's own training data (noisy, poisoned or random labels
as trained), capped at `n_eval` samples: that is what an owner commits to in a certificate. The held-out
proxy uses a small clean held-out set, which a certificate does not have.
The direction seed for directional sharpness uses fixed dummy commitments (0x0, 0x0) and the model's name
as nonce: certification commitments are irrelevant to the study, a per-model direction is what matters.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

import flatness as fl  # benchmarks/generalization, on sys.path when run as a script
from zkcert.data import Dataset
from zkcert.direction import derive_seed
from zkcert.training import accuracy, mean_loss


@dataclass(frozen=True)
class MeasureConfig:
    """Settings of every measure; the defaults are the full study's."""

    n_eval: int = 1000
    ds_k: tuple[int, ...] = (1, 8)
    ds_eps: tuple[float, ...] = (1e-3, 1e-2, 1e-1)
    keskar_eps: float = 1e-3
    keskar_steps: int = 10
    sam_rho: float = 0.05
    avg_rho: float = 0.05
    avg_samples: int = 10
    worst_rho: float = 0.5
    worst_steps: int = 10
    hutchinson_samples: int = 10
    power_iters: int = 20
    pac_samples: int = 5
    pac_iters: int = 10

    def ds_names(self) -> list[str]:
        """Column names of the directional-sharpness variants."""
        return [f"ds_k{k}_eps{e:g}" for k in self.ds_k for e in self.ds_eps]


REFERENCE = "ds_k1_eps0.01"  # the measure other costs are expressed against


def _holdout_gap(model: nn.Module, train_eval: Dataset, proxy: Dataset) -> fl.Measurement:
    """Train accuracy minus accuracy on the small held-out set: the estimate of the gap users rely on today."""
    start = time.perf_counter()
    value = accuracy(model, train_eval) - accuracy(model, proxy)
    # one pass over the evaluation set plus one over the (smaller) held-out set
    return fl.Measurement(value, fl.Cost(1 + len(proxy) / len(train_eval), 0.0, time.perf_counter() - start))


def baselines(cfg: MeasureConfig, seed: int) -> dict[str, Callable[[fl.Objective, torch.Tensor], fl.Measurement]]:
    """The objective-based measures by column name, configured."""
    return {
        "keskar": lambda o, t: fl.keskar_sharpness(o, t, eps=cfg.keskar_eps, steps=cfg.keskar_steps, seed=seed),
        "sam_one_step": lambda o, t: fl.sam_sharpness(o, t, rho=cfg.sam_rho),
        "adaptive_avg": lambda o, t: fl.adaptive_average_sharpness(o, t, rho=cfg.avg_rho, samples=cfg.avg_samples, seed=seed),
        "adaptive_worst": lambda o, t: fl.adaptive_worst_sharpness(o, t, rho=cfg.worst_rho, steps=cfg.worst_steps, seed=seed),
        "hessian_trace": lambda o, t: fl.hessian_trace(o, t, samples=cfg.hutchinson_samples, seed=seed),
        "hessian_top_eig": lambda o, t: fl.hessian_top_eigenvalue(o, t, iters=cfg.power_iters, seed=seed),
        "pac_bayes_mag": lambda o, t: fl.pac_bayes_mag_flatness(o, t, samples=cfg.pac_samples, iters=cfg.pac_iters, seed=seed),
    }


def measure_all(model: nn.Module, train_data: Dataset, proxy: Dataset, cfg: MeasureConfig, seed: int, nonce: str) -> dict[str, float]:
    """A flat row: for each measure m, columns m, m__fwd, m__bwd, m__sec."""
    evalset = train_data.head(min(cfg.n_eval, len(train_data)))
    out: dict[str, fl.Measurement] = {"holdout_gap": _holdout_gap(model, evalset, proxy)}
    ds_seed = derive_seed("0x0", "0x0", nonce)
    for k in cfg.ds_k:
        for eps in cfg.ds_eps:
            out[f"ds_k{k}_eps{eps:g}"] = fl.directional(model, evalset, seed=ds_seed, k=k, eps=eps)
    for name, fn in baselines(cfg, seed).items():
        start = time.perf_counter()
        obj, theta = fl.model_objective(model, evalset)
        m = fn(obj, theta)
        # building the objective (a float64 copy of model and data) is part of the measure's cost
        out[name] = fl.Measurement(m.value, fl.Cost(m.cost.forward, m.cost.backward, time.perf_counter() - start))
    row: dict[str, float] = {}
    for name, m in out.items():
        row[name] = m.value
        row[f"{name}__fwd"] = m.cost.forward
        row[f"{name}__bwd"] = m.cost.backward
        row[f"{name}__sec"] = m.cost.seconds
    return row


def outcomes(model: nn.Module, train_data: Dataset, test: Dataset) -> dict[str, float]:
    """Train (on the data as trained) and test accuracy and loss, the accuracy gap and the loss gap."""
    tr_acc, te_acc = accuracy(model, train_data), accuracy(model, test)
    tr_loss, te_loss = mean_loss(model, train_data), mean_loss(model, test)
    return {
        "train_acc": tr_acc,
        "test_acc": te_acc,
        "train_loss": tr_loss,
        "test_loss": te_loss,
        "gap": tr_acc - te_acc,
        "loss_gap": te_loss - tr_loss,
    }
