"""Commitments: salted Poseidon hashes of the quantized data and model, the shard root, and the salts files."""

from __future__ import annotations

import numpy as np
import pytest

from zkcert.commitments import SALT_BITS, SALT_LEN, Salts, ShardSalts, commit_vector, data_vector, model_vector, shard_root
from zkcert.errors import InputError
from zkcert.metric import flat_params


def test_commitments_are_stable_and_salted(tiny_mlp, tiny_data):
    salts = Salts.fresh()
    c1 = commit_vector(data_vector(tiny_data, salts.data, 8), 8)
    assert c1 == commit_vector(data_vector(tiny_data, salts.data, 8), 8)
    assert c1.startswith("0x") and len(c1) == 66
    assert c1 != commit_vector(data_vector(tiny_data, Salts.fresh().data, 8), 8)
    m1 = commit_vector(model_vector(flat_params(tiny_mlp), salts.model, 8), 8)
    assert m1 != c1


def test_commitment_binds_every_sample(tiny_data):
    salts = Salts.fresh()
    base = commit_vector(data_vector(tiny_data, salts.data, 8), 8)
    changed = tiny_data.subset(np.r_[np.arange(len(tiny_data) - 1), 0])
    assert commit_vector(data_vector(changed, salts.data, 8), 8) != base


def test_salts_are_exactly_representable():
    salts = Salts.fresh()
    assert len(salts.data) == SALT_LEN and all(0 < v < 2**SALT_BITS for v in salts.data)
    vec = model_vector(np.zeros(3), salts.model, 8)
    assert vec[:3] == [0.0, 0.0, 0.0]
    np.testing.assert_array_equal(np.round(np.asarray(vec[3:]) * 256).astype(int), salts.model)


def test_salts_json_roundtrip_and_validation():
    salts = Salts.fresh()
    assert Salts.from_json(salts.to_json()) == salts
    with pytest.raises(InputError, match="malformed"):
        Salts.from_json({"data": ["x"], "model": []})
    with pytest.raises(InputError, match="salts must be integers"):
        Salts.from_json({"data": [str(2**40)], "model": []})


def test_shard_root_binds_order_and_count():
    c = ["0x01", "0x02", "0x03"]
    assert shard_root(c) != shard_root(c[::-1])
    assert shard_root(c) != shard_root(c[:2])
    assert shard_root(c) != shard_root(c + c[-1:])


@pytest.mark.parametrize("obj", [{"model": ["1"] * 5}, {"model": ["0"] * 5, "shards": []}, {"model": ["1"] * 4, "shards": []}])
def test_bad_shard_salts(obj):
    with pytest.raises(InputError):
        ShardSalts.from_json(obj)


def test_kzg_salts_are_field_elements_and_name_their_scheme():
    from zkcert.commitments import FIELD_MODULUS, KZG, KZG_SALT_LEN

    salts = Salts.fresh(KZG)
    assert len(salts.data) == KZG_SALT_LEN and all(0 < v < FIELD_MODULUS for v in salts.data + salts.model)
    assert max(salts.data + salts.model) > 2**200  # uniform in the field: a 24-bit salt would not hide a KZG point
    assert salts.to_json()["scheme"] == KZG and Salts.from_json(salts.to_json()) == salts
    assert "scheme" not in Salts.fresh().to_json()  # poseidon/v1 files read as they always did
    shard = ShardSalts.fresh(2, KZG)
    assert ShardSalts.from_json(shard.to_json()) == shard
    with pytest.raises(InputError, match="salts must be integers"):
        Salts.from_json({"data": [str(FIELD_MODULUS)], "model": ["1"], "scheme": KZG})
    with pytest.raises(InputError, match="unknown commitment scheme"):
        Salts.from_json({"data": ["1"], "model": ["1"], "scheme": "sha/v9"})


def test_kzg_columns_carry_the_salt_as_field_elements():
    from zkcert.commitments import KZG, column_felts

    salts = Salts.fresh(KZG)
    col = model_vector(np.array([0.5, -0.25]), salts.model, 8, KZG)
    assert col[:2] == [0.5, -0.25] and col[2:] == [v.to_bytes(32, "little").hex() for v in salts.model]
    felts = column_felts(col, 8)
    assert felts[2:] == col[2:] and int.from_bytes(bytes.fromhex(felts[0]), "little") == 128
