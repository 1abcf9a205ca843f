"""Each baseline measure on a case whose answer is known exactly: quadratics and a tiny network's exact Hessian."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "generalization"))
import flatness as fl  # noqa: E402  (the baselines only the benchmarks use)
from zkcert.data import Dataset
from zkcert.direction import derive_seed
from zkcert.errors import InputError
from zkcert.models import mlp
from zkcert.training import TrainConfig, train

SEED = derive_seed("0x1", "0x2", "test")


def quadratic(h: torch.Tensor, center: torch.Tensor, b: torch.Tensor | None = None) -> fl.Objective:
    """L(theta) = 0.5 (theta - c)^T H (theta - c) + b^T theta."""
    b = torch.zeros_like(center) if b is None else b

    def loss(theta: torch.Tensor) -> torch.Tensor:
        z = theta - center
        return 0.5 * z @ (h @ z) + b @ theta

    return fl.Objective(loss)


@pytest.fixture(scope="module")
def diag() -> tuple[torch.Tensor, torch.Tensor]:
    """A diagonal PSD Hessian with a clear top eigenvalue, and a minimiser with no zero entry."""
    h = torch.diag(torch.tensor([5.0, 1.0, 0.5, 0.2, 0.1], dtype=torch.float64))
    theta = torch.tensor([0.5, -1.0, 2.0, -0.3, 1.5], dtype=torch.float64)
    return h, theta


@pytest.fixture(scope="module")
def tiny() -> tuple[torch.nn.Sequential, Dataset, torch.Tensor]:
    """A 4-3-3 MLP trained on 40 Gaussian samples, and its exact Hessian of the mean loss."""
    gen = np.random.default_rng(0)
    x = gen.normal(size=(40, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5).astype(np.int64)
    data = Dataset(x, y, 3)
    torch.manual_seed(0)
    model = train(mlp(4, [3], 3), data, TrainConfig(epochs=50, lr=0.05, seed=0))
    obj, theta = fl.model_objective(model, data)
    hess = torch.autograd.functional.hessian(obj._loss, theta)
    return model, data, hess


def test_keskar_on_diagonal_quadratic_reaches_the_box_corner(diag):
    h, theta = diag
    m = fl.keskar_sharpness(quadratic(h, theta), theta, eps=1e-2, steps=10)
    bound = 1e-2 * (theta.abs() + 1)
    expected = 100 * 0.5 * float(bound @ (h @ bound))  # L(theta) = 0, so no (1 + L) rescaling
    assert m.value == pytest.approx(expected, rel=1e-9)
    assert m.cost.forward == 12 and m.cost.backward == 10


def test_keskar_is_zero_on_a_constant_loss_and_exact_on_a_linear_one(diag):
    _, theta = diag
    assert fl.keskar_sharpness(fl.Objective(lambda t: t.sum() * 0 + 3.0), theta).value == 0.0
    a = torch.tensor([1.0, -2.0, 0.0, 3.0, -0.5], dtype=torch.float64)
    m = fl.keskar_sharpness(fl.Objective(lambda t: a @ t), theta, eps=1e-3)
    base = float(a @ theta)
    assert m.value == pytest.approx(100 * float(a.abs() @ (1e-3 * (theta.abs() + 1))) / (1 + base), rel=1e-9)


def test_sam_one_step_matches_closed_form(diag):
    h, theta = diag
    b = torch.tensor([0.3, 0.0, -0.2, 0.1, 0.4], dtype=torch.float64)
    center = torch.zeros(5, dtype=torch.float64)
    obj = quadratic(h, center, b)
    g = h @ theta + b
    delta = 0.05 * g / g.norm()
    expected = float(g @ delta + 0.5 * delta @ (h @ delta))
    m = fl.sam_sharpness(obj, theta, rho=0.05)
    assert m.value == pytest.approx(expected, rel=1e-9)
    assert (m.cost.forward, m.cost.backward) == (2, 1)


def test_adaptive_average_is_half_rho2_sum_h_theta2(diag):
    h, theta = diag
    m = fl.adaptive_average_sharpness(quadratic(h, theta), theta, rho=0.1, samples=4000)
    expected = 0.5 * 0.1**2 * float(torch.diagonal(h) @ theta**2)
    assert m.value == pytest.approx(expected, rel=0.06)
    assert m.cost.forward == 4001


def test_adaptive_worst_is_half_rho2_top_of_scaled_hessian(diag):
    h, theta = diag
    m = fl.adaptive_worst_sharpness(quadratic(h, theta), theta, rho=0.5, steps=60)
    expected = 0.5 * 0.5**2 * float((torch.diagonal(h) * theta**2).max())
    assert m.value == pytest.approx(expected, rel=1e-3)
    assert m.value <= expected * (1 + 1e-9)  # never beyond the true maximum of the ball


def test_hutchinson_is_exact_for_diagonal_and_close_on_a_network(diag, tiny):
    h, theta = diag
    assert fl.hessian_trace(quadratic(h, theta), theta, samples=3).value == pytest.approx(float(h.trace()), rel=1e-12)
    model, data, hess = tiny
    obj, th = fl.model_objective(model, data)
    m = fl.hessian_trace(obj, th, samples=800, seed=1)
    exact = float(hess.trace())
    assert exact > 0
    # Rademacher variance is 2 * sum of squared off-diagonals; with 800 samples, put 4 std errors inside this.
    stderr = float(torch.sqrt(2 * ((hess**2).sum() - (torch.diagonal(hess) ** 2).sum()) / 800))
    assert abs(m.value - exact) < 4 * stderr + 1e-9
    assert (m.cost.forward, m.cost.backward) == (800, 1600)


def test_power_iteration_matches_exact_top_eigenvalue(tiny):
    model, data, hess = tiny
    obj, theta = fl.model_objective(model, data)
    eigs = torch.linalg.eigvalsh(hess)
    top = float(eigs[eigs.abs().argmax()])
    m = fl.hessian_top_eigenvalue(obj, theta, iters=500, tol=1e-10)
    assert m.value == pytest.approx(top, rel=1e-4)


def test_hvp_matches_exact_hessian(tiny):
    model, data, hess = tiny
    obj, theta = fl.model_objective(model, data)
    v = torch.randn(theta.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    torch.testing.assert_close(obj.hvp(theta, v), hess @ v, rtol=1e-8, atol=1e-10)


def test_pac_bayes_on_quadratic_loss(diag):
    h, theta = diag
    m = fl.pac_bayes_mag_flatness(quadratic(h, theta), theta, target=0.1, samples=3000, floor=0.0, iters=40, on="loss")
    # E dev(alpha) = 0.5 alpha^2 sum h theta^2 = target  =>  1/alpha^2 = sum h theta^2 / (2 target)
    expected = float(torch.diagonal(h) @ theta**2) / (2 * 0.1)
    assert m.value == pytest.approx(expected, rel=0.06)


def test_pac_bayes_error_needs_an_error_function(diag):
    h, theta = diag
    with pytest.raises(InputError, match="no 0-1 error"):
        fl.pac_bayes_mag_flatness(quadratic(h, theta), theta)
    with pytest.raises(InputError, match="on must be"):
        fl.pac_bayes_mag_flatness(quadratic(h, theta), theta, on="acc")


def test_sharper_network_scores_higher_on_every_measure(tiny):
    """Scaling the logits by 4 (last layer weights and bias) sharpens the loss: every measure must rise."""
    model, data, _ = tiny
    sharp = __import__("copy").deepcopy(model)
    with torch.no_grad():
        sharp[-1].weight.mul_(4)
        sharp[-1].bias.mul_(4)
    for fn in (fl.hessian_trace, fl.hessian_top_eigenvalue):
        a = fn(*fl.model_objective(model, data)).value
        b = fn(*fl.model_objective(sharp, data)).value
        assert b > a


def test_directional_calls_the_metric_and_counts_forward_passes(tiny):
    from zkcert import metric
    from zkcert.direction import directions, scale_invariant

    model, data, _ = tiny
    m = fl.directional(model, data, seed=SEED, k=3, eps=1e-2)
    theta = metric.flat_params(model)
    d = scale_invariant(directions(SEED, theta.size, 3), theta)
    assert m.value == metric.directional_sharpness(model, data, d, 1e-2)
    assert m.cost.forward == pytest.approx(1 + 2 * 3)
    assert m.cost.backward == 0 and m.cost.seconds > 0
    assert not model._forward_pre_hooks  # the counting hook is removed
