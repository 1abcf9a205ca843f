"""The owner's plan: commitments to the data (whole or in shards) and the model, the direction, the float metric."""

from __future__ import annotations

import numpy as np
import pytest

from zkcert import owner
from zkcert.commitments import ShardSalts, shard_root
from zkcert.errors import InputError


def test_plan_rejects_uneven_shards(proof_mlp, digits_train):
    with pytest.raises(InputError, match="do not split"):
        owner.plan(proof_mlp, digits_train.head(5), shard_size=2, threshold=1.0)


@pytest.mark.parametrize("epsilon,scale,graph", [(0.125, 10, 8), (2.0**-6, 10, 3), (2.0**-6, 12, 8), (0.375, 10, 3)])
def test_new_row_sign_specs_get_the_newest_graph_their_epsilon_allows(epsilon, scale, graph, proof_mlp, digits_train):
    from zkcert.direction import RADEMACHER_ABS, ROW_SIGN

    spec = owner.make_spec(proof_mlp, digits_train.head(2), threshold=1.0, epsilon=epsilon, input_scale=scale, direction=ROW_SIGN)
    assert spec.graph == graph
    assert owner.make_spec(proof_mlp, digits_train.head(2), threshold=1.0, epsilon=epsilon, input_scale=scale,
                           direction=RADEMACHER_ABS).graph == 1


def test_plan_is_deterministic_given_salts(proof_mlp, digits_train):
    salts = ShardSalts.fresh(3)
    a = owner.plan(proof_mlp, digits_train.head(6), shard_size=2, threshold=1.0, salts=salts, nonce="x")
    b = owner.plan(proof_mlp, digits_train.head(6), shard_size=2, threshold=1.0, salts=ShardSalts.from_json(salts.to_json()), nonce="x")
    assert a.committed.shard_commitments == b.committed.shard_commitments and a.committed.data_commitment == b.committed.data_commitment
    assert np.array_equal(a.r, b.r)
    assert len(set(a.committed.shard_commitments)) == 3


def test_one_plan_for_one_or_many_shards(proof_mlp, digits_train):
    """Whole data: C_D is the one commitment; shards: C_D is their root. The float metric is over all data either way."""
    data = digits_train.head(4)
    whole = owner.plan(proof_mlp, data, nonce="x")
    shards = owner.plan(proof_mlp, data, shard_size=2, nonce="x", salts=ShardSalts(whole.committed.salts.model, ((1,) * 5, (2,) * 5)))
    assert whole.committed.n_shards == 1 and whole.committed.data_commitment == whole.committed.shard_commitments[0]
    assert shards.committed.data_commitment == shard_root(shards.committed.shard_commitments)
    assert shards.committed.model_commitment == whole.committed.model_commitment  # same model salt
    assert whole.spec.reveal_value and not whole.spec.shard and shards.spec.shard and not shards.spec.reveal_value
    spot = owner.plan(proof_mlp, data, shard_size=2, sample=1, nonce="x")
    assert not spot.spec.shard and not spot.spec.reveal_value and spot.spec.n_samples == 2


def test_saved_salts_recommit_to_the_same_values(proof_mlp, digits_train):
    data = digits_train.head(4)
    for size in (None, 2):
        first = owner.commit(proof_mlp, data, shard_size=size)
        again = owner.commit(proof_mlp, data, shard_size=size, salts=first.saved_salts())
        assert again.commitments == first.commitments


def test_kzg_commitments_need_the_circuits_key_and_matching_salts(tiny_mlp, tiny_data):
    from zkcert.commitments import KZG, Salts
    from zkcert.errors import InputError
    from zkcert.owner import commit

    with pytest.raises(InputError, match="exist only once the circuit's key does"):
        commit(tiny_mlp, tiny_data, scheme=KZG)
    with pytest.raises(InputError, match="the salts are for poseidon/v1 commitments, the circuit commits with kzg/v1"):
        commit(tiny_mlp, tiny_data, scheme=KZG, salts=Salts.fresh(), committer=lambda col: "0x00")
    c = commit(tiny_mlp, tiny_data, scheme=KZG, committer=lambda col: f"0x{len(col):0128x}")
    assert c.salts.scheme == KZG and c.model_commitment == f"0x{len(c.model_vec):0128x}"
