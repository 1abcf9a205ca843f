import numpy as np
import pytest

from zkcert.commitments import SALT_BITS, SALT_LEN, Salts, commit_vector, data_vector, model_vector
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
    assert vec.dtype == np.float32
    np.testing.assert_array_equal(np.round(vec[3:].astype(np.float64) * 256).astype(int), salts.model)


def test_salts_json_roundtrip_and_validation():
    salts = Salts.fresh()
    assert Salts.from_json(salts.to_json()) == salts
    with pytest.raises(InputError, match="malformed"):
        Salts.from_json({"data": ["x"], "model": []})
    with pytest.raises(InputError, match="salts must be integers"):
        Salts.from_json({"data": [str(2**40)], "model": []})
