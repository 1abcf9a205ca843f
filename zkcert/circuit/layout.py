"""The proof's public values, by name: the one place that knows where each value sits.

A certificate or shard circuit has three committed inputs (data, model, direction signs). Under
poseidon/v1 their hashes are the first public instances, then come its outputs (output_names). Under
kzg/v1 the instances are the outputs alone, and the inputs' KZG points are the first three points of
the proof's transcript. The aggregation circuit's inputs are the shards' hashed outputs, one per shard,
then its outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from .._internal.ezkl import ProofView
from ..commitments import KZG, felt_hex
from ..errors import CircuitError, InputError
from ..spec import AggregationSpec, AnySpec
from .graph import output_names

__all__ = ["HASHED_INPUTS", "instance_names", "Instances", "read_instances"]

HASHED_INPUTS = ("data_commitment", "model_commitment", "direction")


def instance_names(spec: AnySpec) -> list[str]:
    """The names of a proof's public instances, in order."""
    if isinstance(spec, AggregationSpec):
        return [f"shard{i}" for i in range(spec.n_shards)] + output_names(spec)
    if spec.commitment == KZG:
        return output_names(spec)
    return [*HASHED_INPUTS, *output_names(spec)]


@dataclass(frozen=True)
class Instances:
    """A proof's public values: the committed inputs as 0x big-endian hex (hashes or points), the outputs as ezkl wrote them."""

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


def read_instances(spec: AnySpec, proof: ProofView) -> Instances:
    """A proof's committed inputs and outputs by the spec's layout; CircuitError if the count differs."""
    felts = proof.instances
    names = instance_names(spec)
    if len(felts) != len(names):
        raise CircuitError(f"expected {len(names)} public instances ({', '.join(names)}), got {len(felts)}")
    n_in = len(names) - len(output_names(spec))
    if isinstance(spec, AggregationSpec) or spec.commitment != KZG:
        return Instances(tuple(felt_hex(f) for f in felts[:n_in]), tuple(felts[n_in:]))
    try:
        points = proof.leading_points(len(HASHED_INPUTS))
    except InputError as exc:
        raise CircuitError(str(exc)) from None
    return Instances(points, tuple(felts))
