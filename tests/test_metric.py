import copy

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from zkcert.direction import directions, scale_invariant
from zkcert.errors import InputError
from zkcert.metric import directional_sharpness, flat_params, hvp_sharpness, second_differences


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


@settings(max_examples=8, deadline=None)
@given(alpha=st.floats(min_value=0.25, max_value=4.0))
def test_invariant_under_relu_rescaling(tiny_mlp, tiny_data, alpha):
    """Scaling layer 1 by alpha and layer 2 by 1/alpha leaves the function and, with d = r|theta|, DS unchanged."""
    rescaled = copy.deepcopy(tiny_mlp)
    with torch.no_grad():
        rescaled[1].weight.mul_(alpha)
        rescaled[1].bias.mul_(alpha)
        rescaled[3].weight.div_(alpha)
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
