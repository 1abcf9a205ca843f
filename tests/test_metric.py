import copy

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from zkcert.direction import directions, scale_invariant
from zkcert.errors import InputError
from zkcert.direction import FAMILIES
from zkcert.metric import (
    DS, RDS, bound_coefficient, directional_sharpness, flat_params, hvp_sharpness, loss_normalized_sharpness, mean_loss,
    second_differences, value_from_sums,
)


def _direction(model, k=2):
    theta = flat_params(model)
    return scale_invariant(directions(b"metric-test", theta.size, k), theta)


def test_converges_to_hvp_as_eps_shrinks(tiny_mlp, tiny_data):
    d = _direction(tiny_mlp)
    exact = hvp_sharpness(tiny_mlp, tiny_data, d)
    errors = [abs(directional_sharpness(tiny_mlp, tiny_data, d, eps) - exact) for eps in (0.2, 0.05, 0.0125)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] / abs(exact) < 1e-2


def test_second_differences_shape_and_definition(tiny_mlp, tiny_data):
    d = _direction(tiny_mlp, k=3)
    diffs = second_differences(tiny_mlp, tiny_data, d, 0.1)
    assert diffs.shape == (3, len(tiny_data))
    assert directional_sharpness(tiny_mlp, tiny_data, d, 0.1) == pytest.approx(diffs.sum() / (diffs.size * 0.01))


def test_rejects_bad_eps_and_direction(tiny_mlp, tiny_data):
    d = _direction(tiny_mlp)
    with pytest.raises(InputError, match="epsilon must be positive"):
        second_differences(tiny_mlp, tiny_data, d, 0.0)
    with pytest.raises(InputError, match="directions must have shape"):
        second_differences(tiny_mlp, tiny_data, d[:, :5], 0.1)


def _rescaled(model, alpha: float):
    """Layer 1 (weights and bias) times alpha, layer 2's weights over alpha: the same function for ReLU nets."""
    rescaled = copy.deepcopy(model)
    with torch.no_grad():
        rescaled[1].weight.mul_(alpha)
        rescaled[1].bias.mul_(alpha)
        rescaled[3].weight.div_(alpha)
    return rescaled


@settings(max_examples=8, deadline=None)
@given(alpha=st.floats(min_value=0.25, max_value=4.0))
def test_invariant_under_relu_rescaling(tiny_mlp, tiny_data, alpha):
    """Scaling layer 1 by alpha and layer 2 by 1/alpha leaves the function and, with d = r|theta|, DS unchanged."""
    rescaled = _rescaled(tiny_mlp, alpha)
    r = directions(b"rescale", flat_params(tiny_mlp).size, 1)
    ds = directional_sharpness(tiny_mlp, tiny_data, scale_invariant(r, flat_params(tiny_mlp)), 0.1)
    ds_rescaled = directional_sharpness(rescaled, tiny_data, scale_invariant(r, flat_params(rescaled)), 0.1)
    assert ds_rescaled == pytest.approx(ds, rel=1e-6)


def test_plain_direction_is_not_rescaling_invariant(tiny_mlp, tiny_data):
    """Control for the test above: with d = r (no |theta|) rescaling does change the value."""
    rescaled = copy.deepcopy(tiny_mlp)
    with torch.no_grad():
        rescaled[1].weight.mul_(3.0)
        rescaled[1].bias.mul_(3.0)
        rescaled[3].weight.div_(3.0)
    r = directions(b"rescale", flat_params(tiny_mlp).size, 1).astype(np.float64) * 0.05
    assert directional_sharpness(rescaled, tiny_data, r, 0.1) != pytest.approx(directional_sharpness(tiny_mlp, tiny_data, r, 0.1), rel=1e-3)


def _family_direction(model, family, k=2, seed=b"metric-test"):
    from zkcert.direction import family_directions, family_signs
    from zkcert.models import layer_configs

    layers, theta = layer_configs(model), flat_params(model)
    return family_directions(family, family_signs(family, seed, layers, theta.size, k), theta, layers)


@pytest.mark.parametrize("family", FAMILIES)
def test_rds_is_hvp_over_the_mean_loss_in_the_limit(tiny_mlp, tiny_data, family):
    """rds/v1 against an independent computation: the exact Hessian-vector products over the mean cross-entropy."""
    d = _family_direction(tiny_mlp, family)
    with torch.no_grad():
        loss = float(torch.nn.functional.cross_entropy(tiny_mlp(torch.as_tensor(tiny_data.x)).double(), torch.as_tensor(tiny_data.y)))
    exact = hvp_sharpness(tiny_mlp, tiny_data, d) / loss
    assert loss_normalized_sharpness(tiny_mlp, tiny_data, d, 1e-3) == pytest.approx(exact, rel=1e-3)
    assert mean_loss(tiny_mlp, tiny_data) == pytest.approx(loss, rel=1e-5)


def test_metric_from_sums_is_the_documented_formula():
    assert value_from_sums(DS, 3.0, None, 4, 2, 0.5) == pytest.approx(3.0 / (4 * 2 * 0.25))
    assert value_from_sums(RDS, 3.0, 6.0, 4, 2, 0.5) == pytest.approx(3.0 / (2 * 0.25 * 6.0))
    # The circuit's test is S <= c (ds) or S <= c * sum l (rds): c must make "value <= T" the same statement.
    assert bound_coefficient(DS, 7.0, 4, 2, 0.5) == pytest.approx(7.0 * 4 * 2 * 0.25)
    assert bound_coefficient(RDS, 7.0, 4, 2, 0.5) == pytest.approx(7.0 * 2 * 0.25)
    with pytest.raises(InputError, match="unknown metric"):
        value_from_sums("ds/v9", 1.0, 1.0, 1, 1, 1.0)


def test_row_sign_step_scales_each_unit(tiny_mlp, tiny_data):
    """theta + eps d for row-sign/v1 is each unit's incoming weights and bias scaled by (1 + eps a_j)."""
    from zkcert.direction import ROW_SIGN, family_signs
    from zkcert.models import layer_configs

    theta = flat_params(tiny_mlp)
    a = family_signs(ROW_SIGN, b"rows", layer_configs(tiny_mlp), theta.size, 1)
    d = _family_direction(tiny_mlp, ROW_SIGN, k=1, seed=b"rows")[0]
    w1 = tiny_mlp[1].weight.detach().double().numpy()
    stepped_w1 = (theta + 0.1 * d)[: w1.size].reshape(w1.shape)
    np.testing.assert_allclose(stepped_w1, w1 * (1 + 0.1 * a[0, : w1.shape[0], None]))


@settings(max_examples=8, deadline=None)
@given(alpha=st.floats(min_value=0.25, max_value=4.0))
def test_rds_row_sign_invariant_under_relu_rescaling(tiny_mlp, tiny_data, alpha):
    """rds/v1 with row-sign/v1 keeps the rescaling invariance: an owner cannot look flat by rescaling layers."""
    from zkcert.direction import ROW_SIGN

    rescaled = _rescaled(tiny_mlp, alpha)
    values = [loss_normalized_sharpness(m, tiny_data, _family_direction(m, ROW_SIGN, seed=b"rescale"), 0.1) for m in (tiny_mlp, rescaled)]
    assert values[1] == pytest.approx(values[0], rel=1e-6)


def _tiny_cnn() -> torch.nn.Sequential:
    """Conv(1->3) -> ReLU -> MaxPool -> Conv(3->4) -> ReLU -> AvgPool -> Flatten -> Linear, on 8x8 inputs (seeded)."""
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
                         nn.AvgPool2d(2), nn.Flatten(), nn.Linear(16, 10)).eval()


def _channel_rescaled(model, alphas: list[float]):
    """Channel c of each conv (filter and bias) times alpha_c, and the next layer's inputs from it over alpha_c:
    the same function, since ReLU and both poolings commute with a positive per-channel scale."""
    rescaled, (a1, a2) = copy.deepcopy(model), (torch.tensor(alphas[:3]), torch.tensor(alphas[3:]))
    with torch.no_grad():
        rescaled[0].weight.mul_(a1.reshape(-1, 1, 1, 1))
        rescaled[0].bias.mul_(a1)
        rescaled[3].weight.div_(a1.reshape(1, -1, 1, 1)).mul_(a2.reshape(-1, 1, 1, 1))
        rescaled[3].bias.mul_(a2)
        rescaled[7].weight.div_(a2.repeat_interleave(4).reshape(1, -1))  # Flatten: each channel's 2x2 features
    return rescaled


@settings(max_examples=8, deadline=None)
@given(alphas=st.lists(st.floats(min_value=0.25, max_value=4.0), min_size=7, max_size=7))
def test_row_sign_invariant_under_per_channel_rescaling_of_conv_layers(tiny_data, alphas):
    """row-sign/v1 on a CNN: one sign per output channel, so rescaling channels (as a ReLU CNN allows) changes neither the
    function nor ds/v1 nor rds/v1 along the same signs."""
    from zkcert.direction import ROW_SIGN

    model = _tiny_cnn()
    rescaled = _channel_rescaled(model, alphas)
    x = torch.as_tensor(tiny_data.x)
    with torch.no_grad():
        torch.testing.assert_close(rescaled(x), model(x), rtol=1e-4, atol=1e-5)
    for measure in (directional_sharpness, loss_normalized_sharpness):
        values = [measure(m, tiny_data, _family_direction(m, ROW_SIGN, seed=b"conv"), 0.1) for m in (model, rescaled)]
        assert values[1] == pytest.approx(values[0], rel=1e-5)


def test_rademacher_abs_invariant_under_per_channel_rescaling_of_conv_layers(tiny_data):
    """The other family on the same CNN: d = r |theta| scales with each parameter, so the same rescaling leaves DS alone."""
    model = _tiny_cnn()
    rescaled = _channel_rescaled(model, [0.5, 2.0, 3.0, 0.3, 1.5, 4.0, 0.8])
    values = [directional_sharpness(m, tiny_data, _family_direction(m, FAMILIES[0], seed=b"conv"), 0.1) for m in (model, rescaled)]
    assert values[1] == pytest.approx(values[0], rel=1e-5)
