"""Shard sizing: a memory budget becomes a largest logrows, then the largest shard size whose circuit fits it."""

from __future__ import annotations

import pytest

from certs import TINY
from zkcert.commitments import KZG, POSEIDON
from zkcert.errors import InputError
from zkcert.proving import sizing


def test_budget_to_logrows_follows_the_measured_peaks():
    assert sizing.max_logrows_for(12.0, KZG) == 17  # 12.7 GB measured at 18 for a kzg/v1 MNIST shard worker
    assert sizing.max_logrows_for(13.0, KZG) == 18
    assert sizing.max_logrows_for(12.0, POSEIDON) == 17  # 12.3 GB measured at 18 for the default statement
    assert sizing.max_logrows_for(6.0, KZG) == 16 and sizing.max_logrows_for(26.0, KZG) == 19
    with pytest.raises(InputError, match="below what any proof needs"):
        sizing.max_logrows_for(0.01, KZG)


def test_the_chosen_shard_size_is_the_largest_divisor_that_fits(proof_mlp, digits_train):
    data = digits_train.head(48)
    statement = {"threshold": 1000.0, "commitment": KZG, **TINY}
    # Measured: this statement's shard of the tiny model needs logrows 15 at 4 samples, 16 at 16, 17 at 32.
    size = sizing.choose_shard_size(proof_mlp, data, max_memory_gb=sizing.peak_gb(16, KZG), **statement)
    assert 1 < size < 48 and 48 % size == 0 and sizing._fits(proof_mlp, data, size, statement, 16)
    larger = min(s for s in range(size + 1, 49) if 48 % s == 0)
    assert not sizing._fits(proof_mlp, data, larger, statement, 16)
