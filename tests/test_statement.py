"""The statement's three forms: text recomputed, JSON round trips, and each form's rules checked on construction."""

from __future__ import annotations

import dataclasses

import pytest

from zkcert.commitments import shard_root
from zkcert.errors import CertificateError
from zkcert.spec import AggregationSpec
from zkcert.statement import SampledStatement, ShardedStatement, statement_from_json
from zkcert.spec import CircuitSpec
from zkcert.statement import Statement

SPEC = CircuitSpec(
    layers=({"type": "Flatten"}, {"type": "Linear", "in_features": 4, "out_features": 2}), input_shape=(4,),
    num_classes=2, num_params=10, n_samples=3, n_directions=1, epsilon=0.125, threshold=5.0, input_scale=8,
)


def test_statement_text_is_recomputed_not_trusted():
    st = Statement(SPEC, "0x" + "1" * 64, "0x" + "2" * 64, "n")
    obj = st.to_json()
    obj["text"] = "directional sharpness <= 1e9"
    assert Statement.from_json(obj).describe() == st.describe()


SHARDS = ("0x" + "a" * 64, "0x" + "b" * 64)
SHARD_SPEC = dataclasses.replace(SPEC, shard=True, reveal_value=False)
AGG = AggregationSpec(2, SHARD_SPEC.bound * 2, 16, metric=SHARD_SPEC.metric)


def _sharded(**change) -> ShardedStatement:
    fields = {"spec": SHARD_SPEC, "aggregation": AGG, "shard_commitments": SHARDS, "data_commitment": shard_root(SHARDS),
              "model_commitment": "0x" + "2" * 64, "nonce": "n", **change}
    return ShardedStatement(**fields)


def test_every_form_round_trips_through_json():
    spot = SampledStatement(SPEC, SHARDS, shard_root(SHARDS), "0x" + "2" * 64, "n", 1)
    for st in (Statement(SPEC, "0x" + "1" * 64, "0x" + "2" * 64, "n"), _sharded(), spot):
        assert statement_from_json(st.to_json()) == st


@pytest.mark.parametrize("change, message", [
    ({"data_commitment": "0x" + "c" * 64}, "not the root"),
    ({"shard_commitments": SHARDS[:1], "data_commitment": shard_root(SHARDS[:1])}, "aggregated shards"),
    ({"aggregation": dataclasses.replace(AGG, bound=AGG.bound / 2)}, "bound"),
    ({"aggregation": dataclasses.replace(AGG, metric="rds/v1")}, "metric"),
    ({"aggregation": dataclasses.replace(AGG, commitment="kzg/v1")}, "reads kzg/v1 partials"),
    ({"spec": SPEC}, "shard circuit"),
])
def test_sharded_rules_are_checked_on_construction(change, message):
    with pytest.raises(CertificateError, match=message):
        _sharded(**change)


@pytest.mark.parametrize("spec, n_sampled, root, message", [
    (SHARD_SPEC, 1, shard_root(SHARDS), "not a shard circuit"),
    (SPEC, 3, shard_root(SHARDS), "cannot challenge"),
    (SPEC, 1, "0x" + "c" * 64, "not the root"),
])
def test_spot_check_rules_are_checked_on_construction(spec, n_sampled, root, message):
    with pytest.raises(CertificateError, match=message):
        SampledStatement(spec, SHARDS, root, "0x" + "2" * 64, "n", n_sampled)


def test_commitment_length_follows_the_scheme():
    kzg = dataclasses.replace(SPEC, commitment="kzg/v1")
    point = "0x" + "ab" * 64
    assert Statement(kzg, point, point, "n").model_commitment == point
    with pytest.raises(CertificateError, match="64-byte"):
        Statement(kzg, "0x" + "1" * 64, point, "n")
    with pytest.raises(CertificateError, match="32-byte"):
        Statement(SPEC, point, "0x" + "2" * 64, "n")


def test_single_statement_refuses_a_shard_circuit():
    with pytest.raises(CertificateError, match="shard circuit"):
        Statement(SHARD_SPEC, "0x" + "1" * 64, "0x" + "2" * 64, "n")


def test_unknown_schema_is_refused():
    with pytest.raises(CertificateError, match="schema"):
        statement_from_json({**_sharded().to_json(), "schema": "zkcert-sharded-statement/v9"})
