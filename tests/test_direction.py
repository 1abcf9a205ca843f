import hashlib

import numpy as np
import pytest

from zkcert.direction import DOMAIN, derive_seed, directions, rademacher, scale_invariant
from zkcert.errors import InputError

C1 = "0x" + "11" * 32
C2 = "0x" + "22" * 32


def test_seed_is_the_documented_sha256():
    expected = hashlib.sha256(DOMAIN + bytes.fromhex("11" * 32) + bytes.fromhex("22" * 32) + b"nonce").digest()
    assert derive_seed(C1, C2, "nonce") == expected


@pytest.mark.parametrize("change", ["theta", "data", "nonce"])
def test_seed_depends_on_every_input(change):
    base = derive_seed(C1, C2, "n")
    other = {"theta": derive_seed(C2, C2, "n"), "data": derive_seed(C1, C1, "n"), "nonce": derive_seed(C1, C2, "m")}
    assert other[change] != base


def test_commitment_order_matters():
    assert derive_seed(C1, C2, "") != derive_seed(C2, C1, "")


def test_rademacher_is_deterministic_signs_and_balanced():
    r = rademacher(b"seed", 10_000)
    assert r.dtype == np.int8 and set(np.unique(r)) == {-1, 1}
    np.testing.assert_array_equal(r, rademacher(b"seed", 10_000))
    assert abs(r.mean()) < 0.05
    assert not np.array_equal(r, rademacher(b"seed2", 10_000))


def test_rademacher_golden_prefix():
    # Golden: the PRG is part of the protocol, so its output must never drift between versions.
    block = hashlib.sha256(b"abc" + (0).to_bytes(8, "big")).digest()
    bits = np.unpackbits(np.frombuffer(block, dtype=np.uint8))[:16]
    np.testing.assert_array_equal(rademacher(b"abc", 16), bits.astype(np.int8) * 2 - 1)


def test_directions_are_independent_per_k():
    d = directions(b"s" * 32, 500, 3)
    assert d.shape == (3, 500)
    assert not np.array_equal(d[0], d[1])
    np.testing.assert_array_equal(d[0], directions(b"s" * 32, 500, 1)[0])


def test_bad_inputs():
    with pytest.raises(InputError, match="at least one direction"):
        directions(b"s", 10, 0)
    with pytest.raises(InputError, match="not a hex field element"):
        derive_seed("0xZZ", C2, "")


def test_scale_invariant_direction():
    theta = np.array([-2.0, 0.5, 0.0])
    r = np.array([1, -1, 1], dtype=np.int8)
    np.testing.assert_allclose(scale_invariant(r, theta), [2.0, -0.5, 0.0])


def test_row_sign_draws_one_sign_per_unit_and_expands_to_rows():
    from zkcert.direction import ROW_SIGN, expand_unit_signs, family_directions, family_signs, sign_length

    layers = ({"type": "Flatten"}, {"type": "Linear", "in_features": 3, "out_features": 2}, {"type": "ReLU"},
              {"type": "Linear", "in_features": 2, "out_features": 2})
    num_params = 3 * 2 + 2 + 2 * 2 + 2
    assert sign_length(ROW_SIGN, layers, num_params) == 4
    a = family_signs(ROW_SIGN, b"s" * 32, layers, num_params, 2)
    assert a.shape == (2, 4)
    a = np.array([[1, -1, -1, 1]], dtype=np.int8)
    np.testing.assert_array_equal(expand_unit_signs(a, layers)[0], [1, 1, 1, -1, -1, -1, 1, -1, -1, -1, 1, 1, -1, 1])
    theta = np.arange(1.0, num_params + 1)
    np.testing.assert_array_equal(family_directions(ROW_SIGN, a, theta, layers)[0], expand_unit_signs(a, layers)[0] * theta)
    with pytest.raises(InputError, match="unknown direction family"):
        family_directions("rows/v0", a, theta, layers)
