"""Resilience scoring on cases with a known answer, and the weak-robust selection."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from zkcert.data import Dataset
from zkcert.errors import InputError
from zkcert.robustness.resilience import neighbour_scores, resilience_scores, select_weak_robust


def _threshold_model() -> nn.Sequential:
    """Two classes on 1x2x2 images: class 1 when the mean pixel exceeds 0.5, with steep logits."""
    lin = nn.Linear(4, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[-25.0] * 4, [25.0] * 4]))
        lin.bias.copy_(torch.tensor([50.0, -50.0]))
    return nn.Sequential(nn.Flatten(), lin)


def test_neighbour_scores_known():
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.2, 0.3, 0.5]])
    labels = np.array([0, 0, 2])
    # right -> 0; wrong -> largest wrong-class probability (0.6, not the label's 0.1)
    assert np.allclose(neighbour_scores(proba, labels), [0.0, 0.6, 0.0])


def test_far_sample_is_resilient_and_boundary_sample_is_fragile():
    model = _threshold_model()
    x = np.stack([np.full((1, 2, 2), v, np.float32) for v in (0.05, 0.49, 0.95, 0.52)])
    y = np.array([0, 0, 1, 1])
    res = resilience_scores(model, Dataset(x, y, 2), degrees=(0.1,), neighbours=50)
    assert res.correct.all()
    assert res.fragility[0] == 0.0 and res.fragility[2] == 0.0  # 0.45 from the boundary: no neighbour flips
    # 0.01 and 0.02 below/above it: many neighbours flip, more for the closer one
    assert res.fragility[1] > res.fragility[3] > 0.05
    assert list(res.ranking()[:2]) == [1, 3]
    assert set(select_weak_robust(res, k=2)) == {1, 3}
    assert set(select_weak_robust(res, threshold=0.9)) == {1, 3}


def test_misclassified_samples_are_never_weak_robust():
    model = _threshold_model()
    x = np.stack([np.full((1, 2, 2), v, np.float32) for v in (0.51, 0.1, 0.49)])
    y = np.array([0, 0, 1])  # samples 0 and 2 are wrong (and near the boundary)
    res = resilience_scores(model, Dataset(x, y, 2), degrees=(0.1,), neighbours=10)
    assert list(res.correct) == [False, True, False]
    assert list(select_weak_robust(res, k=1)) == [1]
    with pytest.raises(InputError, match="only 1 are classified correctly"):
        select_weak_robust(res, k=2)


def test_trained_model_weak_samples_are_more_fragile(mnist_mlp, mnist_train):
    res = resilience_scores(mnist_mlp, mnist_train, neighbours=8, seed=0)
    weak = select_weak_robust(res, k=30)
    assert res.correct[weak].all()
    assert res.fragility[weak].min() >= np.median(res.fragility[res.correct])
    assert res.fragility[weak].mean() > 5 * res.fragility[res.correct].mean()
    again = resilience_scores(mnist_mlp, mnist_train, neighbours=8, seed=0)
    assert np.array_equal(res.fragility, again.fragility)  # seeded


def test_bad_options(mnist_mlp, mnist_train):
    data = mnist_train.head(10)
    with pytest.raises(InputError, match="neighbours must be at least 1"):
        resilience_scores(mnist_mlp, data, neighbours=0)
    with pytest.raises(InputError, match="perturbation degrees"):
        resilience_scores(mnist_mlp, data, degrees=(0.0,))
    res = resilience_scores(mnist_mlp, data, neighbours=2)
    with pytest.raises(InputError, match="exactly one of k"):
        select_weak_robust(res)
    with pytest.raises(InputError, match="resilience below 0"):
        select_weak_robust(res, threshold=0.0)


def test_rejects_images_outside_unit_range(mnist_mlp, mnist_train):
    bad = Dataset(mnist_train.x[:4] * 3.0, mnist_train.y[:4], 10)
    with pytest.raises(InputError, match=r"must lie in \[0, 1\]"):
        resilience_scores(mnist_mlp, bad)


def test_rejects_model_of_wrong_input_shape(mnist_mlp, digits_train):
    with pytest.raises(InputError, match="model does not accept inputs of shape"):
        resilience_scores(mnist_mlp, digits_train.head(4))
