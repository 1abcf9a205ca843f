"""Sharded certificates: one proof per shard of the data, one small aggregation proof for the bound.

Each shard proof computes its partial numerator sum_k sum_{i in shard} [l_i(theta + eps d_k) - 2 l_i(theta)
+ l_i(theta - eps d_k)] for the same theta (the same C_theta) and the same directions (derived from the
root over all shard commitments), and outputs only Poseidon(partial, salt_s). The aggregation proof
takes every (partial, salt) privately, hashes each in-circuit (so its public instances must equal the
shard outputs) and emits flag = [sum of partials <= T N K eps^2]. The verifier learns the flag (and the
total, if revealed), never a shard's partial.

Work in progress lives in a private work folder (salts, finished shard proofs): a rerun with the same
folder resumes without redoing finished shards.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from torch import nn

from . import _ezkl, circuit
from ._io import atomic_write_json, read_json
from ._measure import Steps
from .cache import cache_dir
from .certificate import (
    AGGREGATE_PROOF, AGGREGATE_VK, SHARD_VK, SRS_FILE, Manifest, shard_proof_name, software_versions, write_certificate,
)
from .commitments import (
    SALT_BITS, SALT_LEN, Salts, commit_vector, data_vector, felt_hex, model_vector, parse_salts, shard_root,
)
from .data import Dataset
from .direction import DEFAULT_FAMILY, committed_directions
from .errors import CircuitError, InputError, ThresholdExceeded
from .executor import ShardJob, ShardOutcome, run_jobs
from .metric import DEFAULT_METRIC, bound_coefficient, flat_params
from .models import check_compatible
from .prover import ProveResult, check_output_folder, float_metric, make_spec, relative_gap
from .srs import resolve_srs
from .sampling import challenge, check_sample_size
from .statement import DEFAULT_DIRECTIONS, DEFAULT_EPSILON, DEFAULT_INPUT_SCALE, AggregationSpec, CircuitSpec, SampledStatement, ShardedStatement

__all__ = ["ShardSalts", "ShardPlan", "plan_shards", "prove_sharded", "aggregation_inputs", "shard_float_metrics"]

Say = Callable[[str], None]
Tick = Callable[[int, int], None]


@dataclass(frozen=True)
class ShardSalts:
    """The owner's private salts for a sharded dataset: one for the model, one per shard."""

    model: tuple[int, ...]
    shards: tuple[tuple[int, ...], ...]

    @classmethod
    def fresh(cls, n_shards: int) -> "ShardSalts":
        """New random salts."""
        return cls(Salts.fresh().model, tuple(Salts.fresh().data for _ in range(n_shards)))

    def to_json(self) -> dict[str, Any]:
        """JSON form (decimal strings)."""
        return {"model": [str(v) for v in self.model], "shards": [[str(v) for v in s] for s in self.shards]}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "ShardSalts":
        """Parse and range-check."""
        try:
            model, *shards = parse_salts([obj["model"], *obj["shards"]])
        except (KeyError, TypeError) as exc:
            raise InputError(f"shard salts are malformed: {exc}") from None
        if any(len(salt) != SALT_LEN for salt in (model, *shards)):
            raise InputError(f"each salt must be {SALT_LEN} integers in (0, 2**{SALT_BITS})")
        return cls(model, tuple(shards))


@dataclass(frozen=True)
class ShardPlan:
    """Everything the owner derives before proving a sharded certificate."""

    spec: CircuitSpec
    salts: ShardSalts
    nonce: str
    shard_commitments: tuple[str, ...]
    data_commitment: str
    model_commitment: str
    r: np.ndarray
    data_vecs: tuple[np.ndarray, ...]
    model_vec: np.ndarray
    float_metric: float

    @property
    def n_shards(self) -> int:
        """Number of shards."""
        return len(self.shard_commitments)

    def shard_input(self, index: int) -> dict[str, Any]:
        """ezkl's input file contents for one shard."""
        return circuit.input_json(self.data_vecs[index], self.model_vec, self.r.astype(np.float64).ravel())


def plan_shards(
    model: nn.Module, data: Dataset, *, shard_size: int, threshold: float, epsilon: float = DEFAULT_EPSILON,
    n_directions: int = DEFAULT_DIRECTIONS, nonce: str = "", input_scale: int = DEFAULT_INPUT_SCALE, salts: ShardSalts | None = None,
    metric: str = DEFAULT_METRIC, direction: str = DEFAULT_FAMILY,
) -> ShardPlan:
    """Split data into equal shards, commit to each and to the model, derive the direction, measure the float metric."""
    model = check_compatible(model, data.x, data.num_classes)
    n_shards = shard_count(len(data), shard_size)
    salts = salts or ShardSalts.fresh(n_shards)
    if len(salts.shards) != n_shards:
        raise InputError(f"the salts are for {len(salts.shards)} shards, the data makes {n_shards}")
    spec = make_spec(model, data.head(shard_size), threshold=threshold, epsilon=epsilon, n_directions=n_directions,
                     input_scale=input_scale, reveal_value=False, metric=metric, direction=direction)
    spec = CircuitSpec.from_json({**spec.to_json(), "shard": True})
    theta = flat_params(model)
    model_vec = model_vector(theta, salts.model, input_scale)
    data_vecs = tuple(data_vector(shard_data(data, s, shard_size), salts.shards[s], input_scale) for s in range(n_shards))
    shard_commitments = tuple(commit_vector(v, input_scale) for v in data_vecs)
    root, c_model = shard_root(shard_commitments), commit_vector(model_vec, input_scale)
    r = committed_directions(spec, c_model, root, nonce)
    return ShardPlan(spec, salts, nonce, shard_commitments, root, c_model, r, data_vecs, model_vec, float_metric(spec, model, data, r))


def shard_data(data: Dataset, index: int, shard_size: int) -> Dataset:
    """The samples of shard `index`: shards are consecutive runs of shard_size samples."""
    return data.subset(np.arange(index * shard_size, (index + 1) * shard_size))


def shard_count(n_samples: int, shard_size: int) -> int:
    """Number of equal shards, or a clear error when shard_size does not divide n_samples."""
    if shard_size < 1 or n_samples % shard_size:
        raise InputError(f"{n_samples} samples do not split into shards of {shard_size}; pick a shard size that divides N")
    return n_samples // shard_size


def aggregation_inputs(outputs: list[list[str]], scale: int) -> dict[str, Any]:
    """The aggregation circuit's input file: each shard's output field elements, dequantized at its scale."""
    return {"input_data": [[_ezkl.felt_to_float(f, scale) for f in out] for out in outputs]}


class _WorkFolder:
    """The private work folder of a sharded run: salts and finished shard proofs, for resuming."""

    def __init__(self, path: Path):
        # Created only when the plan is saved: a run that fails its input checks leaves no folder behind.
        self.path = path

    def _create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.path.chmod(0o700)  # it holds the salts, which must stay private

    def salts(self) -> ShardSalts | None:
        """The salts of an earlier run in this folder, if any."""
        f = self.path / "salts.json"
        return ShardSalts.from_json(read_json(f, what="salts")) if f.is_file() else None

    def save_plan(self, plan: ShardPlan) -> None:
        """Record salts and commitments; refuse a folder that belongs to another run."""
        self._create()
        atomic_write_json(self.path / "salts.json", plan.salts.to_json(), private=True)
        record = {"data_commitment": plan.data_commitment, "model_commitment": plan.model_commitment, "nonce": plan.nonce}
        f = self.path / "plan.json"
        if f.is_file() and read_json(f, what="plan") != record:
            raise InputError(f"{self.path} holds the work of another statement (different data, model or nonce); use a fresh --work folder")
        atomic_write_json(f, record)

    def finished(self, index: int, spec_digest: str) -> ShardOutcome | None:
        """A shard proved by an earlier run for the same circuit, if any."""
        f = self.path / f"shard-{index:04d}.json"
        if not f.is_file():
            return None
        obj = read_json(f, what="shard record")
        if obj.get("spec") != spec_digest:
            return None
        return ShardOutcome(index, obj["proof"], obj["outputs"], obj["seconds"], obj["peak_rss_mb"], obj["node"])

    def record(self, outcome: ShardOutcome, spec_digest: str) -> Path:
        """Write a finished shard atomically; returns its proof file."""
        atomic_write_json(self.path / f"shard-{outcome.index:04d}.json", {"spec": spec_digest, **dataclasses.asdict(outcome)})
        proof = self.path / shard_proof_name(outcome.index)
        atomic_write_json(proof, outcome.proof)
        return proof


def _calibrated_shard_spec(plan: ShardPlan, spec: CircuitSpec, indices: tuple[int, ...], work: Path, max_logrows: int) -> CircuitSpec:
    # Calibrated on every shard to be proved: one circuit (one key) must hold all their lookup ranges.
    return circuit.calibrate_spec(spec, [plan.shard_input(i) for i in indices], work, max_logrows=max_logrows)


def _check_shard(plan: ShardPlan, outcome: ShardOutcome) -> None:
    inst = _ezkl.ProofView.from_json(outcome.proof).instances
    if felt_hex(inst[0]) != plan.shard_commitments[outcome.index] or felt_hex(inst[1]) != plan.model_commitment:
        raise CircuitError(f"shard {outcome.index}'s proof commits to other data or model than planned: please report this")


def shard_float_metrics(model: nn.Module, data: Dataset, plan: ShardPlan, indices: tuple[int, ...]) -> dict[int, float]:
    """The float metric of each listed shard, on the plan's direction."""
    return {i: float_metric(plan.spec, model, shard_data(data, i, plan.spec.n_samples), plan.r) for i in indices}


def prove_sharded(
    model: nn.Module, data: Dataset, *, threshold: float, shard_size: int, out: str | Path, epsilon: float = DEFAULT_EPSILON,
    n_directions: int = DEFAULT_DIRECTIONS, nonce: str = "", input_scale: int = DEFAULT_INPUT_SCALE, salts: ShardSalts | None = None,
    srs_path: str | Path | None = None, include_srs: bool = False, workers: int | None = None, ray_address: str | None = None,
    work_dir: str | Path | None = None, max_logrows: int = 20, sample: int | None = None,
    say: Say | None = None, tick: Tick | None = None, metric: str = DEFAULT_METRIC, direction: str = DEFAULT_FAMILY,
) -> ProveResult:
    """Prove the sharded statement and write its certificate folder; resumes from work_dir if it holds an earlier run.

    With `sample`, only that many shards, picked by zkcert.sampling.challenge, are proved, each against
    T on its own (a spot-check certificate; no aggregation). salts default to those of the earlier run
    in work_dir, else fresh ones. Call it from under `if __name__ == "__main__":` in a script: the local
    process pool starts workers with spawn.
    """
    say, tick = say or (lambda _m: None), tick or (lambda _d, _t: None)
    n_shards = shard_count(len(data), shard_size)  # fail before creating the work folder
    if sample is not None:
        check_sample_size(n_shards, sample)
    steps = Steps()
    check_output_folder(out)
    work = _WorkFolder(Path(work_dir) if work_dir else Path(f"{out}.work"))
    with steps.step("commit"):
        say("committing to the shards and the model")
        plan = plan_shards(model, data, shard_size=shard_size, threshold=threshold, epsilon=epsilon,
                           n_directions=n_directions, nonce=nonce, input_scale=input_scale, salts=salts or work.salts(),
                           metric=metric, direction=direction)
        work.save_plan(plan)
    if sample is None:
        chosen, spec, checked = tuple(range(plan.n_shards)), plan.spec, {}
        if not plan.float_metric <= threshold:  # a NaN fails too
            raise ThresholdExceeded(plan.float_metric, threshold)
    else:
        chosen = challenge(plan.data_commitment, plan.model_commitment, nonce, plan.n_shards, sample)
        spec = dataclasses.replace(plan.spec, shard=False)  # each chosen shard is an ordinary certificate circuit
        checked = shard_float_metrics(model, data, plan, chosen)
        if not checked[worst := max(checked, key=checked.__getitem__)] <= threshold:
            raise ThresholdExceeded(checked[worst], threshold, what=f"{metric} of challenged shard {worst}")
    with tempfile.TemporaryDirectory(prefix="zkcert-shards-") as tmp:
        tmpdir = Path(tmp)
        with steps.step("calibrate"):
            say("calibrating the shard circuit")
            spec = _calibrated_shard_spec(plan, spec, chosen, tmpdir, max_logrows)
        with steps.step("setup"):
            say(f"compiling the shard circuit and generating keys (logrows {spec.logrows})")
            files = circuit.compile_spec(spec)
            srs = resolve_srs(spec.logrows or 0, srs_path)
            vk, _pk = circuit.keys_for(files, srs)
        outcomes = _prove_shards(plan, spec, chosen, srs.path, work, workers, ray_address, say, tick, steps)
        with steps.step("verify"):
            for o in outcomes:
                if not _ezkl.verify(work.path / shard_proof_name(o.index), files.settings, vk, srs.path):
                    raise CircuitError(f"shard {o.index}'s proof does not verify: please report this")
        payload: dict[str, Path] = {shard_proof_name(o.index): work.path / shard_proof_name(o.index) for o in outcomes}
        payload[SHARD_VK] = vk
        if sample is None:
            agg_spec, agg_proof, agg_vk, circuit_metric = _aggregate(plan, spec, files, outcomes, srs, tmpdir, max_logrows, say, steps)
            payload.update({AGGREGATE_PROOF: agg_proof, AGGREGATE_VK: agg_vk})
            statement: ShardedStatement | SampledStatement = ShardedStatement(
                spec, agg_spec, plan.shard_commitments, plan.data_commitment, plan.model_commitment, nonce)
        else:
            _check_flags(spec, files, outcomes, checked)
            statement = SampledStatement(spec, plan.shard_commitments, plan.data_commitment, plan.model_commitment, nonce, sample)
            circuit_metric = None
        reported = {
            "float_metric": plan.float_metric,
            "circuit_metric": circuit_metric,
            "relative_gap": relative_gap(circuit_metric, plan.float_metric),
            "steps": steps.to_json(),
            "shards": [{"index": o.index, "seconds": round(o.seconds, 3), "peak_rss_mb": round(o.peak_rss_mb, 1), "node": o.node} for o in outcomes],
        }
        if sample is not None:
            reported["challenged_float_max"] = max(checked.values())
        if include_srs:
            payload[SRS_FILE] = srs.path
        cert = write_certificate(
            out, payload,
            lambda hashes: Manifest(statement, {**srs.to_json(), "logrows": spec.logrows}, hashes, reported, software_versions()),
        )
    return ProveResult(cert, Manifest.load(cert), steps.to_json())


def _check_flags(spec: CircuitSpec, files: circuit.CircuitFiles, outcomes: list[ShardOutcome], floats: dict[int, float]) -> None:
    """Every challenged shard's fixed-point flag is 1 (its float value passed, so a 0 is a quantization gap)."""
    scale = _ezkl.settings_output_scales(files.settings_json())[0]
    for o in outcomes:
        if _ezkl.felt_to_float(o.outputs[0], scale) != 1.0:
            raise ThresholdExceeded(floats[o.index], spec.threshold,
                                    what=f"fixed-point {spec.metric} of challenged shard {o.index} (float value shown)")


def _prove_shards(
    plan: ShardPlan, spec: CircuitSpec, indices: tuple[int, ...], srs_path: Path, work: _WorkFolder, workers: int | None,
    ray_address: str | None, say: Say, tick: Tick, steps: Steps,
) -> list[ShardOutcome]:
    digest, total = spec.digest(), len(indices)
    done = {i: o for i in indices if (o := work.finished(i, digest)) is not None}
    if done:
        say(f"resuming: {len(done)} of {total} shards already proved")
    tick(len(done), total)
    jobs = [
        ShardJob(i, spec.to_json(), plan.shard_input(i), str(srs_path), str(cache_dir()))
        for i in indices if i not in done
    ]
    with steps.step("prove-shards"):
        say(f"proving {len(jobs)} shards" + (f" on Ray at {ray_address}" if ray_address else ""))
        for outcome in run_jobs(jobs, workers=workers, ray_address=ray_address):
            _check_shard(plan, outcome)
            work.record(outcome, digest)
            done[outcome.index] = outcome
            tick(len(done), total)
    outcomes = [done[i] for i in indices]
    for o in outcomes:
        _check_shard(plan, o)
    return outcomes


def _aggregate(
    plan: ShardPlan, spec: CircuitSpec, files: circuit.CircuitFiles, outcomes: list[ShardOutcome], srs: Any,
    tmp: Path, max_logrows: int, say: Say, steps: Steps,
) -> tuple[AggregationSpec, Path, Path, float | None]:
    scale = _ezkl.settings_output_scales(files.settings_json())[0]
    n_total = spec.n_samples * plan.n_shards
    bound = bound_coefficient(spec.metric, spec.threshold, n_total, spec.n_directions, spec.epsilon)
    inputs = aggregation_inputs([o.outputs for o in outcomes], scale)
    with steps.step("aggregate"):
        say("proving the aggregation")
        (tmp / "agg").mkdir()
        agg = circuit.calibrate_spec(AggregationSpec(plan.n_shards, bound, scale, metric=spec.metric), inputs, tmp / "agg",
                                     max_logrows=min(max_logrows, spec.logrows or max_logrows))
        # One SRS serves both circuits. ezkl can shrink a larger SRS to a smaller circuit, but it does so
        # on every setup, prove and verify (measured: about 35 s each at logrows 17 on 2 cores), so the
        # tiny aggregation circuit is laid out at the shards' logrows instead.
        agg = agg.with_run_args({**agg.run_args, "logrows": spec.logrows})
        agg_files = circuit.compile_spec(agg)
        agg_vk, agg_pk = circuit.keys_for(agg_files, srs)
        atomic_write_json(tmp / "agg-input.json", inputs)
        witness = _ezkl.gen_witness(tmp / "agg-input.json", agg_files.compiled, tmp / "agg-witness.json")
        linked = [felt_hex(h) for h in _ezkl.WitnessView.from_json(witness).input_hashes]
        if linked != [felt_hex(_ezkl.ProofView.from_json(o.proof).instances[3]) for o in outcomes]:
            raise CircuitError("the aggregation's input hashes differ from the shard outputs: please report this")
        flag, value = circuit.flag_and_value(spec, circuit.witness_outputs(witness, agg_files.settings_json()), n_total)
        if flag != 1.0:
            raise ThresholdExceeded(value if value is not None else float("nan"), spec.threshold, what=f"fixed-point {spec.metric}")
        proof = tmp / "aggregate.proof.json"
        _ezkl.prove(tmp / "agg-witness.json", agg_files.compiled, agg_pk, proof, srs.path)
        if not _ezkl.verify(proof, agg_files.settings, agg_vk, srs.path):
            raise CircuitError("the fresh aggregation proof does not verify: please report this")
    return agg, proof, agg_vk, value

