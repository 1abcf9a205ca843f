"""Plain supervised training, shared by the demo, the benchmarks and the robustness tools."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .data import Dataset

__all__ = ["TrainConfig", "train", "accuracy", "mean_loss"]


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training run; the seed makes it reproducible."""

    epochs: int = 30
    lr: float = 0.05
    batch_size: int = 32
    weight_decay: float = 0.0
    momentum: float = 0.9
    seed: int = 0


def train(model: nn.Module, data: Dataset, config: TrainConfig = TrainConfig()) -> nn.Module:
    """Train with SGD on cross-entropy; returns the same model in eval mode."""
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    x = torch.as_tensor(data.x)
    y = torch.as_tensor(data.y)
    opt = torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(config.epochs):
        perm = torch.randperm(len(y), generator=gen)
        for start in range(0, len(y), config.batch_size):
            idx = perm[start : start + config.batch_size]
            opt.zero_grad()
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()
    return model.eval()


@torch.no_grad()
def accuracy(model: nn.Module, data: Dataset) -> float:
    """Fraction of samples classified correctly."""
    pred = model(torch.as_tensor(data.x)).argmax(dim=1).numpy()
    return float(np.mean(pred == data.y))


@torch.no_grad()
def mean_loss(model: nn.Module, data: Dataset) -> float:
    """Mean cross-entropy."""
    return float(nn.functional.cross_entropy(model(torch.as_tensor(data.x)), torch.as_tensor(data.y)))
