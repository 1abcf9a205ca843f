"""The committed direction: seed from the commitments and a public nonce, Rademacher r, d = r * |theta|.

PRG "sha256-ctr/v1" (documented so any verifier can reimplement it without zkcert):
  seed      = SHA-256(b"zkcert/direction/v1" || C_theta (32 bytes) || C_D (32 bytes) || nonce (UTF-8))
  sub_seed_k = SHA-256(seed || k as 4-byte big-endian)                  for direction k = 0..K-1
  stream_k  = SHA-256(sub_seed_k || 0 as 8-byte BE) || SHA-256(sub_seed_k || 1) || ...
  r_k[j]    = +1 if bit j of stream_k is 1 else -1, bits read most significant first within each byte.
SHA-256 rather than numpy's generators because its output is fixed by a standard, not by a library version.
"""

from __future__ import annotations

import hashlib

import numpy as np

from .errors import InputError

__all__ = ["DOMAIN", "PRG", "derive_seed", "rademacher", "directions", "scale_invariant"]

DOMAIN = b"zkcert/direction/v1"
PRG = "sha256-ctr/v1"


def _field_bytes(commitment: str) -> bytes:
    """32-byte big-endian encoding of a commitment given as a 0x-prefixed hex field element."""
    text = commitment.lower().removeprefix("0x")
    try:
        value = int(text, 16)
    except ValueError:
        raise InputError(f"commitment {commitment!r} is not a hex field element") from None
    if value >= 1 << 256:
        raise InputError(f"commitment {commitment!r} is longer than 32 bytes")
    return value.to_bytes(32, "big")


def derive_seed(c_theta: str, c_data: str, nonce: str) -> bytes:
    """The 32-byte direction seed of shared/PROTOCOL.md."""
    return hashlib.sha256(DOMAIN + _field_bytes(c_theta) + _field_bytes(c_data) + nonce.encode()).digest()


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
