"""Commitments to data, model and direction, in one of two versioned schemes, over each input column exactly as the circuit lays it out.

  data column  = [x_1 .. x_N (flattened), onehot(y_1) .. onehot(y_N), salt_D]
  model column = [theta (state-dict order), salt_theta]
  direction    = [r_1 .. r_K]   (public: recomputed by the verifier, so unsalted)

"poseidon/v1" (the default): the circuit hashes its inputs (ezkl's "hashed" visibility) and the
commitment is ezkl's Poseidon hash of the quantized column, computed here before any circuit exists.
The salt is SALT_LEN integers below 2**SALT_BITS, placed so they quantize exactly.

"kzg/v1": the inputs are KZG-committed columns (ezkl's "polycommit" visibility), which cost no rows
per element. The commitment is the column's KZG point (ezkl.kzg_commit), so it exists only once the
circuit's key and SRS do, and it is tied to both. ezkl leaves these columns unblinded, so the point and
the evaluations a proof opens are not hiding by themselves: KZG_SALT_LEN uniform field elements per
column make them so (q + 1 uniform salts hide a point and q openings). Salts that large need ezkl's
input range checks off: the circuit then no longer proves that the committed values are in
fixed-point range (an auditor holding D and theta still checks that by re-committing).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ._internal import ezkl as _ezkl
from .data import Dataset
from .errors import CircuitError, InputError

__all__ = [
    "POSEIDON", "KZG", "SCHEMES", "SALT_LEN", "KZG_SALT_LEN", "FIELD_MODULUS", "Salts", "ShardSalts", "parse_salts",
    "Commitments", "Column", "data_vector", "model_vector", "direction_column", "commit_vector", "kzg_commitment",
    "column_felts", "column_committer", "felt_hex", "shard_root", "check_representable", "check_scheme", "salt_len", "salt_elements", "commitment_hex_len",
]

POSEIDON = "poseidon/v1"
KZG = "kzg/v1"
SCHEMES = (POSEIDON, KZG)
# ezkl reads inputs as float32 and range-checks them (|v| < 2**27 after scaling): a Poseidon-scheme salt
# element must be an integer below 2**24 to survive both exactly, so five of them give 120 bits per commitment.
SALT_LEN = 5
SALT_BITS = 24
# kzg/v1: four uniform field elements per column (see the module docstring).
KZG_SALT_LEN = 4
# The BN254 scalar field's modulus: every circuit value is an element of this field.
FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617

# A column as ezkl reads it: floats (quantized at the circuit's scale) and, under kzg/v1, salt field
# elements written as ezkl's little-endian hex (ezkl accepts both kinds in one input list).
Column = list


def check_scheme(scheme: str) -> str:
    """The scheme itself if zkcert knows it, else a one-line error naming the known ones."""
    if scheme not in SCHEMES:
        raise InputError(f"unknown commitment scheme {scheme!r}; known: {', '.join(SCHEMES)}")
    return scheme


def salt_len(scheme: str) -> int:
    """Salt elements per committed column under a scheme."""
    return KZG_SALT_LEN if check_scheme(scheme) == KZG else SALT_LEN


def _salt_bound(scheme: str) -> int:
    return FIELD_MODULUS if scheme == KZG else 1 << SALT_BITS


def commitment_hex_len(scheme: str) -> int:
    """Hex digits of one commitment: a 32-byte field element (Poseidon) or a G1 point's x || y (KZG)."""
    return 128 if check_scheme(scheme) == KZG else 64


def _fresh_salt(scheme: str) -> tuple[int, ...]:
    bound = _salt_bound(scheme)
    return tuple(secrets.randbelow(bound - 1) + 1 for _ in range(salt_len(scheme)))


@dataclass(frozen=True)
class Salts:
    """The owner's private salts (integers); keep them to re-prove or to let an auditor re-commit."""

    data: tuple[int, ...]
    model: tuple[int, ...]
    scheme: str = POSEIDON

    @classmethod
    def fresh(cls, scheme: str = POSEIDON) -> "Salts":
        """New random salts from the OS CSPRNG, of the scheme's size."""
        return cls(_fresh_salt(scheme), _fresh_salt(scheme), scheme)

    @classmethod
    def none(cls) -> "Salts":
        """No salt (for specs with salted=False)."""
        return cls((), ())

    def to_json(self) -> dict[str, Any]:
        """JSON form (decimal strings, so no float rounding); the scheme is written only when it is not the default."""
        obj: dict[str, Any] = {"data": [str(v) for v in self.data], "model": [str(v) for v in self.model]}
        return obj if self.scheme == POSEIDON else {**obj, "scheme": self.scheme}

    @classmethod
    def from_json(cls, obj: dict) -> "Salts":
        """Parse the JSON form."""
        try:
            scheme = check_scheme(obj.get("scheme", POSEIDON))
            data, model = parse_salts([obj["data"], obj["model"]], scheme)
        except (KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"salts file is malformed: {exc}") from None
        return cls(data, model, scheme)


@dataclass(frozen=True)
class ShardSalts:
    """The owner's private salts for data committed in shards: one for the model, one per shard."""

    model: tuple[int, ...]
    shards: tuple[tuple[int, ...], ...]
    scheme: str = POSEIDON

    @classmethod
    def fresh(cls, n_shards: int, scheme: str = POSEIDON) -> "ShardSalts":
        """New random salts, of the scheme's size."""
        return cls(_fresh_salt(scheme), tuple(_fresh_salt(scheme) for _ in range(n_shards)), scheme)

    def to_json(self) -> dict[str, Any]:
        """JSON form (decimal strings)."""
        obj: dict[str, Any] = {"model": [str(v) for v in self.model], "shards": [[str(v) for v in s] for s in self.shards]}
        return obj if self.scheme == POSEIDON else {**obj, "scheme": self.scheme}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "ShardSalts":
        """Parse and range-check."""
        try:
            scheme = check_scheme(obj.get("scheme", POSEIDON))
            model, *shards = parse_salts([obj["model"], *obj["shards"]], scheme)
        except (KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"shard salts are malformed: {exc}") from None
        if any(len(salt) != salt_len(scheme) for salt in (model, *shards)):
            raise InputError(f"each {scheme} salt must be {salt_len(scheme)} integers")
        return cls(model, tuple(shards), scheme)


def parse_salts(salts: list, scheme: str = POSEIDON) -> list[tuple[int, ...]]:
    """Salts from their JSON form (decimal strings), each element checked to lie in (0, the scheme's bound)."""
    try:
        parsed = [tuple(int(v) for v in salt) for salt in salts]
    except (TypeError, ValueError) as exc:
        raise InputError(f"salts are malformed: {exc}") from None
    bound = _salt_bound(scheme)
    if any(not 0 < v < bound for salt in parsed for v in salt):
        what = f"2**{SALT_BITS}" if scheme == POSEIDON else "the field modulus"
        raise InputError(f"salts must be integers in (0, {what}) for {scheme}")
    return parsed


@dataclass(frozen=True)
class Commitments:
    """The public commitments, as 0x-prefixed big-endian hex field elements."""

    data: str
    model: str

    def to_json(self) -> dict[str, str]:
        """JSON form."""
        return {"data_commitment": self.data, "model_commitment": self.model}


def salt_elements(salt: tuple[int, ...], scale: int, scheme: str) -> Column:
    """A salt as a column's tail: field elements (kzg/v1) or floats that quantize to the integers at scale."""
    if scheme == KZG:
        return [v.to_bytes(32, "little").hex() for v in salt]
    # Dividing by 2**scale makes ezkl's quantization (round(v * 2**scale)) return the integer exactly.
    return (np.asarray(salt, dtype=np.float32) / np.float32(2**scale)).astype(np.float64).tolist()


def _column(values: np.ndarray, salt: tuple[int, ...], scale: int, scheme: str) -> Column:
    # float32 first: ezkl reads its inputs as float32, so the committed values are those.
    return np.asarray(values, dtype=np.float32).ravel().astype(np.float64).tolist() + salt_elements(salt, scale, scheme)


# ezkl quantizes an input v to round(v * 2**scale) and range-checks it below 2**27 (see SALT_BITS).
_MAX_QUANTIZED = 2**27


def check_representable(values: np.ndarray, what: str, scale: int) -> None:
    """A one-line error, before calibration, for values too large for the circuit's fixed point."""
    largest = float(np.max(np.abs(values))) if np.size(values) else 0.0
    if largest * 2**scale >= _MAX_QUANTIZED:
        raise InputError(f"{what} reach {largest:.3g}: at scale 2**{scale} the circuit holds values below {_MAX_QUANTIZED / 2**scale:.3g}; rescale them")


def data_vector(data: Dataset, salt: tuple[int, ...], scale: int, scheme: str = POSEIDON, *, pad: int = 0) -> Column:
    """The data column the circuit commits to; single-proof and shard plans alike.

    pad: that many padding samples after the data's (zero features, all-zero label vector), as a held-out block
    of layout 3 has where the challenge does not fill it.
    """
    check_representable(data.x, "the features", scale)
    x = data.x.astype(np.float32).reshape(len(data), -1)
    onehot = np.eye(data.num_classes, dtype=np.float32)[data.y]
    padded = [np.pad(part, ((0, pad), (0, 0))).ravel() for part in (x, onehot)]
    return _column(np.concatenate(padded), salt, scale, scheme)


def model_vector(theta: np.ndarray, salt: tuple[int, ...], scale: int, scheme: str = POSEIDON) -> Column:
    """The model column the circuit commits to."""
    check_representable(theta, "the model's parameters", scale)
    return _column(theta, salt, scale, scheme)


def direction_column(r: np.ndarray) -> Column:
    """The direction signs as the circuit's third input (unsalted: the verifier recomputes them)."""
    return np.asarray(r, dtype=np.float64).ravel().tolist()


def felt_hex(little_endian_hex: str) -> str:
    """ezkl's little-endian hex field element as the canonical 0x big-endian hex we publish."""
    return "0x" + bytes.fromhex(little_endian_hex.removeprefix("0x"))[::-1].hex()


def column_felts(column: Sequence[float | str], scale: int) -> list[str]:
    """The column's field elements as ezkl quantizes them (salt elements under kzg/v1 are already field elements)."""
    quantized = iter(_ezkl.to_felts([v for v in column if not isinstance(v, str)], scale))
    return [v if isinstance(v, str) else next(quantized) for v in column]


def commit_vector(column: Sequence[float | str] | np.ndarray, scale: int) -> str:
    """poseidon/v1: Poseidon hash of the quantized column, canonical hex."""
    values = column.tolist() if isinstance(column, np.ndarray) else list(column)
    return felt_hex(_ezkl.poseidon(column_felts(values, scale)))


def kzg_commitment(column: Sequence[float | str], scale: int, vk: Path, settings: Path, srs: Path) -> str:
    """kzg/v1: the column's KZG point under the circuit's key and SRS, as 0x || x || y (big-endian), as proofs carry it."""
    points = _ezkl.kzg_commit(column_felts(column, scale), vk, settings, srs)
    if len(points) != 1:
        # ezkl splits a column longer than 2**logrows (less its blinding rows) over several points.
        raise CircuitError(f"a column of {len(column)} values needs {len(points)} KZG points at this logrows; zkcert commits to one")
    return points[0]


def column_committer(scheme: str, scale: int, key: tuple[Path, Path, Path] | None = None) -> Callable[[Column], str]:
    """How a column becomes its commitment under a scheme: Poseidon, or the KZG point under key = (vk, settings, SRS)."""
    if check_scheme(scheme) == POSEIDON:
        return lambda column: commit_vector(column, scale)
    if key is None:
        raise InputError("kzg/v1 commitments exist only once the circuit's key does: prove (or plan with a committer) makes them")
    vk, settings, srs = key
    return lambda column: kzg_commitment(column, scale, vk, settings, srs)


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
