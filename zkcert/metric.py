"""The certified metrics, float reference, and the one place that turns the circuit's sums into a metric value.

Both metrics share the numerator S = sum_k sum_i [l_i(theta + eps d_k) - 2 l_i(theta) + l_i(theta - eps d_k)]
(l the cross-entropy) and differ in what it is divided by (shared/PROTOCOL.md, "The metric"):
  "ds/v1"   DS  = S / (N K eps^2)                    statement: S <= T N K eps^2
  "rds/v1"  RDS = S / (K eps^2 sum_i l_i(theta))       statement: S <= T K eps^2 sum_i l_i(theta)
RDS is DS divided by the mean training loss L(theta): it removes the factor p(1 - p) by which
cross-entropy's curvature vanishes as a model interpolates its training set. Both sides of the RDS
inequality are sums over samples, so the circuit computes it at per-sample cost, with no division.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, jvp

from .data import Dataset
from .errors import InputError
from .models import check_supported

__all__ = [
    "DS", "RDS", "METRICS", "METRIC_NAMES", "DEFAULT_METRIC", "check_metric", "flat_params", "unflatten", "as_double", "per_sample_losses", "second_differences",
    "directional_sharpness", "mean_loss", "correct_mask", "loss_normalized_sharpness", "sharpness", "value_from_sums",
    "bound_coefficient", "divisor", "hvp_sharpness",
]

DS = "ds/v1"
RDS = "rds/v1"
METRICS = (DS, RDS)
DEFAULT_METRIC = RDS  # chosen by the pre-registered study; zkcert.preset's default statement
# What each metric is called in statements and output.
METRIC_NAMES = {DS: "directional sharpness", RDS: "loss-normalized directional sharpness"}


def check_metric(metric: str) -> str:
    """The metric name, or a one-line error naming the known ones."""
    if metric not in METRICS:
        raise InputError(f"unknown metric {metric!r}; known: {list(METRICS)}")
    return metric


def divisor(metric: str, n_samples: int, n_directions: int, epsilon: float) -> float:
    """What the numerator is divided by (before the loss sum for rds/v1): N K eps^2 for ds/v1, K eps^2 for rds/v1.

    The only place this product is written: the metric's value, the circuit's bound and the
    aggregation's bound all come from it.
    """
    k_eps2 = n_directions * epsilon**2
    return n_samples * k_eps2 if check_metric(metric) == DS else k_eps2


def value_from_sums(metric: str, numerator: float, loss_sum: float | None, n_samples: int, n_directions: int, epsilon: float) -> float:
    """The metric from the circuit's (or float) sums: S / (N K eps^2) for ds/v1, S / (K eps^2 sum l) for rds/v1."""
    d = divisor(metric, n_samples, n_directions, epsilon)
    if metric == DS:
        return numerator / d
    if loss_sum is None:
        raise InputError("rds/v1 needs the summed training loss")
    return numerator / (d * loss_sum) if loss_sum > 0 else float("inf")


def bound_coefficient(metric: str, threshold: float, n_samples: int, n_directions: int, epsilon: float) -> float:
    """c in the circuit's test: S <= c for ds/v1 (c = T N K eps^2), S <= c * sum l for rds/v1 (c = T K eps^2)."""
    return threshold * divisor(metric, n_samples, n_directions, epsilon)


def flat_params(model: nn.Module) -> np.ndarray:
    """All parameters of the committed (folded, zkcert.models.check_supported) model in state-dict order as one float64
    vector (the theta of the protocol)."""
    return torch.nn.utils.parameters_to_vector(check_supported(model).parameters()).detach().double().numpy()


def unflatten(model: nn.Module, vec: torch.Tensor) -> dict[str, torch.Tensor]:
    """The flat parameter vector (flat_params' order) as views named for torch.func.functional_call."""
    out, offset = {}, 0
    for name, p in model.named_parameters():
        out[name] = vec[offset : offset + p.numel()].view_as(p)
        offset += p.numel()
    return out


def per_sample_losses(model: nn.Module, data: Dataset, theta: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Cross-entropy of each sample at parameters theta, in float64."""
    model64 = as_double(model)
    vec = torch.as_tensor(theta, dtype=torch.float64)
    logits = functional_call(model64, unflatten(model64, vec), (torch.as_tensor(data.x, dtype=torch.float64),))
    return nn.functional.cross_entropy(logits, torch.as_tensor(data.y), reduction="none")


@torch.no_grad()
def correct_mask(model: nn.Module, data: Dataset) -> np.ndarray:
    """Whether each sample's label logit is the largest (a tie counts as correct, as in the circuit), in float64."""
    logits = as_double(model)(torch.as_tensor(data.x, dtype=torch.float64))
    label = logits.gather(1, torch.as_tensor(data.y, dtype=torch.int64).reshape(-1, 1))
    return (label >= logits.max(dim=1, keepdim=True).values).reshape(-1).numpy()


def as_double(model: nn.Module) -> nn.Module:
    """A float64 copy of a supported model, in eval mode (the float reference's precision); the model is unchanged."""
    import copy

    return copy.deepcopy(check_supported(model)).double().eval()


def second_differences(model: nn.Module, data: Dataset, d: np.ndarray, eps: float) -> np.ndarray:
    """Array (K, N) of l_i(theta + eps d_k) - 2 l_i(theta) + l_i(theta - eps d_k)."""
    if eps <= 0:
        raise InputError(f"epsilon must be positive, got {eps}")
    theta = flat_params(model)
    if d.ndim != 2 or d.shape[1] != theta.size:
        raise InputError(f"directions must have shape (K, {theta.size}), got {d.shape}")
    with torch.no_grad():
        base = per_sample_losses(model, data, theta)
        rows = [
            per_sample_losses(model, data, theta + eps * dk) - 2 * base + per_sample_losses(model, data, theta - eps * dk)
            for dk in d
        ]
    return torch.stack(rows).numpy()


def directional_sharpness(model: nn.Module, data: Dataset, d: np.ndarray, eps: float) -> float:
    """DS(theta; D, d, eps) of shared/PROTOCOL.md ("ds/v1")."""
    return sharpness(DS, model, data, d, eps)


def mean_loss(model: nn.Module, data: Dataset) -> float:
    """L(theta): the mean training cross-entropy, in float64."""
    with torch.no_grad():
        return float(per_sample_losses(model, data, flat_params(model)).mean())


def loss_normalized_sharpness(model: nn.Module, data: Dataset, d: np.ndarray, eps: float) -> float:
    """RDS = DS / L(theta) ("rds/v1")."""
    return sharpness(RDS, model, data, d, eps)


def sharpness(metric: str, model: nn.Module, data: Dataset, d: np.ndarray, eps: float) -> float:
    """The named metric along directions d (K, P), in float64."""
    diffs = second_differences(model, data, d, eps)
    loss_sum = None if check_metric(metric) == DS else mean_loss(model, data) * len(data)
    return value_from_sums(metric, float(diffs.sum()), loss_sum, len(data), d.shape[0], eps)


def hvp_sharpness(model: nn.Module, data: Dataset, d: np.ndarray) -> float:
    """The eps -> 0 limit: mean over samples and directions of d^T H d, by forward-over-reverse HVPs."""
    model64 = as_double(model)
    theta = torch.as_tensor(flat_params(model), dtype=torch.float64)
    x = torch.as_tensor(data.x, dtype=torch.float64)
    y = torch.as_tensor(data.y)

    def total_loss(vec: torch.Tensor) -> torch.Tensor:
        logits = functional_call(model64, unflatten(model64, vec), (x,))
        return nn.functional.cross_entropy(logits, y, reduction="sum")

    quad = []
    for dk in torch.as_tensor(d, dtype=torch.float64):
        _, hvp = jvp(grad(total_loss), (theta,), (dk,))
        quad.append(float(dk @ hvp))
    return float(np.sum(quad) / (len(data) * len(quad)))
