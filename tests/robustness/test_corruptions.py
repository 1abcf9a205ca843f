"""Every corruption on real images: shape, range, determinism, and degradation that grows with severity."""

from __future__ import annotations

import numpy as np
import pytest

from zkcert.errors import InputError
from zkcert.robustness.corruptions import CORRUPTIONS, corrupt

ALL = sorted(CORRUPTIONS)
# CIFAR-10-C's elastic constants trade affine for elastic strength across levels: not monotone by design.
MONOTONE_EXCEPTIONS = {("cifar", "elastic")}


def _distance(clean: np.ndarray, name: str, severity: int) -> float:
    return float(np.abs(corrupt(clean, name, severity) - clean).mean())


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("which", ["cifar", "mnist", "digits"])
def test_shape_range_dtype_and_change(name, which, cifar_images, mnist_images, digits_train):
    x = {"cifar": cifar_images, "mnist": mnist_images, "digits": digits_train.head(40)}[which].x
    for severity in (1, 5):
        out = corrupt(x, name, severity)
        assert out.shape == x.shape and out.dtype == np.float32
        assert out.min() >= 0.0 and out.max() <= 1.0
    assert _distance(x, name, 5) > 1e-3, "severity 5 must visibly change the images"


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("which", ["cifar", "mnist", "digits"])
def test_degradation_grows_with_severity(name, which, cifar_images, mnist_images, digits_train):
    if (which, name) in MONOTONE_EXCEPTIONS:
        pytest.skip("not monotone by construction")
    x = {"cifar": cifar_images, "mnist": mnist_images, "digits": digits_train.head(40)}[which].x
    d = [_distance(x, name, s) for s in range(1, 6)]
    assert all(a <= b + 1e-4 for a, b in zip(d, d[1:])), f"{name} distances by severity: {d}"
    assert d[4] > d[0]


def test_deterministic_in_seed(mnist_images):
    a = corrupt(mnist_images.x, "gaussian_noise", 3, seed=1)
    assert np.array_equal(a, corrupt(mnist_images.x, "gaussian_noise", 3, seed=1))
    assert not np.array_equal(a, corrupt(mnist_images.x, "gaussian_noise", 3, seed=2))


def test_known_values():
    flat = np.full((2, 1, 28, 28), 0.5, np.float32)
    assert np.allclose(corrupt(flat, "contrast", 5), 0.5)  # contrast keeps the mean
    assert np.allclose(corrupt(flat, "brightness", 2), 0.7)  # MNIST level 2 adds 0.2
    assert np.allclose(corrupt(flat, "gaussian_blur", 5), 0.5)  # blur of a constant is the constant
    impulse = corrupt(flat, "impulse_noise", 5)
    assert set(np.unique(impulse)) <= {0.0, 0.5, 1.0}
    hit = np.mean(impulse != 0.5)
    assert 0.2 < hit < 0.35  # MNIST level 5 hits 27% of pixels


def test_colour_brightness_raises_value_channel(cifar_images):
    out = corrupt(cifar_images.x, "brightness", 5)
    assert out.max(axis=1).mean() > cifar_images.x.max(axis=1).mean() + 0.2


@pytest.mark.parametrize(
    "x, match",
    [
        (np.zeros((2, 28, 28), np.float32), r"shape \(N, C, H, W\)"),
        (np.full((2, 1, 8, 8), 1.5, np.float32), r"\[0, 1\]"),
        (np.zeros((0, 1, 8, 8), np.float32), "empty"),
        (np.zeros((2, 1, 8, 8), np.int64), "floating point"),
        (np.zeros((2, 4, 8, 8), np.float32), "1 or 3 channels"),
        (np.zeros((2, 1, 8, 6), np.float32), "square"),
    ],
)
def test_bad_images(x, match):
    with pytest.raises(InputError, match=match):
        corrupt(x, "contrast", 1)


def test_bad_name_and_severity(mnist_images):
    with pytest.raises(InputError, match="unknown corruption 'fog'"):
        corrupt(mnist_images.x, "fog", 1)
    with pytest.raises(InputError, match="severity must be an integer from 1 to 5"):
        corrupt(mnist_images.x, "contrast", 6)


def test_docstring_examples_run():
    import doctest

    import zkcert.robustness.corruptions as mod

    result = doctest.testmod(mod)
    assert result.attempted >= 1 and result.failed == 0
