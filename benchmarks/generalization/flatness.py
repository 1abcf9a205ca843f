"""Baseline flatness measures, each once, each reporting its cost in forward/backward passes and seconds.

Every baseline takes an `Objective` (the mean training loss as a function of a flat parameter vector,
which counts the passes it makes) and the parameters theta; `model_objective` builds one from a model.
Directional sharpness itself is not re-implemented here: `directional` calls zkcert.metric.

References:
  Keskar et al. 2017, On large-batch training for deep learning (eps-sharpness).
  Foret et al. 2021, Sharpness-aware minimization (one-step sharpness).
  Andriushchenko et al. 2023, A modern look at the relationship between sharpness and generalization.
  Jiang et al. 2019, Fantastic generalization measures and where to find them (pacbayes.mag.flatness).
  Hutchinson 1990 (trace estimator); power iteration on Hessian-vector products (Pearlmutter 1994).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, jvp

from zkcert import metric
from zkcert.data import Dataset
from zkcert.direction import directions, scale_invariant
from zkcert.errors import InputError
from zkcert.models import check_supported

__all__ = [
    "Cost",
    "Measurement",
    "Objective",
    "model_objective",
    "directional",
    "keskar_sharpness",
    "sam_sharpness",
    "adaptive_average_sharpness",
    "adaptive_worst_sharpness",
    "hessian_trace",
    "hessian_top_eigenvalue",
    "pac_bayes_mag_flatness",
]

Fn = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class Cost:
    """Passes over the evaluation set (a Hessian-vector product counts 1 forward + 2 backward) and seconds."""

    forward: float = 0.0
    backward: float = 0.0
    seconds: float = 0.0


@dataclass(frozen=True)
class Measurement:
    """A measure's value and what computing it cost."""

    value: float
    cost: Cost = field(default_factory=Cost)


class Objective:
    """L(theta) on a fixed evaluation set, with its gradient and HVPs, counting every pass in `cost`."""

    def __init__(self, loss: Fn, *, error: Fn | None = None):
        self._loss = loss
        self._error = error
        self.cost = Cost()

    def value(self, theta: torch.Tensor) -> float:
        """L(theta)."""
        self.cost.forward += 1
        with torch.no_grad():
            return float(self._loss(theta))

    def error(self, theta: torch.Tensor) -> float:
        """0-1 error at theta (needs an error function)."""
        if self._error is None:
            raise InputError("this objective has no 0-1 error; build it with model_objective or pass error=")
        self.cost.forward += 1
        with torch.no_grad():
            return float(self._error(theta))

    def grad(self, theta: torch.Tensor) -> tuple[float, torch.Tensor]:
        """(L(theta), gradient)."""
        self.cost.forward += 1
        self.cost.backward += 1
        t = theta.detach().clone().requires_grad_(True)
        loss = self._loss(t)
        (g,) = torch.autograd.grad(loss, t)
        return float(loss.detach()), g

    def hvp(self, theta: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """H(theta) v by forward-over-reverse differentiation."""
        self.cost.forward += 1
        self.cost.backward += 2
        return jvp(grad(self._loss), (theta,), (v,))[1]


def model_objective(model: nn.Module, data: Dataset) -> tuple[Objective, torch.Tensor]:
    """Mean cross-entropy of `model` on `data` in float64 as an Objective, and the model's flat theta."""
    model64 = copy.deepcopy(check_supported(model)).double().eval()
    names = [(n, p.shape, p.numel()) for n, p in model64.named_parameters()]
    x = torch.as_tensor(data.x, dtype=torch.float64)
    y = torch.as_tensor(data.y)

    def logits(theta: torch.Tensor) -> torch.Tensor:
        params, offset = {}, 0
        for name, shape, n in names:
            params[name] = theta[offset : offset + n].view(shape)
            offset += n
        return functional_call(model64, params, (x,))

    def loss(theta: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(logits(theta), y)

    def error(theta: torch.Tensor) -> torch.Tensor:
        return (logits(theta).argmax(dim=1) != y).double().mean()

    return Objective(loss, error=error), torch.as_tensor(metric.flat_params(model))


def _timed(obj: Objective, start: float, value: float) -> Measurement:
    """Freeze the objective's pass counts and the seconds since `start` into a Measurement."""
    cost = Cost(obj.cost.forward, obj.cost.backward, time.perf_counter() - start)
    obj.cost = Cost()
    return Measurement(value, cost)


def _rng(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def directional(model: nn.Module, data: Dataset, *, seed: bytes, k: int, eps: float) -> Measurement:
    """Directional sharpness via zkcert.metric, with d = r * |theta| from the seed; counts forward passes."""
    start = time.perf_counter()
    theta = metric.flat_params(model)
    d = scale_invariant(directions(seed, theta.size, k), theta)
    passes = [0.0]

    def count(module: nn.Module, args: tuple) -> None:
        passes[0] += args[0].shape[0] / len(data)

    # The metric deep-copies the model; the copy keeps this hook (functions are copied by reference).
    handle = model.register_forward_pre_hook(count)
    try:
        value = metric.directional_sharpness(model, data, d, eps)
    finally:
        handle.remove()
    return Measurement(value, Cost(passes[0], 0.0, time.perf_counter() - start))


def keskar_sharpness(obj: Objective, theta: torch.Tensor, *, eps: float = 1e-3, steps: int = 10, seed: int = 0) -> Measurement:
    """100 * (max_{|z_i| <= eps(|theta_i|+1)} L(theta+z) - L) / (1 + L), by projected sign-gradient ascent."""
    # Keskar et al. maximise with L-BFGS-B; projected sign ascent from a random point of the box reaches the
    # same corners on the convex quadratics of the tests and needs no scipy round trip of a 1e5-vector.
    start = time.perf_counter()
    bound = eps * (theta.abs() + 1)
    base = obj.value(theta)
    z = (torch.rand(theta.shape, generator=_rng(seed), dtype=theta.dtype) * 2 - 1) * bound
    best = -np.inf
    for _ in range(steps):
        loss, g = obj.grad(theta + z)
        best = max(best, loss)
        z = torch.clamp(z + 0.25 * bound * torch.sign(g), -bound, bound)
    best = max(best, obj.value(theta + z))
    return _timed(obj, start, 100.0 * (best - base) / (1.0 + base))


def sam_sharpness(obj: Objective, theta: torch.Tensor, *, rho: float = 0.05) -> Measurement:
    """L(theta + rho g/|g|) - L(theta): SAM's one-step first-order approximation of the worst case."""
    start = time.perf_counter()
    base, g = obj.grad(theta)
    norm = float(g.norm())
    if norm == 0.0:
        return _timed(obj, start, 0.0)
    return _timed(obj, start, obj.value(theta + rho * g / norm) - base)


def adaptive_average_sharpness(obj: Objective, theta: torch.Tensor, *, rho: float = 0.05, samples: int = 10, seed: int = 0) -> Measurement:
    """E_{delta ~ N(0, rho^2 diag(theta^2))} L(theta+delta) - L(theta), by Monte Carlo."""
    start = time.perf_counter()
    gen = _rng(seed)
    base = obj.value(theta)
    total = 0.0
    for _ in range(samples):
        z = torch.randn(theta.shape, generator=gen, dtype=theta.dtype)
        total += obj.value(theta + rho * theta.abs() * z)
    return _timed(obj, start, total / samples - base)


def adaptive_worst_sharpness(obj: Objective, theta: torch.Tensor, *, rho: float = 0.5, steps: int = 20, seed: int = 0) -> Measurement:
    """max_{|delta / |theta| |_2 <= rho} L(theta+delta) - L(theta), by normalised gradient ascent in u = delta/|theta|."""
    # Andriushchenko et al. use Auto-PGD; plain normalised ascent with projection is what fits a 2-core budget.
    start = time.perf_counter()
    scale = theta.abs()
    u = torch.randn(theta.shape, generator=_rng(seed), dtype=theta.dtype)
    u = 0.1 * rho * u / u.norm()  # a random start: at a minimum the gradient is zero
    base = obj.value(theta)
    best = base
    for _ in range(steps):
        loss, g = obj.grad(theta + scale * u)
        best = max(best, loss)
        gu = scale * g
        norm = float(gu.norm())
        if norm == 0.0:
            break
        u = u + rho * gu / norm
        u = u * min(1.0, rho / float(u.norm()))
    best = max(best, obj.value(theta + scale * u))
    return _timed(obj, start, best - base)


def hessian_trace(obj: Objective, theta: torch.Tensor, *, samples: int = 20, seed: int = 0) -> Measurement:
    """Hutchinson's estimate of tr H: mean of v^T H v over Rademacher v."""
    start = time.perf_counter()
    gen = _rng(seed)
    total = 0.0
    for _ in range(samples):
        v = torch.randint(0, 2, theta.shape, generator=gen).to(theta.dtype) * 2 - 1
        total += float(v @ obj.hvp(theta, v))
    return _timed(obj, start, total / samples)


def hessian_top_eigenvalue(obj: Objective, theta: torch.Tensor, *, iters: int = 20, tol: float = 1e-4, seed: int = 0) -> Measurement:
    """The eigenvalue of H of largest magnitude, by power iteration on HVPs (Rayleigh quotient)."""
    start = time.perf_counter()
    v = torch.randn(theta.shape, generator=_rng(seed), dtype=theta.dtype)
    v = v / v.norm()
    eig = 0.0
    for _ in range(iters):
        hv = obj.hvp(theta, v)
        new = float(v @ hv)
        norm = float(hv.norm())
        if norm == 0.0:
            return _timed(obj, start, 0.0)
        v = hv / norm
        if abs(new - eig) <= tol * max(abs(new), 1e-12):
            eig = new
            break
        eig = new
    return _timed(obj, start, eig)


def pac_bayes_mag_flatness(
    obj: Objective,
    theta: torch.Tensor,
    *,
    target: float = 0.1,
    samples: int = 5,
    floor: float = 1e-3,
    iters: int = 12,
    on: str = "error",
    seed: int = 0,
) -> Measurement:
    """1/alpha^2 for the largest alpha with E_u[f(theta+u)] - f(theta) <= target, u_i ~ N(0, alpha^2 theta_i^2 + floor^2).

    f is the 0-1 training error (on="error", as in Jiang et al.'s pacbayes.mag.flatness) or the loss.
    The noise draws are fixed across the search (common random numbers), so the deviation is monotone
    enough in alpha for bisection on log(alpha) in [1e-4, 10].
    """
    if on not in ("error", "loss"):
        raise InputError(f"on must be 'error' or 'loss', got {on!r}")
    start = time.perf_counter()
    f = obj.error if on == "error" else obj.value
    gen = _rng(seed)
    noise = [torch.randn(theta.shape, generator=gen, dtype=theta.dtype) for _ in range(samples)]
    base = f(theta)

    def deviation(alpha: float) -> float:
        std = torch.sqrt(alpha**2 * theta**2 + floor**2)
        return float(np.mean([f(theta + std * z) for z in noise])) - base

    lo, hi = np.log(1e-4), np.log(10.0)
    if deviation(float(np.exp(hi))) <= target:
        return _timed(obj, start, float(np.exp(-2 * hi)))
    for _ in range(iters):
        mid = (lo + hi) / 2
        if deviation(float(np.exp(mid))) <= target:
            lo = mid
        else:
            hi = mid
    return _timed(obj, start, float(np.exp(-2 * lo)))
