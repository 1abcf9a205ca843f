"""The aggregation proof of a sharded certificate: the shards' hashed partial sums, summed and compared with the bound."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .. import circuit
from .._internal import ezkl as _ezkl
from .._internal.io import atomic_write_json
from .._internal.measure import Steps
from ..commitments import KZG, ShardSalts, felt_hex, salt_elements
from ..errors import CircuitError, ThresholdExceeded
from ..metric import bound_coefficient
from ..spec import AggregationSpec, CircuitSpec
from ..srs import Srs
from .executor import ShardOutcome

__all__ = ["Aggregation", "aggregate", "aggregation_inputs", "check_aggregation", "check_outputs"]


@dataclass(frozen=True)
class Aggregation:
    """The calibrated aggregation spec, its proof and key, and the fixed-point metric it revealed (if any)."""

    spec: AggregationSpec
    proof: Path
    vk: Path
    outputs: circuit.Outputs

    @property
    def value(self) -> float | None:
        """The fixed-point metric the aggregation revealed, if any."""
        return self.outputs.value


def aggregation_inputs(outputs: list[list[str]], scale: int, n_sums: int | None = None) -> dict[str, Any]:
    """The aggregation circuit's input file: each shard's output field elements, dequantized at its scale.

    With n_sums (kzg/v1), only the first n_sums elements are dequantized: the rest are field-element
    salts, which no float holds, and are passed as the field elements themselves.
    """
    def column(out: list[str]) -> list[float | str]:
        cut = len(out) if n_sums is None else n_sums
        return [_ezkl.felt_to_float(f, scale) for f in out[:cut]] + list(out[cut:])

    return {"input_data": [column(out) for out in outputs]}


def check_aggregation(
    spec: CircuitSpec, files: circuit.CircuitFiles, sums: list[list[float]], salts: ShardSalts, workdir: Path, max_logrows: int,
) -> AggregationSpec:
    """Before any shard is proved: the aggregation circuit calibrates on the shards' float partial sums.

    Found the hard way: 50 MNIST shards (84 min of proving) were lost to an aggregation that could not be
    built at T = 1e6. The float sums are within the circuit's gap of the proved ones, so a statement whose
    aggregation cannot be built shows it here; one within that gap of the limit can still fail after proving,
    with the same named error.
    """
    scale = _ezkl.settings_output_scales(files.settings_json())[0]
    inputs = {"input_data": [s + salt_elements(salt, scale, spec.commitment) for s, salt in zip(sums, salts.shards)]}
    return _aggregation_spec(spec, scale, len(sums), inputs, workdir, max_logrows)


def _aggregation_spec(spec: CircuitSpec, scale: int, n_shards: int, inputs: dict[str, Any], workdir: Path,
                      max_logrows: int) -> AggregationSpec:
    """The aggregation's spec calibrated on inputs and laid out at the shards' logrows; a named error if it cannot be built."""
    bound = bound_coefficient(spec.metric, spec.threshold, spec.n_samples * n_shards, spec.n_directions, spec.epsilon)
    agg_spec = AggregationSpec(n_shards, bound, scale, metric=spec.metric, commitment=spec.commitment, check_labels=spec.check_labels)
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        agg = circuit.calibrate_spec(agg_spec, inputs, workdir, max_logrows=min(max_logrows, spec.logrows or max_logrows))
        agg = circuit.fewer_columns(agg, [inputs], workdir)
    except CircuitError as exc:
        # Measured: 50 rds/v1 shards at T = 1e6 fail here (bound x summed loss exceeds the range of the
        # circuit's comparison) while T = 100 calibrates.
        raise CircuitError(f"the aggregation circuit cannot be built for T = {spec.threshold:g} over {n_shards} shards "
                           f"(a threshold far above the metric makes its comparison overflow; lower T): {exc}") from None
    # One SRS serves both circuits. ezkl can shrink a larger SRS to a smaller circuit, but it does so
    # on every setup, prove and verify (measured: about 35 s each at logrows 17 on 2 cores), so the
    # tiny aggregation circuit is laid out at the shards' logrows instead.
    return agg.with_run_args({**agg.run_args, "logrows": spec.logrows})


def aggregate(
    spec: CircuitSpec, files: circuit.CircuitFiles, outcomes: list[ShardOutcome], srs: Srs, tmp: Path, max_logrows: int,
    say: Callable[[str], None], steps: Steps,
) -> Aggregation:
    """Prove the aggregation over every shard's outcome; ThresholdExceeded if its fixed-point flag is 0."""
    scale = _ezkl.settings_output_scales(files.settings_json())[0]
    n_total = spec.n_samples * len(outcomes)
    kzg = spec.commitment == KZG
    inputs = aggregation_inputs([o.outputs for o in outcomes], scale, circuit.sum_count(spec) if kzg else None)
    with steps.step("aggregate"):
        say("proving the aggregation")
        agg = _aggregation_spec(spec, scale, len(outcomes), inputs, tmp / "agg", max_logrows)
        agg_files = circuit.compile_spec(agg)
        agg_vk, agg_pk = circuit.keys_for(agg_files, srs)
        atomic_write_json(tmp / "agg-input.json", inputs)
        witness = _ezkl.gen_witness(tmp / "agg-input.json", agg_files.compiled, tmp / "agg-witness.json")
        linked = [felt_hex(circuit.read_instances(spec, _ezkl.ProofView.from_json(o.proof)).outputs[0]) for o in outcomes]
        if [felt_hex(h) for h in _ezkl.WitnessView.from_json(witness).input_hashes] != linked:
            raise CircuitError("the aggregation's input hashes differ from the shard outputs: please report this")
        outputs = circuit.read_outputs(spec, circuit.witness_outputs(witness, agg_files.settings_json()), n_total, of=agg)
        check_outputs(spec, outputs)
        proof = tmp / "aggregate.proof.json"
        _ezkl.prove(tmp / "agg-witness.json", agg_files.compiled, agg_pk, proof, srs.path)
        if not _ezkl.verify(proof, agg_files.settings, agg_vk, srs.path):
            raise CircuitError("the fresh aggregation proof does not verify: please report this")
    return Aggregation(agg, proof, agg_vk, outputs)


def check_outputs(spec: CircuitSpec, outputs: circuit.Outputs, *, what: str = "", shown: float | None = None) -> None:
    """A final proof's outputs say the statement holds: labels one-hot (if checked), then flag = 1.

    The prover's own labels are one-hot by construction (zkcert.commitments.data_vector), so labels_ok = 0 here
    is a bug; a flag of 0 after the float check passed is a quantization gap. `shown` replaces the revealed value
    in the message (a spot check reveals none), `what` names the proof.
    """
    if outputs.labels_ok is not None and outputs.labels_ok != 1.0:
        raise CircuitError(f"the circuit found committed labels that are not one-hot{what}: please report this")
    if outputs.flag != 1.0:
        value = shown if shown is not None else outputs.value if outputs.value is not None else float("nan")
        raise ThresholdExceeded(value, spec.threshold, what=f"fixed-point {spec.metric}{what}")
