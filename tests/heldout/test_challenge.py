"""The verifier's challenge: drawn by its nonce, named by its hash, refused when edited after issue, duplicated or non-finite."""

from __future__ import annotations

import numpy as np
import pytest

from zkcert.data import Dataset
from zkcert.errors import InputError
from zkcert.heldout import Challenge


@pytest.fixture(scope="module")
def pool(digits_train) -> Dataset:
    return digits_train.head(60)


def test_a_nonce_fixes_the_draw_and_the_hash(pool):
    a, b = Challenge.issue(pool, 8, nonce="n1"), Challenge.issue(pool, 8, nonce="n1")
    assert a.sha256 == b.sha256 and np.array_equal(a.x, b.x)
    other = Challenge.issue(pool, 8, nonce="n2")
    assert other.sha256 != a.sha256
    fresh = Challenge.issue(pool, 8)
    assert len(fresh.nonce) == 32 and fresh.nonce != Challenge.issue(pool, 8).nonce


def test_saved_challenge_reads_back_with_its_hash(pool, tmp_path):
    issued = Challenge.issue(pool, 8, nonce="n1")
    read = Challenge.load(issued.save(tmp_path / "c.npz"))
    assert read.sha256 == issued.sha256 and read.nonce == "n1" and len(read) == 8


def _rewrite(path, **changes):
    with np.load(path, allow_pickle=False) as npz:
        fields = {k: npz[k] for k in npz.files}
    fields.update(changes)
    np.savez(path, **fields)


@pytest.mark.parametrize("field", ["x", "y", "nonce"])
def test_a_file_edited_after_issue_is_refused(pool, tmp_path, field):
    path = Challenge.issue(pool, 8, nonce="n1").save(tmp_path / "c.npz")
    with np.load(path) as npz:
        value = npz[field]
    edits = {"x": lambda v: v + np.float32(1 / 16), "y": lambda v: (v + 1) % 10, "nonce": lambda v: np.str_("n2")}
    edited = edits[field](value)
    _rewrite(path, **{field: edited})
    with pytest.raises(InputError, match="edited after issue"):
        Challenge.load(path)


def test_duplicate_and_non_finite_samples_are_refused(pool):
    x, y = pool.x[:4].copy(), pool.y[:4].copy()
    x[3] = x[1]
    with pytest.raises(InputError, match="duplicate samples"):
        Challenge(x, y, 10, "n")
    x[3, 0] = np.nan
    with pytest.raises(InputError, match="NaN|finite"):
        Challenge(x, y, 10, "n")


def test_a_pool_with_repeats_gives_distinct_samples(pool):
    doubled = Dataset(np.concatenate([pool.x, pool.x]), np.concatenate([pool.y, pool.y]), 10)
    issued = Challenge.issue(doubled, 60, nonce="n")
    assert len(np.unique(issued.x.reshape(60, -1), axis=0)) == 60
    with pytest.raises(InputError, match="distinct samples"):
        Challenge.issue(doubled, 61)
