"""Shared plumbing of the robustness tools: input checks, batched prediction, the ART wrapper, progress bars."""

from __future__ import annotations

from types import ModuleType
from typing import Iterable, Sequence, TypeVar

import numpy as np
import torch
from torch import nn

from .._internal.extras import optional_import
from ..data import Dataset
from ..errors import InputError

__all__ = [
    "check_images", "check_dataset", "predict_proba", "predict", "art_classifier", "art_evasion", "progress_bar",
    "SEVERITIES",
]

SEVERITIES = (1, 2, 3, 4, 5)
T = TypeVar("T")


def check_images(x: np.ndarray, *, what: str = "images") -> np.ndarray:
    """Return x as float32 (N, C, H, W) in [0, 1], or raise InputError saying what is wrong."""
    if not isinstance(x, np.ndarray):
        raise InputError(f"{what} must be a numpy array, got {type(x).__name__}")
    if x.ndim != 4:
        raise InputError(f"{what} must have shape (N, C, H, W), got shape {x.shape}")
    if x.shape[0] == 0:
        raise InputError(f"{what} is empty (shape {x.shape})")
    if x.shape[1] not in (1, 3):
        raise InputError(f"{what} must have 1 or 3 channels, got {x.shape[1]} (shape {x.shape})")
    if not np.issubdtype(x.dtype, np.floating):
        raise InputError(f"{what} must be floating point in [0, 1], got dtype {x.dtype}")
    if not np.all(np.isfinite(x)):
        raise InputError(f"{what} contain NaN or inf values")
    lo, hi = float(x.min()), float(x.max())
    if lo < 0.0 or hi > 1.0:
        raise InputError(f"{what} must lie in [0, 1], got range [{lo:.4g}, {hi:.4g}]")
    return np.ascontiguousarray(x, dtype=np.float32)


def check_dataset(data: Dataset, *, what: str = "data") -> Dataset:
    """Check that a Dataset holds images in [0, 1] (the robustness tools need images)."""
    check_images(data.x, what=f"{what} ({data.name})")
    return data


def check_model_fits(model: nn.Module, data: Dataset) -> None:
    """Raise InputError when the model cannot take the data's input shape or class count."""
    try:
        with torch.no_grad():
            out = model(torch.as_tensor(data.x[:1]))
    except RuntimeError as exc:
        raise InputError(
            f"model does not accept inputs of shape {tuple(data.x.shape[1:])}: {str(exc).splitlines()[0]}"
        ) from None
    if out.ndim != 2 or out.shape[1] != data.num_classes:
        raise InputError(f"model outputs shape {tuple(out.shape)}, expected (1, {data.num_classes}) logits")


@torch.no_grad()
def predict_proba(model: nn.Module, x: np.ndarray, *, batch_size: int = 2048) -> np.ndarray:
    """Softmax probabilities, computed in batches to bound memory."""
    model.eval()
    out = [torch.softmax(model(torch.as_tensor(x[i : i + batch_size])), dim=1) for i in range(0, len(x), batch_size)]
    return torch.cat(out).numpy()


def predict(model: nn.Module, x: np.ndarray, *, batch_size: int = 2048) -> np.ndarray:
    """Predicted labels."""
    return predict_proba(model, x, batch_size=batch_size).argmax(axis=1)


def art_classifier(model: nn.Module, input_shape: Sequence[int], num_classes: int):  # noqa: ANN201
    """Wrap a torch classifier for the Adversarial Robustness Toolbox (CPU, inputs clipped to [0, 1])."""
    classification = optional_import("art.estimators.classification", extra="robust", needed_for="the attacks")
    model.eval()
    return classification.PyTorchClassifier(
        model=model,
        loss=nn.CrossEntropyLoss(),
        input_shape=tuple(input_shape),
        nb_classes=num_classes,
        clip_values=(0.0, 1.0),
        device_type="cpu",
    )


def size_key(shape: Sequence[int]) -> str:
    """Which constant table fits an image shape (C, H, W): 'cifar' (32x32 colour), 'mnist' or 'digits'."""
    c, h, w = (int(s) for s in shape)
    if h != w:
        raise InputError(f"robustness tools expect square images, got {h}x{w}")
    if h <= 12:
        return "digits"
    if c == 3 or h >= 32:
        return "cifar"
    return "mnist"


def art_evasion(needed_for: str) -> ModuleType:
    """ART's evasion attacks (zkcert[robust]; imported on first use: ART imports slowly)."""
    return optional_import("art.attacks.evasion", extra="robust", needed_for=needed_for)


def progress_bar(items: Iterable[T], *, enabled: bool, **labels: str) -> Iterable[T]:
    """tqdm's bar over items when enabled (zkcert[robust]), else items themselves."""
    if not enabled:
        return items
    return optional_import("tqdm.auto", extra="robust", needed_for="a progress bar").tqdm(items, **labels)
