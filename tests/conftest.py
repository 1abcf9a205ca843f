"""Shared fixtures: tiny models and data so that tests run in seconds on 2 cores."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zkcert.data import Dataset, load_bundled
from zkcert.models import mlp
from zkcert.training import TrainConfig, train


@pytest.fixture(scope="session")
def digits_train() -> Dataset:
    """scikit-learn digits, the bundled training split."""
    return load_bundled("digits", "train")


@pytest.fixture(scope="session")
def tiny_data(digits_train: Dataset) -> Dataset:
    """16 digits samples."""
    return digits_train.head(16)


@pytest.fixture(scope="session")
def tiny_mlp(digits_train: Dataset) -> torch.nn.Sequential:
    """A 64-8-10 MLP trained briefly on digits (seeded)."""
    torch.manual_seed(0)
    model = mlp(64, [8], 10)
    return train(model, digits_train.head(400), TrainConfig(epochs=10, seed=0))


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
