"""The seeded neighbour offsets: a verifier without zkcert recomputes them from the documented generator."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from zkcert.direction import derive_seed as direction_seed
from zkcert.errors import InputError
from zkcert.neighbours import check_neighbours, committed_offsets, derive_seed, offsets, unit_offsets

C_THETA, C_DATA = "0x" + "ab" * 32, "0x" + "cd" * 32


def _reimplemented(c_theta: str, c_data: str, nonce: str, q: int, d: int, e: float, s: int) -> np.ndarray:
    """sha256-grid/v1 as zkcert.neighbours' docstring states it, with hashlib and integers only."""
    seed = hashlib.sha256(b"zkcert/neighbours/v1" + bytes.fromhex(c_theta[2:]) + bytes.fromhex(c_data[2:]) + nonce.encode()).digest()
    out = np.zeros((q, d))
    for k in range(q):
        sub = hashlib.sha256(seed + k.to_bytes(4, "big")).digest()
        stream = b"".join(hashlib.sha256(sub + j.to_bytes(8, "big")).digest() for j in range(d // 16 + 1))
        for j in range(d):
            w = int.from_bytes(stream[2 * j : 2 * j + 2], "big")
            v = e * (2 * w + 1 - 2**16) * 2.0 ** (s - 16)
            out[k, j] = (1 if v > 0 else -1) * int(abs(v) + 0.5) / 2**s
    return out


def test_offsets_are_the_documented_generator() -> None:
    got = committed_offsets(C_THETA, C_DATA, "nonce", 3, 50, 0.1, 10)
    np.testing.assert_array_equal(got, _reimplemented(C_THETA, C_DATA, "nonce", 3, 50, 0.1, 10))
    assert got.shape == (3, 50) and np.all(got * 2**10 == np.round(got * 2**10))  # on the circuit's grid


def test_unit_offsets_are_uniform_in_the_cube() -> None:
    u = unit_offsets(derive_seed(C_THETA, C_DATA, ""), 4, 5000)
    assert np.all(np.abs(u) < 1) and abs(u.mean()) < 0.02 and abs(np.mean(np.abs(u)) - 0.5) < 0.02
    assert np.all(np.abs(offsets(derive_seed(C_THETA, C_DATA, ""), 4, 5000, 0.25, 12)) <= 0.25)


def test_every_input_moves_the_offsets() -> None:
    base = committed_offsets(C_THETA, C_DATA, "n", 2, 64, 0.1, 10)
    for other in (committed_offsets(C_DATA, C_THETA, "n", 2, 64, 0.1, 10), committed_offsets(C_THETA, C_DATA, "m", 2, 64, 0.1, 10)):
        assert not np.array_equal(base, other)
    assert derive_seed(C_THETA, C_DATA, "n") != direction_seed(C_THETA, C_DATA, "n")  # its own domain


@pytest.mark.parametrize("degree, q", [(0.0, 4), (-0.1, 4), (1.01, 4), (float("nan"), 4), (0.1, 0), (0.1, -2), (0.1, 2.5)])
def test_bad_degree_or_count_is_one_line(degree, q) -> None:
    with pytest.raises(InputError) as err:
        check_neighbours(degree, q)
    assert "\n" not in str(err.value)
