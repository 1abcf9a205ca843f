"""The aggregation's inputs: each shard's private output field elements, dequantized at the shard circuit's scale."""

from __future__ import annotations

import pytest

from zkcert._internal import ezkl as _ezkl
from zkcert.proving.aggregate import aggregation_inputs


def test_aggregation_inputs_round_trip_the_shard_outputs():
    outputs = [_ezkl.to_felts([1.5, 2.25, 3.0], 10), _ezkl.to_felts([-0.5, 0.0, 7.0], 10)]
    assert aggregation_inputs(outputs, 10) == {"input_data": [[1.5, 2.25, 3.0], [-0.5, 0.0, 7.0]]}


def test_aggregation_cannot_be_built_for_a_threshold_far_above_the_metric(tmp_path):
    """Found by the 1,000-sample MNIST run: 50 rds/v1 shards at T = 1e6 cannot be aggregated; T = 100 can."""
    import secrets

    from zkcert import circuit
    from zkcert._internal import ezkl as _ezkl
    from zkcert.errors import CircuitError
    from zkcert.metric import bound_coefficient
    from zkcert.proving.aggregate import aggregation_inputs
    from zkcert.spec import AggregationSpec

    outs = [[_ezkl.to_felts([0.6], 10)[0], _ezkl.to_felts([6.0], 10)[0]]
            + [secrets.randbelow(2**250).to_bytes(32, "little").hex() for _ in range(4)] for _ in range(50)]
    inputs = aggregation_inputs(outs, 10, 2)

    def calibrate(threshold: float, folder: str):
        spec = AggregationSpec(50, bound_coefficient("rds/v1", threshold, 1000, 1, 0.125), 10, metric="rds/v1", commitment="kzg/v1")
        (tmp_path / folder).mkdir()
        return circuit.calibrate_spec(spec, inputs, tmp_path / folder, max_logrows=18)

    assert calibrate(100.0, "ok").calibrated
    with pytest.raises(CircuitError):
        calibrate(1e6, "overflow")


@pytest.mark.parametrize("commitment", ["poseidon/v1", "kzg/v1"])
def test_a_sharded_prove_stops_before_setup_when_its_aggregation_cannot_be_built(
    commitment, proof_mlp, digits_train, tmp_path, monkeypatch,
):
    """The check runs on the float shard sums after calibration: no keys are made, no shard is proved."""
    from certs import TINY
    from zkcert import circuit
    from zkcert.errors import CircuitError
    from zkcert.proving import Execution, prove

    def no_setup(*_args, **_kwargs):
        raise AssertionError("keys were generated before the aggregation was checked")

    monkeypatch.setattr(circuit, "keys_for", no_setup)
    with pytest.raises(CircuitError, match="aggregation circuit cannot be built for T = 1e\\+12 over 2 shards"):
        prove(proof_mlp, digits_train.head(4), threshold=1e12, out=tmp_path / "cert", statement=TINY.override(commitment=commitment),
              execution=Execution(shard_size=2, work_dir=tmp_path / "work", workers=1))
    assert not (tmp_path / "cert").exists()
    assert not list((tmp_path / "work").glob("*proof*"))
