"""Fixtures for the robustness tests: real images (CIFAR-10 x20, MNIST) and small trained models."""

from __future__ import annotations

import pytest
import torch

from zkcert.data import Dataset, load_bundled
from zkcert.models import mlp
from zkcert.training import TrainConfig, train


@pytest.fixture(scope="session")
def cifar_images() -> Dataset:
    """The 20 real CIFAR-10 images bundled with foolbox."""
    return load_bundled("cifar10", "all")


@pytest.fixture(scope="session")
def mnist_images() -> Dataset:
    """60 real MNIST test images."""
    return load_bundled("mnist5k", "test").head(60)


@pytest.fixture(scope="session")
def mnist_train() -> Dataset:
    """600 MNIST training images (enough for a model that clearly learns)."""
    return load_bundled("mnist5k", "train").head(600)


@pytest.fixture(scope="session")
def mnist_mlp(mnist_train: Dataset) -> torch.nn.Sequential:
    """A 784-32-10 MLP trained for a few seconds on MNIST (seeded)."""
    torch.manual_seed(0)
    return train(mlp(784, [32], 10), mnist_train, TrainConfig(epochs=8, lr=0.05, seed=0))
