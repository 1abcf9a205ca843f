"""Shard sizing: a memory budget becomes a largest logrows per column count, then the largest shard size whose circuit fits it."""

from __future__ import annotations

import pytest

from certs import TINY
from zkcert.commitments import KZG, POSEIDON
from zkcert.errors import InputError
from zkcert.proving import sizing

STATEMENT = {"threshold": 1000.0, **TINY.override(commitment=KZG).statement_kwargs()}


def test_budget_to_logrows_follows_the_measured_peaks():
    assert sizing.max_logrows_for(12.0, KZG) == 17  # 12.4 GiB measured at 18 for a 2-column kzg/v1 MNIST shard worker
    assert sizing.max_logrows_for(13.0, KZG) == 18
    assert sizing.max_logrows_for(12.0, POSEIDON) == 17  # about 12.0 GiB measured at 18 for the default statement
    assert sizing.max_logrows_for(6.0, KZG) == 16 and sizing.max_logrows_for(26.0, KZG) == 19
    # 4 columns per row: about 10.3 GiB at 17 (a 20-sample MNIST shard), so 12 GiB still allows 17, 10 GiB only 16.
    assert sizing.max_logrows_for(12.0, KZG, 4) == 17 and sizing.max_logrows_for(10.0, KZG, 4) == 16
    assert sizing.peak_gb(17, KZG, 4) > sizing.peak_gb(17, KZG, 2)
    with pytest.raises(InputError, match="below what any proof needs"):
        sizing.max_logrows_for(0.01, KZG)


def test_a_shard_is_calibrated_once_per_process(proof_mlp, digits_train, monkeypatch):
    """The same candidate shard asked about twice calibrates once; another shard, model or column count calibrates again."""
    import copy

    import torch

    from zkcert import circuit

    calls = []
    real = circuit.calibrate_spec
    monkeypatch.setattr(circuit, "calibrate_spec", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr(sizing, "_CALIBRATED", {})
    data = digits_train.head(8)
    assert sizing._fits(proof_mlp, data, 2, STATEMENT, 2, 18) and len(calls) == 1  # 15 or 16, by the salts drawn
    assert not sizing._fits(proof_mlp, data, 2, STATEMENT, 2, 14) and len(calls) == 1  # the stored logrows, another cap
    other = copy.deepcopy(proof_mlp)
    with torch.no_grad():
        other[-1].bias.add_(0.01)
    for args in ((proof_mlp, digits_train.subset([1, 0]), 2, STATEMENT, 2), (other, data, 2, STATEMENT, 2),
                 (proof_mlp, data, 2, STATEMENT, 4), (proof_mlp, data, 2, {**STATEMENT, "epsilon": 0.25}, 2)):
        before = len(calls)
        sizing._fits(*args, 18)
        assert len(calls) == before + 1, args[1:]


def test_the_chosen_shard_size_is_the_largest_divisor_that_fits(proof_mlp, digits_train):
    data = digits_train.head(48)
    # Measured: this statement's shard of the tiny model needs logrows 15 at 4 samples, 16 at 16, 17 at 32.
    size, cols = sizing.choose_shard_size(proof_mlp, data, max_memory_gb=sizing.peak_gb(16, KZG), inner_cols=2, **STATEMENT)
    assert cols == 2 and 1 < size < 48 and 48 % size == 0 and sizing._fits(proof_mlp, data, size, STATEMENT, 2, 16)
    larger = min(s for s in range(size + 1, 49) if 48 % s == 0)
    assert not sizing._fits(proof_mlp, data, larger, STATEMENT, 2, 16)


def test_more_columns_per_row_win_when_they_fit_more_samples(proof_mlp, digits_train):
    # 72 samples: with graph 3, 2 columns fit 24 per shard at logrows 16 and 4 columns 36 (with 48, both 24).
    data = digits_train.head(72)
    budget = sizing.peak_gb(16, KZG, 4)  # logrows 16 for either column count (17 with 2 columns is above it)
    assert sizing.max_logrows_for(budget, KZG, 2) == sizing.max_logrows_for(budget, KZG, 4) == 16
    size, cols = sizing.choose_shard_size(proof_mlp, data, max_memory_gb=budget, **STATEMENT)
    two, _ = sizing.choose_shard_size(proof_mlp, data, max_memory_gb=budget, inner_cols=2, **STATEMENT)
    assert (cols, size > two) == (4, True)


def test_a_sample_count_without_a_useful_divisor_is_refused_with_one_that_has_one(proof_mlp, digits_train):
    """47 is prime: auto sizing would prove 47 shards of 1 where a few dozen samples fit per shard."""
    import re

    data = digits_train.head(47)
    budget = sizing.peak_gb(16, KZG)
    with pytest.raises(InputError, match=r"47 samples split into shards of at most 1 .* would fit: use --samples") as info:
        sizing.choose_shard_size(proof_mlp, data, max_memory_gb=budget, inner_cols=2, **STATEMENT)
    fit, samples = int(re.search(r"but (\d+) per shard", str(info.value))[1]), int(re.search(r"--samples (\d+)", str(info.value))[1])
    assert 2 <= fit < 47 and samples % fit == 0 and samples > 47 - fit
    assert sizing._fits(proof_mlp, data, fit, STATEMENT, 2, 16) and not sizing._fits(proof_mlp, data, fit + 1, STATEMENT, 2, 16)
    assert sizing.choose_shard_size(proof_mlp, data.head(samples), max_memory_gb=budget, inner_cols=2, **STATEMENT) == (fit, 2)
