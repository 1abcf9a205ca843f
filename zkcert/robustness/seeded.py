"""The resilience claim's counts in float: the seeded neighbours of zkcert.neighbours, on the data as given.

What `zkcert robust analyze --seeded` prints and what the resilience circuit must reproduce in fixed point:
the number of (sample, neighbour) pairs whose neighbour x + delta_q is classified as another class than the
label, and the number of weak-robust samples (at least one such neighbour). A neighbour counts as classified
as its label when the label's logit is at least every other logit: a tie counts as correct, as in the circuit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..data import Dataset
from ..errors import InputError
from ..neighbours import check_neighbours, committed_offsets
from ._common import check_model_fits

__all__ = ["SeededCounts", "seeded_counts", "seeded_resilience"]


@dataclass(frozen=True)
class SeededCounts:
    """Misclassified (sample, neighbour) pairs and weak-robust samples under Q shared offsets at degree e."""

    pairs: int
    weak: int
    n_samples: int
    neighbours: int
    degree: float
    weak_mask: np.ndarray  # bool per sample: at least one neighbour misclassified

    def describe(self) -> str:
        """One line a user can read."""
        return (f"{self.weak:,} of {self.n_samples:,} samples have a misclassified neighbour at e = {self.degree:g} "
                f"(Q = {self.neighbours}); {self.pairs:,} of {self.n_samples * self.neighbours:,} neighbours misclassified")


@torch.no_grad()
def seeded_counts(model: nn.Module, data: Dataset, deltas: np.ndarray, *, degree: float) -> SeededCounts:
    """The counts for the offsets deltas (Q, d), shared by every sample, in float32 like the model."""
    check_model_fits(model, data)
    deltas = np.asarray(deltas)
    features = int(np.prod(data.x.shape[1:]))
    if deltas.ndim != 2 or deltas.shape[1] != features:
        raise InputError(f"offsets of shape {deltas.shape} do not fit samples of {features} features")
    model.eval()
    x = torch.as_tensor(data.x, dtype=torch.float32)
    labels = torch.as_tensor(data.y, dtype=torch.long)
    wrong = []
    for delta in deltas:
        z = model(x + torch.as_tensor(delta, dtype=torch.float32).reshape(x.shape[1:]))
        wrong.append((z.gather(1, labels[:, None])[:, 0] < z.max(dim=1).values).numpy())
    per_pair = np.stack(wrong)  # (Q, N)
    weak_mask = per_pair.any(axis=0)
    return SeededCounts(int(per_pair.sum()), int(weak_mask.sum()), len(data), len(deltas), float(degree), weak_mask)


def seeded_resilience(model: nn.Module, data: Dataset, *, model_commitment: str, data_commitment: str, nonce: str,
                      degree: float, neighbours: int, input_scale: int) -> SeededCounts:
    """The counts with the neighbours a resilience claim derives from the published commitments and the nonce."""
    degree, neighbours = check_neighbours(degree, neighbours)
    features = int(np.prod(data.x.shape[1:]))
    deltas = committed_offsets(model_commitment, data_commitment, nonce, neighbours, features, degree, input_scale)
    return seeded_counts(model, data, deltas, degree=degree)
