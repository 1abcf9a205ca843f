"""Directional sharpness, the float reference: DS = sum_k sum_i [l(theta+eps d) - 2 l(theta) + l(theta-eps d)] / (N K eps^2)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, jvp

from .data import Dataset
from .errors import InputError
from .models import check_supported

__all__ = ["flat_params", "per_sample_losses", "second_differences", "directional_sharpness", "hvp_sharpness"]


def flat_params(model: nn.Module) -> np.ndarray:
    """All parameters in state-dict order as one float64 vector (the theta of the protocol)."""
    return torch.nn.utils.parameters_to_vector(model.parameters()).detach().double().numpy()


def _unflatten(model: nn.Module, vec: torch.Tensor) -> dict[str, torch.Tensor]:
    out, offset = {}, 0
    for name, p in model.named_parameters():
        out[name] = vec[offset : offset + p.numel()].view_as(p)
        offset += p.numel()
    return out


def per_sample_losses(model: nn.Module, data: Dataset, theta: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Cross-entropy of each sample at parameters theta, in float64."""
    model64 = _as_double(model)
    vec = torch.as_tensor(theta, dtype=torch.float64)
    logits = functional_call(model64, _unflatten(model64, vec), (torch.as_tensor(data.x, dtype=torch.float64),))
    return nn.functional.cross_entropy(logits, torch.as_tensor(data.y), reduction="none")


def _as_double(model: nn.Module) -> nn.Module:
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
    """DS(theta; D, d, eps) of shared/PROTOCOL.md."""
    diffs = second_differences(model, data, d, eps)
    return float(diffs.sum() / (diffs.size * eps**2))


def hvp_sharpness(model: nn.Module, data: Dataset, d: np.ndarray) -> float:
    """The eps -> 0 limit: mean over samples and directions of d^T H d, by forward-over-reverse HVPs."""
    model64 = _as_double(model)
    theta = torch.as_tensor(flat_params(model), dtype=torch.float64)
    x = torch.as_tensor(data.x, dtype=torch.float64)
    y = torch.as_tensor(data.y)

    def total_loss(vec: torch.Tensor) -> torch.Tensor:
        logits = functional_call(model64, _unflatten(model64, vec), (x,))
        return nn.functional.cross_entropy(logits, y, reduction="sum")

    quad = []
    for dk in torch.as_tensor(d, dtype=torch.float64):
        _, hvp = jvp(grad(total_loss), (theta,), (dk,))
        quad.append(float(dk @ hvp))
    return float(np.sum(quad) / (len(data) * len(quad)))
