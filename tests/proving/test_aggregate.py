"""The aggregation's inputs: each shard's private output field elements, dequantized at the shard circuit's scale."""

from __future__ import annotations

from zkcert._internal import ezkl as _ezkl
from zkcert.proving.aggregate import aggregation_inputs


def test_aggregation_inputs_round_trip_the_shard_outputs():
    outputs = [_ezkl.to_felts([1.5, 2.25, 3.0], 10), _ezkl.to_felts([-0.5, 0.0, 7.0], 10)]
    assert aggregation_inputs(outputs, 10) == {"input_data": [[1.5, 2.25, 3.0], [-0.5, 0.0, 7.0]]}
