"""The committed direction: seed from the commitments and a public nonce, Rademacher signs, a named family.

Families (shared/PROTOCOL.md, "The committed direction"); both are invariant under the rescalings of
ReLU networks that leave the function unchanged, and both are fixed by the seed alone:
  "rademacher-abs/v1"  signs r of theta's size (P), d = r * |theta| elementwise.
  "row-sign/v1"        one sign a_j per output unit of each Linear or Conv2d layer (U signs), d_W[j] = a_j W[j]
                       (row or filter j) and d_b[j] = a_j b[j]: theta +/- eps d scales unit j's incoming
                       weights and bias by (1 +/- eps a_j), which the circuit applies to the unit's output.
The circuit's direction input (hashed, recomputed by the verifier) is the signs, P or U per direction.

PRG "sha256-ctr/v1" (documented so any verifier can reimplement it without zkcert):
  seed      = SHA-256(b"zkcert/direction/v1" || C_theta (32 bytes) || C_D (32 bytes) || nonce (UTF-8))
  sub_seed_k = SHA-256(seed || k as 4-byte big-endian)                  for direction k = 0..K-1
  stream_k  = SHA-256(sub_seed_k || 0 as 8-byte BE) || SHA-256(sub_seed_k || 1) || ...
  r_k[j]    = +1 if bit j of stream_k is 1 else -1, bits read most significant first within each byte.
SHA-256 rather than numpy's generators because its output is fixed by a standard, not by a library version.
"""

from __future__ import annotations

import hashlib
from typing import Any, Sequence

import numpy as np

from .errors import InputError

__all__ = [
    "DOMAIN", "PRG", "FAMILIES", "field_bytes", "RADEMACHER_ABS", "ROW_SIGN", "DEFAULT_FAMILY", "derive_seed", "rademacher",
    "directions", "scale_invariant", "unit_counts", "sign_length", "family_signs", "family_directions",
    "row_sign_directions", "check_family", "expand_unit_signs", "committed_directions",
]

DOMAIN = b"zkcert/direction/v1"
PRG = "sha256-ctr/v1"
RADEMACHER_ABS = "rademacher-abs/v1"
ROW_SIGN = "row-sign/v1"
FAMILIES = (RADEMACHER_ABS, ROW_SIGN)
DEFAULT_FAMILY = RADEMACHER_ABS  # zkcert.preset's default statement


def field_bytes(commitment: str) -> bytes:
    """The bytes of a commitment: a 0x-prefixed hex field element as 32 big-endian bytes, or a KZG point (x || y) as its 64."""
    text = commitment.lower().removeprefix("0x")
    if len(text) == 128:  # kzg/v1: the point exactly as the proof carries it
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise InputError(f"commitment {commitment!r} is not a hex KZG point") from None
    try:
        value = int(text, 16)
    except ValueError:
        raise InputError(f"commitment {commitment!r} is not a hex field element") from None
    if value >= 1 << 256:
        raise InputError(f"commitment {commitment!r} is longer than 32 bytes")
    return value.to_bytes(32, "big")


def derive_seed(c_theta: str, c_data: str, nonce: str) -> bytes:
    """The 32-byte direction seed of shared/PROTOCOL.md."""
    return hashlib.sha256(DOMAIN + field_bytes(c_theta) + field_bytes(c_data) + nonce.encode()).digest()


def rademacher(sub_seed: bytes, n: int) -> np.ndarray:
    """n signs in {-1, +1} (int8) from SHA-256 in counter mode."""
    n_blocks = (n + 255) // 256
    stream = b"".join(hashlib.sha256(sub_seed + j.to_bytes(8, "big")).digest() for j in range(n_blocks))
    bits = np.unpackbits(np.frombuffer(stream, dtype=np.uint8))[:n]
    return (bits.astype(np.int8) * 2 - 1).astype(np.int8)


def directions(seed: bytes, num_params: int, k: int) -> np.ndarray:
    """K Rademacher vectors of length num_params, shape (K, P), one sub-seed each."""
    if k < 1:
        raise InputError(f"need at least one direction, got K={k}")
    subs = [hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(k)]
    return np.stack([rademacher(s, num_params) for s in subs])


def scale_invariant(r: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """d = r * |theta|: unchanged in meaning under the ReLU rescalings that leave the function unchanged."""
    return r * np.abs(theta)


def check_family(family: str) -> str:
    """The family name, or a one-line error naming the known ones."""
    if family not in FAMILIES:
        raise InputError(f"unknown direction family {family!r}; known: {list(FAMILIES)}")
    return family


def unit_counts(layers: Sequence[dict[str, Any]]) -> list[tuple[int, int]]:
    """(units, parameters per unit's weights) of each Linear or Conv2d layer, in parameter order."""
    out = []
    for cfg in layers:
        if cfg["type"] == "Linear":
            out.append((int(cfg["out_features"]), int(cfg["in_features"])))
        elif cfg["type"] == "Conv2d":
            k = cfg["kernel_size"]
            out.append((int(cfg["out_channels"]), int(cfg["in_channels"]) * int(k[0]) * int(k[1])))
    return out


def sign_length(family: str, layers: Sequence[dict[str, Any]], num_params: int) -> int:
    """Signs per direction the family draws: P for rademacher-abs, the number of units for row-sign."""
    if check_family(family) == RADEMACHER_ABS:
        return num_params
    return sum(units for units, _ in unit_counts(layers))


def family_signs(family: str, seed: bytes, layers: Sequence[dict[str, Any]], num_params: int, k: int) -> np.ndarray:
    """The (K, P or U) signs of the family: what the circuit takes as its direction input."""
    return directions(seed, sign_length(family, layers, num_params), k)


def expand_unit_signs(a: np.ndarray, layers: Sequence[dict[str, Any]]) -> np.ndarray:
    """Per-unit signs (K, U) as per-parameter signs (K, P): each unit's sign on its weights and its bias."""
    parts, offset = [], 0
    for units, fan_in in unit_counts(layers):
        block = a[:, offset : offset + units]
        parts += [np.repeat(block, fan_in, axis=1), block]
        offset += units
    return np.concatenate(parts, axis=1)


def family_directions(family: str, signs: np.ndarray, theta: np.ndarray, layers: Sequence[dict[str, Any]]) -> np.ndarray:
    """The float directions d (K, P) of the family from its signs."""
    per_param = signs if check_family(family) == RADEMACHER_ABS else expand_unit_signs(signs, layers)
    if per_param.shape[1] != theta.size:
        raise InputError(f"{family} signs give {per_param.shape[1]} parameters, the model has {theta.size}")
    if family == RADEMACHER_ABS:
        return scale_invariant(per_param, theta)
    return per_param * theta  # row-sign: d_W[j] = a_j W[j], d_b[j] = a_j b[j], signs, not magnitudes


def row_sign_directions(seed: bytes, model: Any, k: int) -> np.ndarray:
    """The (K, P) row-sign directions of a torch model (flat_params order) from a seed."""
    from .metric import flat_params
    from .models import layer_configs

    layers, theta = layer_configs(model), flat_params(model)
    return family_directions(ROW_SIGN, family_signs(ROW_SIGN, seed, layers, theta.size, k), theta, layers)


def committed_directions(spec: Any, c_model: str, c_data: str, nonce: str) -> np.ndarray:
    """The direction signs (K, P or U) of a circuit spec's family, derived from the commitments and nonce."""
    return family_signs(spec.direction, derive_seed(c_model, c_data, nonce), spec.layers, spec.num_params, spec.n_directions)
