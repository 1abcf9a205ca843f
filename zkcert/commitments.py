"""Commitments to data, model and direction: ezkl's Poseidon hash of each input vector exactly as the circuit lays it out.

The circuit hashes its inputs in-circuit (ezkl's "hashed" visibility), so the commitment the owner
publishes before proving is the same Poseidon hash computed here, over the same quantized vector:
  data vector  = [x_1 .. x_N (flattened), onehot(y_1) .. onehot(y_N), salt_D (SALT_LEN elements)]
  model vector = [theta (state-dict order), salt_theta (SALT_LEN elements)]
  direction    = [r_1 .. r_K]   (public: recomputed by the verifier, so unsalted)
A salt is SALT_LEN random integers below 2**SALT_BITS, placed so they quantize exactly; without it a
low-entropy dataset could be guessed from its hash.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._internal import ezkl as _ezkl
from .data import Dataset
from .errors import InputError

__all__ = ["SALT_LEN", "Salts", "ShardSalts", "parse_salts", "Commitments", "data_vector", "model_vector", "commit_vector", "felt_hex", "shard_root", "check_representable"]

# ezkl reads inputs as float32 and range-checks them (|v| < 2**27 after scaling): a salt element must be
# an integer below 2**24 to survive both exactly, so five of them give 120 bits per commitment.
SALT_LEN = 5
SALT_BITS = 24


@dataclass(frozen=True)
class Salts:
    """The owner's private salts (integers); keep them to re-prove or to let an auditor re-commit."""

    data: tuple[int, ...]
    model: tuple[int, ...]

    @classmethod
    def fresh(cls) -> "Salts":
        """New random salts from the OS CSPRNG."""
        draw = lambda: tuple(secrets.randbelow((1 << SALT_BITS) - 1) + 1 for _ in range(SALT_LEN))  # noqa: E731
        return cls(draw(), draw())

    @classmethod
    def none(cls) -> "Salts":
        """No salt (for specs with salted=False)."""
        return cls((), ())

    def to_json(self) -> dict[str, list[str]]:
        """JSON form (decimal strings, so no float rounding)."""
        return {"data": [str(v) for v in self.data], "model": [str(v) for v in self.model]}

    @classmethod
    def from_json(cls, obj: dict) -> "Salts":
        """Parse the JSON form."""
        try:
            data, model = parse_salts([obj["data"], obj["model"]])
        except (KeyError, TypeError) as exc:
            raise InputError(f"salts file is malformed: {exc}") from None
        return cls(data, model)


@dataclass(frozen=True)
class ShardSalts:
    """The owner's private salts for data committed in shards: one for the model, one per shard."""

    model: tuple[int, ...]
    shards: tuple[tuple[int, ...], ...]

    @classmethod
    def fresh(cls, n_shards: int) -> "ShardSalts":
        """New random salts."""
        return cls(Salts.fresh().model, tuple(Salts.fresh().data for _ in range(n_shards)))

    def to_json(self) -> dict[str, Any]:
        """JSON form (decimal strings)."""
        return {"model": [str(v) for v in self.model], "shards": [[str(v) for v in s] for s in self.shards]}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "ShardSalts":
        """Parse and range-check."""
        try:
            model, *shards = parse_salts([obj["model"], *obj["shards"]])
        except (KeyError, TypeError) as exc:
            raise InputError(f"shard salts are malformed: {exc}") from None
        if any(len(salt) != SALT_LEN for salt in (model, *shards)):
            raise InputError(f"each salt must be {SALT_LEN} integers in (0, 2**{SALT_BITS})")
        return cls(model, tuple(shards))


def parse_salts(salts: list) -> list[tuple[int, ...]]:
    """Salts from their JSON form (decimal strings), each element checked to lie in (0, 2**SALT_BITS)."""
    try:
        parsed = [tuple(int(v) for v in salt) for salt in salts]
    except (TypeError, ValueError) as exc:
        raise InputError(f"salts are malformed: {exc}") from None
    if any(not 0 < v < 1 << SALT_BITS for salt in parsed for v in salt):
        raise InputError(f"salts must be integers in (0, 2**{SALT_BITS})")
    return parsed


@dataclass(frozen=True)
class Commitments:
    """The public commitments, as 0x-prefixed big-endian hex field elements."""

    data: str
    model: str

    def to_json(self) -> dict[str, str]:
        """JSON form."""
        return {"data_commitment": self.data, "model_commitment": self.model}


def _salt_floats(salt: tuple[int, ...], scale: int) -> np.ndarray:
    # Dividing by 2**scale makes ezkl's quantization (round(v * 2**scale)) return the integer exactly.
    return np.asarray(salt, dtype=np.float32) / np.float32(2**scale)


# ezkl quantizes an input v to round(v * 2**scale) and range-checks it below 2**27 (see SALT_BITS).
_MAX_QUANTIZED = 2**27


def check_representable(values: np.ndarray, what: str, scale: int) -> None:
    """A one-line error, before calibration, for values too large for the circuit's fixed point."""
    largest = float(np.max(np.abs(values))) if np.size(values) else 0.0
    if largest * 2**scale >= _MAX_QUANTIZED:
        raise InputError(f"{what} reach {largest:.3g}: at scale 2**{scale} the circuit holds values below {_MAX_QUANTIZED / 2**scale:.3g}; rescale them")


def data_vector(data: Dataset, salt: tuple[int, ...], scale: int) -> np.ndarray:
    """The data vector the circuit hashes (float32, as ezkl reads its inputs); single-proof and shard plans alike."""
    check_representable(data.x, "the features", scale)
    onehot = np.eye(data.num_classes, dtype=np.float32)[data.y]
    return np.concatenate([data.x.astype(np.float32).ravel(), onehot.ravel(), _salt_floats(salt, scale)])


def model_vector(theta: np.ndarray, salt: tuple[int, ...], scale: int) -> np.ndarray:
    """The model vector the circuit hashes (float32, as ezkl reads its inputs)."""
    check_representable(theta, "the model's parameters", scale)
    return np.concatenate([np.asarray(theta, dtype=np.float32).ravel(), _salt_floats(salt, scale)])


def felt_hex(little_endian_hex: str) -> str:
    """ezkl's little-endian hex field element as the canonical 0x big-endian hex we publish."""
    return "0x" + bytes.fromhex(little_endian_hex.removeprefix("0x"))[::-1].hex()


def commit_vector(vector: np.ndarray, scale: int) -> str:
    """Poseidon hash of the quantized vector, canonical hex."""
    return felt_hex(_ezkl.poseidon(_ezkl.to_felts(vector.tolist(), scale)))


SHARD_ROOT_DOMAIN = b"zkcert/shards/v1"


def shard_root(shard_commitments: list[str] | tuple[str, ...]) -> str:
    """The data commitment of a sharded dataset: SHA-256 over the ordered per-shard Poseidon commitments.

    A plain hash of the ordered list (not a Merkle tree) because the verifier reads every shard proof
    anyway; the order is bound, so swapping, dropping or repeating a shard changes the root.
    """
    h = hashlib.sha256(SHARD_ROOT_DOMAIN)
    h.update(len(shard_commitments).to_bytes(8, "big"))
    for c in shard_commitments:
        h.update(bytes.fromhex(c.removeprefix("0x").rjust(64, "0")))
    return "0x" + h.hexdigest()
