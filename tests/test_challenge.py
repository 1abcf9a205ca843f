"""The spot check's challenge (which shards are proved) and its confidence bound; certificates: tests/verification/test_spot_check.py."""

from __future__ import annotations

import hashlib

import pytest

from zkcert.errors import InputError
from zkcert.challenge import challenge, exceeding_bound, pass_probability



def test_challenge_is_the_documented_prg():
    """The challenge is a contract: reimplemented here from the module's documentation alone."""
    root, c_theta, nonce = "0x" + "11" * 32, "0x" + "22" * 32, "n"
    seed = hashlib.sha256(b"zkcert/challenge/v1" + bytes.fromhex("11" * 32) + bytes.fromhex("22" * 32) + b"n").digest()
    ranked = sorted(range(10), key=lambda i: int.from_bytes(hashlib.sha256(seed + i.to_bytes(8, "big")).digest(), "big"))
    assert challenge(root, c_theta, nonce, 10, 3) == tuple(sorted(ranked[:3]))
    assert challenge("0x01", "0x02", "n", 10, 3) == (0, 2, 8)  # pinned: a change here breaks old certificates


def test_challenge_depends_on_every_input():
    base = challenge("0x01", "0x02", "n", 64, 8)
    assert len(set(base)) == 8 and all(0 <= i < 64 for i in base) and list(base) == sorted(base)
    assert {challenge("0x03", "0x02", "n", 64, 8), challenge("0x01", "0x03", "n", 64, 8), challenge("0x01", "0x02", "m", 64, 8)} != {base}
    assert set(challenge("0x01", "0x02", "n", 64, 4)) <= set(base)  # nested: asking for more never drops one
    assert challenge("0x01", "0x02", "n", 5, 5) == (0, 1, 2, 3, 4)


@pytest.mark.parametrize("n_shards, n_sampled", [(4, 0), (4, 5), (0, 1)])
def test_bad_sample_sizes(n_shards, n_sampled):
    with pytest.raises(InputError, match="challenge"):
        challenge("0x01", "0x02", "", n_shards, n_sampled)


def test_confidence_bound():
    # C(3, 2) / C(4, 2): the one bad shard escapes a challenge of two with probability 1/2.
    assert pass_probability(4, 2, 1) == pytest.approx(0.5)
    assert pass_probability(4, 2, 0) == pytest.approx(1.0)
    assert pass_probability(4, 2, 3) == pytest.approx(0.0)
    assert exceeding_bound(4, 4) == 1  # proving every shard: none exceeds
    b = exceeding_bound(1000, 100, 0.95)
    assert pass_probability(1000, 100, b) <= 0.05 < pass_probability(1000, 100, b - 1)
    assert exceeding_bound(1000, 100, 0.99) > b
    with pytest.raises(InputError):
        exceeding_bound(10, 2, 1.0)
