"""The verifier's challenge for "heldout/v1": issuing it, its file, its identity (hash), and the float reference.

"Issued" means: `zkcert challenge new` (Challenge.issue) draws a fresh random nonce, and the challenge's identity
is the SHA-256 of (nonce, class count, samples, labels), which it records in the file and prints. The held-out
statement names that hash; the verifier compares it with the hash of the copy it kept. A file whose recorded hash
does not match its contents was edited after issue and is refused wherever it is read (one line, nothing written).
"""

from __future__ import annotations

import hashlib
import io
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from .._internal.io import atomic_write_bytes
from ..data import Dataset
from ..errors import InputError
from ..metric import correct_mask, flat_params, per_sample_losses
from ..models import check_compatible

__all__ = ["CHALLENGE_SCHEMA", "Challenge", "FloatReference", "float_reference"]

CHALLENGE_SCHEMA = "zkcert-challenge/v1"
_DOMAIN = b"zkcert/challenge/v1"


@dataclass(frozen=True)
class Challenge:
    """A verifier-issued challenge: M distinct, finite labeled samples and the nonce it was issued with."""

    x: np.ndarray
    y: np.ndarray
    num_classes: int
    nonce: str

    def __post_init__(self) -> None:
        Dataset(self.x, self.y, self.num_classes)  # shapes, labels in range, finite values: its one-line errors
        flat = np.ascontiguousarray(self.x, dtype=np.float32).reshape(len(self.x), -1)
        _, first, counts = np.unique(flat, axis=0, return_index=True, return_counts=True)
        if (counts > 1).any():
            row = int(first[np.argmax(counts > 1)])
            raise InputError(f"the challenge has duplicate samples (sample {row} appears {int(counts.max())} times): "
                             "each challenge sample must be distinct")
        if not isinstance(self.nonce, str) or not self.nonce:
            raise InputError("a challenge needs the nonce it was issued with")

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def sha256(self) -> str:
        """The challenge's identity: SHA-256 of the nonce, the class count, the samples (float32) and labels (int64)."""
        h = hashlib.sha256(_DOMAIN)
        for part in (self.nonce.encode(), str(self.num_classes).encode(), repr(tuple(self.x.shape)).encode()):
            h.update(len(part).to_bytes(8, "big") + part)
        h.update(np.ascontiguousarray(self.x, dtype="<f4").tobytes())
        h.update(np.ascontiguousarray(self.y, dtype="<i8").tobytes())
        return h.hexdigest()

    def dataset(self) -> Dataset:
        """The challenge as a Dataset (for the float reference and the circuit's columns)."""
        return Dataset(np.asarray(self.x, dtype=np.float32), np.asarray(self.y, dtype=np.int64), self.num_classes, "challenge")

    @classmethod
    def issue(cls, pool: Dataset, samples: int, *, nonce: str | None = None) -> "Challenge":
        """M distinct samples of pool drawn by a fresh random nonce (or the one given), as `zkcert challenge new` does."""
        nonce = nonce or secrets.token_hex(16)
        flat = np.ascontiguousarray(pool.x, dtype=np.float32).reshape(len(pool), -1)
        distinct = np.sort(np.unique(flat, axis=0, return_index=True)[1])  # a pool's repeated samples count once
        if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= len(distinct):
            raise InputError(f"cannot draw {samples!r} challenge samples from a pool of {len(distinct)} distinct samples")
        seed = int.from_bytes(hashlib.sha256(_DOMAIN + b"/draw/" + nonce.encode()).digest()[:8], "big")
        picked = np.sort(np.random.default_rng(seed).choice(distinct, size=samples, replace=False))
        return cls(pool.x[picked].astype(np.float32), pool.y[picked].astype(np.int64), pool.num_classes, nonce)

    def save(self, path: str | Path) -> Path:
        """Write the .npz (x, y, num_classes, nonce, its sha256, schema), atomically."""
        buf = io.BytesIO()
        np.savez(buf, x=np.asarray(self.x, dtype=np.float32), y=np.asarray(self.y, dtype=np.int64), num_classes=np.int64(self.num_classes),
                 nonce=np.str_(self.nonce), sha256=np.str_(self.sha256), schema=np.str_(CHALLENGE_SCHEMA))
        atomic_write_bytes(path, buf.getvalue())
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> "Challenge":
        """Read a challenge file; one-line InputError if it is malformed, unfit, or edited after issue."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"challenge file not found: {path} (zkcert challenge new writes one)")
        try:
            with np.load(path, allow_pickle=False) as npz:
                fields = {k: npz[k] for k in npz.files}
        except Exception as exc:  # noqa: BLE001 - numpy and zipfile raise many types on a corrupt file
            raise InputError(f"cannot read {path} as a challenge .npz ({type(exc).__name__}: {exc})") from None
        missing = sorted({"x", "y", "num_classes", "nonce", "sha256", "schema"} - set(fields))
        if missing:
            raise InputError(f"{path} is not a challenge file: it lacks {', '.join(missing)} (zkcert challenge new writes one)")
        if str(fields["schema"]) != CHALLENGE_SCHEMA:
            raise InputError(f"{path} has schema {str(fields['schema'])!r}, not {CHALLENGE_SCHEMA!r}")
        if not np.issubdtype(fields["x"].dtype, np.floating) or not np.issubdtype(fields["y"].dtype, np.integer):
            raise InputError(f"{path}: x must be floats and y integers")
        challenge = cls(fields["x"].astype(np.float32), fields["y"].astype(np.int64), int(fields["num_classes"]), str(fields["nonce"]))
        if challenge.sha256 != str(fields["sha256"]):
            raise InputError(f"{path} was edited after issue: its contents hash to {challenge.sha256[:16]}…, "
                             f"it was issued as {str(fields['sha256'])[:16]}…")
        return challenge


@dataclass(frozen=True)
class FloatReference:
    """The challenge's correct count and summed cross-entropy in float64 (what the circuit computes in fixed point)."""

    correct: int
    n_samples: int
    loss_sum: float

    @property
    def accuracy(self) -> float:
        """correct / M."""
        return self.correct / self.n_samples

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"correct": self.correct, "samples": self.n_samples, "accuracy": self.accuracy, "loss_sum": self.loss_sum}


def float_reference(model: nn.Module, challenge: Challenge) -> FloatReference:
    """`zkcert measure --challenge`: how the model does on the challenge in float64 (a tie counts as correct, as in the circuit)."""
    data = challenge.dataset()
    check_compatible(model, data.x, data.num_classes)
    losses = per_sample_losses(model, data, flat_params(model)).detach().numpy()
    return FloatReference(int(correct_mask(model, data).sum()), len(data), float(losses.sum()))


