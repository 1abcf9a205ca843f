"""The proof's public instances, by name: the one place that knows where each value sits.

A certificate or shard circuit has three hashed inputs (data, model, direction signs), whose Poseidon
hashes come first, then its outputs (output_names). The aggregation circuit's inputs are the shards'
hashed outputs, one per shard, then its outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..commitments import felt_hex
from ..errors import CircuitError
from ..spec import AggregationSpec, AnySpec
from .graph import output_names

__all__ = ["HASHED_INPUTS", "instance_names", "Instances", "read_instances"]

HASHED_INPUTS = ("data_commitment", "model_commitment", "direction")


def instance_names(spec: AnySpec) -> list[str]:
    """The names of a proof's public instances, in order."""
    if isinstance(spec, AggregationSpec):
        return [f"shard{i}" for i in range(spec.n_shards)] + output_names(spec)
    return [*HASHED_INPUTS, *output_names(spec)]


@dataclass(frozen=True)
class Instances:
    """A proof's public instances: the hashed inputs as 0x big-endian hex, the outputs as ezkl wrote them."""

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    @property
    def data_commitment(self) -> str:
        """C_D (or the shard's commitment) the proof's data hashes to."""
        return self.inputs[0]

    @property
    def model_commitment(self) -> str:
        """C_theta the proof's model hashes to."""
        return self.inputs[1]

    @property
    def direction(self) -> str:
        """The hash of the direction signs the proof used."""
        return self.inputs[2]


def read_instances(spec: AnySpec, felts: Sequence[str]) -> Instances:
    """Split a proof's (or a witness's) instances by the spec's layout; CircuitError if the count differs."""
    names = instance_names(spec)
    if len(felts) != len(names):
        raise CircuitError(f"expected {len(names)} public instances ({', '.join(names)}), got {len(felts)}")
    n_in = len(names) - len(output_names(spec))
    return Instances(tuple(felt_hex(f) for f in felts[:n_in]), tuple(felts[n_in:]))
