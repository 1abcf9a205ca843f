"""The instance layout: names and positions of a proof's public instances, for each kind of circuit."""

from __future__ import annotations

import dataclasses

import pytest

from zkcert import circuit
from zkcert._internal.ezkl import ProofView
from zkcert.commitments import KZG
from zkcert.errors import CircuitError
from zkcert.spec import AggregationSpec, CircuitSpec

SPEC = CircuitSpec(
    layers=({"type": "Flatten"}, {"type": "Linear", "in_features": 4, "out_features": 2}), input_shape=(4,),
    num_classes=2, num_params=10, n_samples=3, n_directions=1, epsilon=0.125, threshold=5.0, input_scale=8, metric="rds/v1",
)
FELT = "01" + "00" * 31  # ezkl's little-endian hex of the field element 1


@pytest.mark.parametrize("spec, names", [
    (SPEC, ["data_commitment", "model_commitment", "direction", "flag", "numerator", "loss_sum"]),
    (dataclasses.replace(SPEC, reveal_value=False), ["data_commitment", "model_commitment", "direction", "flag"]),
    (dataclasses.replace(SPEC, shard=True, reveal_value=False), ["data_commitment", "model_commitment", "direction", "partial"]),
    (AggregationSpec(2, 1.0, 16, metric="rds/v1"), ["shard0", "shard1", "flag", "numerator", "loss_sum"]),
    (dataclasses.replace(SPEC, commitment=KZG), ["flag", "numerator", "loss_sum"]),
    (dataclasses.replace(SPEC, commitment=KZG, shard=True, reveal_value=False), ["partial"]),
])
def test_instance_names(spec, names):
    assert circuit.instance_names(spec) == names


def test_read_instances_splits_inputs_from_outputs():
    felts = [FELT.replace("01", f"0{i}", 1) for i in range(1, 7)]
    inst = circuit.read_instances(SPEC, ProofView(tuple(felts)))
    assert inst.data_commitment == "0x" + "00" * 31 + "01" and inst.model_commitment.endswith("02") and inst.direction.endswith("03")
    assert inst.outputs == tuple(felts[3:])


@pytest.mark.parametrize("count", [5, 7])
def test_read_instances_refuses_another_count(count):
    with pytest.raises(CircuitError, match="expected 6 public instances"):
        circuit.read_instances(SPEC, ProofView((FELT,) * count))


def test_kzg_inputs_are_the_transcripts_first_points():
    transcript = bytes(range(64)) + bytes(range(64, 128)) + bytes(range(128, 192)) + b"rest of the proof"
    inst = circuit.read_instances(dataclasses.replace(SPEC, commitment=KZG), ProofView((FELT,) * 3, transcript))
    assert inst.data_commitment == "0x" + bytes(range(64)).hex()
    assert inst.model_commitment == "0x" + bytes(range(64, 128)).hex() and inst.direction == "0x" + bytes(range(128, 192)).hex()
    assert inst.outputs == (FELT,) * 3
    with pytest.raises(CircuitError, match="fewer than 3 committed points"):
        circuit.read_instances(dataclasses.replace(SPEC, commitment=KZG), ProofView((FELT,) * 3, transcript[:100]))
