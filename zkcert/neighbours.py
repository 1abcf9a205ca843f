"""The seeded neighbour offsets of the resilience claim ("resilience/v1"), derived as the directions are.

A neighbour of a committed sample x is x + delta_q, delta_q = e * u_q rounded to the circuit's fixed-point grid,
u_q uniform in [-1, 1]^d (REVa's random neighbours, arXiv 2509.19197). The owner cannot choose them: they come
from SHA-256 of the commitments and the verifier's nonce, and the verifier recomputes them.

Generator "sha256-grid/v1" (documented so any verifier can reimplement it without zkcert):
  seed       = SHA-256(b"zkcert/neighbours/v1" || C_theta || C_D || nonce (UTF-8)), the commitments as in
               zkcert.direction.field_bytes (32 bytes, or a KZG point's 64)
  sub_seed_q = SHA-256(seed || q as 4-byte big-endian)                        for neighbour q = 0..Q-1
  stream_q   = SHA-256(sub_seed_q || 0 as 8-byte BE) || SHA-256(sub_seed_q || 1) || ...
  w_q[j]     = bytes 2j, 2j+1 of stream_q as a big-endian 16-bit integer      for feature j = 0..d-1
  u_q[j]     = (2 w_q[j] + 1 - 2**16) / 2**16: the 2**16 odd multiples of 2**-16 in (-1, 1), uniform, mean 0
  delta_q[j] = k / 2**s with k = e * (2 w_q[j] + 1 - 2**16) * 2**(s - 16) in IEEE double (one rounding, in the
               product by e), rounded half away from zero; s is the circuit's input scale.
The offsets are shared by every sample (one set of Q, not Q per sample): the circuit then computes the first
layer's response to each offset once per proof, W (x + delta_q) = W x + W delta_q, so a neighbour costs a
sample only what the layers after the first cost (results/proving/rows.md has the measured rows). Each
sample still meets Q independent uniform neighbours; what sharing changes is that the samples' outcomes are
not independent draws, so the count is one draw of Q directions for the whole set, like the sharpness
directions. Neighbours are not clipped to the data range (REVa clips to [0, 1]): clipping costs two
comparisons per feature, neighbour and sample, and would break the first-layer sharing.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from .direction import field_bytes
from .errors import InputError

__all__ = ["DOMAIN", "GENERATOR", "WORD_BITS", "check_neighbours", "derive_seed", "unit_words", "unit_offsets", "offsets",
           "committed_offsets"]

DOMAIN = b"zkcert/neighbours/v1"
GENERATOR = "sha256-grid/v1"
WORD_BITS = 16


def check_neighbours(degree: float, neighbours: int) -> tuple[float, int]:
    """(e, Q) if e lies in (0, 1] and Q >= 1, else a one-line InputError."""
    if isinstance(neighbours, bool) or not isinstance(neighbours, (int, np.integer)) or neighbours < 1:
        raise InputError(f"the number of neighbours Q must be an integer of at least 1, got {neighbours!r}")
    if isinstance(degree, bool) or not isinstance(degree, (int, float)) or not math.isfinite(degree) or not 0.0 < degree <= 1.0:
        raise InputError(f"the perturbation degree e must lie in (0, 1], got {degree!r}")
    return float(degree), int(neighbours)


def derive_seed(c_theta: str, c_data: str, nonce: str) -> bytes:
    """The 32-byte neighbour seed (the module docstring): another domain than the directions', same inputs."""
    return hashlib.sha256(DOMAIN + field_bytes(c_theta) + field_bytes(c_data) + nonce.encode()).digest()


def unit_words(seed: bytes, neighbours: int, features: int) -> np.ndarray:
    """The (Q, d) 16-bit words w_q[j] of the generator."""
    rows = []
    for q in range(neighbours):
        sub = hashlib.sha256(seed + q.to_bytes(4, "big")).digest()
        n_blocks = (2 * features + 31) // 32
        stream = b"".join(hashlib.sha256(sub + j.to_bytes(8, "big")).digest() for j in range(n_blocks))
        rows.append(np.frombuffer(stream[: 2 * features], dtype=">u2").astype(np.int64))
    return np.stack(rows)


def unit_offsets(seed: bytes, neighbours: int, features: int) -> np.ndarray:
    """u_q in (-1, 1)^d, shape (Q, d), float64 (exact: odd multiples of 2**-16)."""
    return (2 * unit_words(seed, neighbours, features) + 1 - 2**WORD_BITS) / 2.0**WORD_BITS


def offsets(seed: bytes, neighbours: int, features: int, degree: float, scale: int) -> np.ndarray:
    """delta_q = e * u_q on the fixed-point grid of 2**-scale, shape (Q, d), float64 (each value exact in float32 too)."""
    degree, neighbours = check_neighbours(degree, neighbours)
    numerators = 2 * unit_words(seed, neighbours, features) + 1 - 2**WORD_BITS
    steps = degree * numerators.astype(np.float64) * 2.0 ** (scale - WORD_BITS)
    return np.sign(steps) * np.floor(np.abs(steps) + 0.5) / 2.0**scale


def committed_offsets(c_theta: str, c_data: str, nonce: str, neighbours: int, features: int, degree: float,
                      scale: int) -> np.ndarray:
    """The offsets a resilience claim uses, from the published commitments and the verifier's nonce."""
    return offsets(derive_seed(c_theta, c_data, nonce), neighbours, features, degree, scale)
