"""The one proving pipeline: a single proof is one shard, a spot check is a choice of which shards to prove.

Steps (each timed in the result's `steps`): commit (owner.plan), the float check against T,
calibrate (a spec with a fixed range, every new one, from the circuit's size alone; an older spec on every
shard to be proved: one circuit must hold them all), setup (compile and keys,
cached; a sharded certificate first checks that its aggregation circuit calibrates on the float
shard sums), prove (the chosen shards, resumable through the work folder), verify (every fresh proof),
then per form: the flag of each proof (single proof, spot check) or the aggregation proof (shards).
"""

from __future__ import annotations

import dataclasses
import functools
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from torch import nn

from .. import circuit
from .._internal import ezkl as _ezkl
from .._internal.cache import cache_root
from .._internal.measure import Steps
from ..cache import cache_limit_bytes
from ..certificate import (
    AGGREGATE_PROOF, AGGREGATE_VK, PROOF, SHARD_VK, SRS_FILE, VK, Manifest, shard_proof_name, software_versions,
    write_certificate,
)
from ..challenge import challenge, check_sample_size
from ..claims import ClaimJob, ProverContext
from ..commitments import KZG, Salts, ShardSalts, column_committer
from ..data import Dataset
from ..errors import CircuitError, InputError, ThresholdExceeded
from ..preset import DEFAULT_PRESET, Preset, choices_of, preset
from ..published import Published
from ..owner import Plan, check_certifiable, plan, provisional_committer, shard_count, shard_metrics, shard_sums
from ..spec import CircuitSpec
from ..srs import Srs, resolve_srs
from ..statement import AnyStatement, SampledStatement, ShardedStatement, Statement
from .aggregate import aggregate, check_aggregation, check_outputs
from .execution import ALL, AUTO, Execution
from .executor import ShardJob, ShardOutcome, run_jobs
from .sizing import choose_shard_size
from .work import WorkFolder

__all__ = ["ProveResult", "prove", "commit_kzg", "check_output_folder", "relative_gap"]

Say = Callable[[str], None]
Tick = Callable[[int, int], None]


@dataclass(frozen=True)
class ProveResult:
    """Where the certificate went and what was measured on the way."""

    certificate: Path
    manifest: Manifest
    steps: list[dict[str, object]]
    # The private salts behind the commitments (as `zkcert commit` saves them): keep them to re-prove or
    # to let an auditor re-commit. Under kzg/v1 prove drew them itself, so this is their only copy.
    salts: Salts | ShardSalts | None = None


def check_output_folder(out: str | Path) -> None:
    """Fail before minutes of proving if the certificate folder cannot be created; creates nothing."""
    existing = next(p for p in (Path(out).absolute(), *Path(out).absolute().parents) if p.exists())
    if not existing.is_dir():
        raise InputError(f"cannot create the folder {out}: {existing} is a file, not a folder")


def relative_gap(circuit_value: float | None, float_value: float) -> float | None:
    """|circuit - float| / |float|: how far the fixed-point value is from the float one."""
    return None if circuit_value is None else abs(circuit_value - float_value) / max(abs(float_value), 1e-12)


def prove(
    model: nn.Module, data: Dataset, *, threshold: float, out: str | Path, statement: Preset | str = DEFAULT_PRESET,
    nonce: str = "", salts: Salts | ShardSalts | None = None, srs_path: str | Path | None = None,
    spec: CircuitSpec | None = None, published: Published | None = None, include_srs: bool = False,
    execution: Execution | None = None, say: Say | None = None, tick: Tick | None = None, claims: Sequence[ClaimJob] = (),
) -> ProveResult:
    """Prove that the model's metric on data is at most threshold and write the certificate folder `out`.

    statement: what is claimed, a zkcert.preset name or Preset (default: zkcert's default statement).
    execution: how it is run (zkcert.proving.Execution): by default one proof when all samples fit its memory
    budget, else shards of the most samples that fit, each proved on its own, and an aggregation proof that
    applies the bound to their sum. published: what `zkcert.commit` made before the nonce was issued (salts,
    the calibrated circuit spec, the published commitments); prove reuses them and refuses data, a model or
    salts that commit to anything else. Without it, prove commits itself, and a nonce the owner knew before
    committing gives no protection against grinding (shared/PROTOCOL.md). spec: a pinned, calibrated circuit
    spec (the demo's). Raises ThresholdExceeded (and writes nothing) when the float or the fixed-point metric
    is above T. Shards run in a process pool (or on Ray): call it from under `if __name__ == "__main__":` in a script.
    claims: further claims about the same committed model (zkcert.claims.ClaimJob, e.g. zkcert.heldout's), proved
    after the sharpness proofs and written into the same certificate.
    """
    say, tick = say or (lambda _m: None), tick or (lambda _d, _t: None)
    steps = Steps()
    ex = execution or Execution()
    if published is not None:
        spec, salts = published.spec or spec, published.salts
        if published.spec is None and ex.shard_size is None:  # Poseidon commitments fix the shards: one per commitment
            ex = dataclasses.replace(ex, shard_size=len(data) // len(published.shard_commitments) if published.sharded else ALL)
    st = preset(statement, **choices_of(spec))
    check_certifiable(model, data, st.input_scale)  # one line before sizing, calibration or a work folder
    cache_limit_bytes()  # a bad ZKCERT_CACHE_MAX_GB stops here, not after the first setup
    shard_size, inner_cols = _sizing(model, data, st, ex, threshold, spec, steps, say)
    sample, max_logrows = ex.sample, ex.max_logrows
    if sample is not None:
        check_sample_size(shard_count(len(data), shard_size), sample)
    elif shard_size is not None:
        shard_count(len(data), shard_size)  # fail before creating the work folder
    check_output_folder(out)
    with tempfile.TemporaryDirectory(prefix="zkcert-prove-") as tmp:
        tmpdir = Path(tmp)
        work = WorkFolder(Path(ex.work_dir) if ex.work_dir else Path(f"{out}.work") if shard_size else tmpdir / "work")
        salts = salts or work.salts()
        plan_with = functools.partial(plan, model, data, threshold=threshold, shard_size=shard_size, sample=sample, nonce=nonce,
                                      **st.statement_kwargs())

        def check_agg(p: Plan, spec: CircuitSpec, files: circuit.CircuitFiles) -> None:
            # Under kzg/v1 the plan is the stand-in one: its sums are along the stand-in direction, of the same size.
            say("checking that the aggregation circuit can be built (before any shard is proved)")
            check_aggregation(spec, files, shard_sums(model, data, p), p.committed.salts, tmpdir / "agg-check", max_logrows)

        # Sharded certificates check their aggregation circuit before setup, so that no proving is lost to it.
        build = functools.partial(_circuit, before_setup=check_agg if shard_size is not None and sample is None else None,
                                  inner_cols=inner_cols, tmpdir=tmpdir, max_logrows=max_logrows, srs_path=srs_path,
                                  steps=steps, say=say)
        committer = None
        if st.commitment == KZG:
            spec, files, srs, vk, salts, committer = _kzg_circuit(plan_with, salts, spec, build)
        with steps.step("commit"):
            say("committing to the data and the model" + (" (KZG, with the circuit's key)" if committer else ""))
            p = plan_with(salts=salts, spec=spec, committer=committer)
            if published is not None:
                published.check(p.committed)
            work.save_plan(p)
        chosen = _chosen(p, nonce, sample)
        checked = _check_float(model, data, p, chosen, sample is not None)
        if st.commitment != KZG:
            spec, files, srs, vk = build(p, chosen)
        c = p.committed
        outcomes = _prove_chosen(p, spec, chosen, srs, work, ex.workers, ex.ray_address, say, tick, steps)
        with steps.step("verify"):
            fresh = _ezkl.verify_all([work.proof(o.index) for o in outcomes], files.settings, vk, srs.path)
            for o, ok in zip(outcomes, fresh):
                if not ok:
                    raise CircuitError(f"proof {o.index}'s fresh proof does not verify: please report this")
        if shard_size is None:
            statement: AnyStatement = Statement(spec, c.data_commitment, c.model_commitment, nonce)
            final = _check_flags(spec, files, outcomes, {0: p.float_metric}, spot_check=False)
            payload = {PROOF: work.proof(0), VK: vk}
        elif sample is None:
            agg = aggregate(spec, files, outcomes, srs, tmpdir, max_logrows, say, steps)
            statement = ShardedStatement(spec, agg.spec, c.shard_commitments, c.data_commitment, c.model_commitment, nonce)
            final = agg.outputs
            payload = {**_shard_files(work, outcomes, vk), AGGREGATE_PROOF: agg.proof, AGGREGATE_VK: agg.vk}
        else:
            statement = SampledStatement(spec, c.shard_commitments, c.data_commitment, c.model_commitment, nonce, sample)
            final = _check_flags(spec, files, outcomes, checked, spot_check=True)
            final = dataclasses.replace(final, value=None, correct=None)  # the challenged shards' last, not the certificate's
            payload = _shard_files(work, outcomes, vk)
        ctx = ProverContext(model, c.model_vec, c.model_commitment, spec, srs, srs_path, tmpdir, steps, say, tick, c, nonce,
                            ex.workers, ex.max_memory_gb)
        proved = [job.prove(ctx) for job in claims]
        for claim in proved:
            payload.update(claim.payload())
        reported = _reported(p, final, steps, outcomes if shard_size else None, checked if sample else None)
        if include_srs:
            payload[SRS_FILE] = srs.path
        cert = write_certificate(
            out, payload,
            lambda hashes: Manifest(statement, {**srs.to_json(), "logrows": spec.logrows}, hashes, reported, software_versions(),
                                    claims=tuple(claim.entry for claim in proved)),
        )
    return ProveResult(cert, Manifest.load(cert), steps.to_json(), p.committed.saved_salts())


def commit_kzg(
    model: nn.Module, data: Dataset, *, threshold: float, statement: Preset | str = DEFAULT_PRESET,
    salts: Salts | ShardSalts | None = None, srs_path: str | Path | None = None, execution: Execution | None = None,
    spec: CircuitSpec | None = None, say: Say | None = None,
) -> Published:
    """kzg/v1's commit step, before any nonce exists: size, calibrate, set up, and commit with the circuit's key.

    A KZG point depends on the circuit's key, and the key on everything compiled into the circuit, T included:
    so T is fixed here, and prove reuses the returned spec and salts (zkcert.published). spec: a pinned, calibrated
    circuit spec (the demo's), whose statement choices override `statement`'s.
    """
    say, steps, ex = say or (lambda _m: None), Steps(), execution or Execution()
    st = preset(statement, **choices_of(spec))
    if st.commitment != KZG:
        raise InputError(f"commit_kzg makes kzg/v1 commitments, the statement commits with {st.commitment}")
    shard_size, inner_cols = _sizing(model, data, st, ex, threshold, spec, steps, say)
    with tempfile.TemporaryDirectory(prefix="zkcert-commit-") as tmp:
        plan_with = functools.partial(plan, model, data, threshold=threshold, shard_size=shard_size, sample=ex.sample,
                                      **st.statement_kwargs())
        build = functools.partial(_circuit, before_setup=None, inner_cols=inner_cols, tmpdir=Path(tmp), max_logrows=ex.max_logrows,
                                  srs_path=srs_path, steps=steps, say=say)
        spec, _files, _srs, _vk, salts, committer = _kzg_circuit(plan_with, salts, spec, build)
        say("committing to the data and the model (KZG, with the circuit's key)")
        c = plan_with(salts=salts, spec=spec, committer=committer).committed
    return Published(c.data_commitment, c.model_commitment, c.shard_commitments if c.sharded else None, c.saved_salts(), spec)


def _kzg_circuit(plan_with: Callable[..., Plan], salts: Salts | ShardSalts | None, spec: CircuitSpec | None,
                 build: Callable[..., Any]) -> tuple[CircuitSpec, circuit.CircuitFiles, Srs, Path, ShardSalts, Any]:
    """kzg/v1 commitments need the circuit's key, so the circuit comes first: calibrated (a calibrated spec on every
    shard, since the challenge is not known yet) along a stand-in direction, then set up. (spec, files, SRS, vk, salts, committer)."""
    draft = plan_with(salts=salts, spec=spec, committer=provisional_committer)
    spec, files, srs, vk = build(draft, range(draft.committed.n_shards))
    return spec, files, srs, vk, draft.committed.salts, column_committer(KZG, spec.input_scale, (vk, files.settings, srs.path))


def _sizing(model: nn.Module, data: Dataset, st: Preset, ex: Execution, threshold: float, spec: CircuitSpec | None,
            steps: Steps, say: Say) -> tuple[int | None, int | None]:
    """(shard size or None for one proof, columns per row or None for the default) as the execution asks.

    A pinned spec fixes the shard size (its N); "all" is one proof; "auto" sizes; None sizes and proves in one
    proof when every sample fits the budget.
    """
    size = AUTO if ex.shard_size is None and ex.sample is not None else ex.shard_size
    if spec is not None and size is None:
        return (None if spec.n_samples == len(data) and not spec.shard else spec.n_samples), ex.inner_cols
    if size == ALL:
        return None, ex.inner_cols
    if size not in (AUTO, None):
        return int(size), ex.inner_cols  # type: ignore[arg-type]
    with steps.step("size"):
        say(f"choosing how many samples each proof holds within {ex.max_memory_gb:g} GiB")
        size, cols = choose_shard_size(model, data, max_memory_gb=ex.max_memory_gb, inner_cols=ex.inner_cols,
                                       threshold=threshold, sample=ex.sample, **st.statement_kwargs())
        say(f"{size} samples per proof, {cols} columns per row")
    return (None if size == len(data) and ex.shard_size is None and ex.sample is None else size), cols


def _chosen(p: Plan, nonce: str, sample: int | None) -> tuple[int, ...]:
    """The shards to prove: every one, or those the challenge picks for a spot check."""
    c = p.committed
    return challenge(c.data_commitment, c.model_commitment, nonce, c.n_shards, sample) if sample else tuple(range(c.n_shards))


def _circuit(p: Plan, indices: Iterable[int], *, before_setup: Callable[[Plan, CircuitSpec, circuit.CircuitFiles], None] | None,
             inner_cols: int | None, tmpdir: Path, max_logrows: int, srs_path: str | Path | None, steps: Steps,
             say: Say) -> tuple[CircuitSpec, circuit.CircuitFiles, Srs, Path]:
    """Calibrate the plan's spec on the listed shards (unless it is pinned), compile it and make its keys: (spec, files, SRS, vk).

    before_setup runs between compiling and making keys (a sharded prove checks its aggregation there).
    """
    spec = p.spec
    if inner_cols is not None:
        pinned = spec.run_args.get("num_inner_cols")
        if spec.calibrated and pinned != inner_cols:
            raise InputError(f"the pinned circuit spec lays out {pinned} columns per row, not {inner_cols}")
        spec = spec.with_run_args({**spec.run_args, "num_inner_cols": inner_cols})
    if not spec.calibrated:
        with steps.step("calibrate"):
            say("sizing the circuit (its lookup range is the graph's bound: no data needed)" if spec.fixed_range
                else "calibrating the circuit")
            # A fixed-range spec's run arguments do not depend on data (zkcert.spec.CircuitSpec.fixed_range), and
            # calibrate_spec and fewer_columns do not read its inputs: one shard's stands in, not all of them built.
            inputs = [p.shard_input(i) for i in (list(indices)[:1] if spec.fixed_range else indices)]
            spec = circuit.calibrate_spec(spec, inputs, tmpdir, max_logrows=max_logrows)
            if inner_cols is None and "num_inner_cols" not in p.spec.run_args:
                spec = circuit.fewer_columns(spec, inputs, tmpdir)
    with steps.step("setup"):
        say(f"compiling the circuit and generating keys (logrows {spec.logrows}; cached per circuit and SRS)")
        files = circuit.compile_spec(spec)
        if before_setup is not None:
            before_setup(p, spec, files)
        srs = resolve_srs(spec.logrows or 0, srs_path)
        vk, _pk = circuit.keys_for(files, srs)
    return spec, files, srs, vk


def _check_float(model: nn.Module, data: Dataset, p: Plan, chosen: tuple[int, ...], spot_check: bool) -> dict[int, float]:
    """The float metric of what will be claimed is at most T (the whole data, or each challenged shard); their values."""
    threshold = p.spec.threshold
    if not spot_check:
        if not p.float_metric <= threshold:  # written so that a NaN fails too
            raise ThresholdExceeded(p.float_metric, threshold)
        return {0: p.float_metric}
    checked = shard_metrics(model, data, p, chosen)
    worst = max(checked, key=checked.__getitem__)
    if not checked[worst] <= threshold:
        raise ThresholdExceeded(checked[worst], threshold, what=f"{p.spec.metric} of challenged shard {worst}")
    return checked


def _prove_chosen(
    p: Plan, spec: CircuitSpec, indices: tuple[int, ...], srs: Srs, work: WorkFolder, workers: int | None,
    ray_address: str | None, say: Say, tick: Tick, steps: Steps,
) -> list[ShardOutcome]:
    """Prove every chosen shard not already in the work folder; each fresh proof is checked and recorded at once."""
    digest, total = spec.digest(), len(indices)
    done = {i: o for i in indices if (o := work.finished(i, digest)) is not None}
    if done:
        say(f"resuming: {len(done)} of {total} shards already proved")
    tick(len(done), total)
    jobs = [ShardJob(i, spec.to_json(), p.shard_input(i), str(srs.path), str(cache_root())) for i in indices if i not in done]
    with steps.step("prove"):
        say(f"proving {len(jobs)} of {total} " + ("shards" if total > 1 else "proof") + (f" on Ray at {ray_address}" if ray_address else ""))
        for outcome in run_jobs(jobs, workers=workers, ray_address=ray_address):
            _check_commitments(p, spec, outcome)
            work.record(outcome, digest)
            done[outcome.index] = outcome
            tick(len(done), total)
    outcomes = [done[i] for i in indices]
    for o in outcomes:
        _check_commitments(p, spec, o)
    return outcomes


def _check_commitments(p: Plan, spec: CircuitSpec, outcome: ShardOutcome) -> None:
    """A proof commits to the planned shard and model: anything else is a bug, caught before it is published."""
    inst = circuit.read_instances(spec, _ezkl.ProofView.from_json(outcome.proof))
    c = p.committed
    if inst.data_commitment != c.shard_commitments[outcome.index] or inst.model_commitment != c.model_commitment:
        raise CircuitError(f"proof {outcome.index} commits to other data or model than planned: please report this")


def _check_flags(spec: CircuitSpec, files: circuit.CircuitFiles, outcomes: list[ShardOutcome], floats: dict[int, float],
                 *, spot_check: bool) -> circuit.Outputs:
    """Every proof's fixed-point flag is 1 (its float value passed, so a 0 is a quantization gap) and its labels
    one-hot; the last proof's outputs (a single proof's are the certificate's)."""
    settings = files.settings_json()
    for o in outcomes:
        outputs = circuit.read_instances(spec, _ezkl.ProofView.from_json(o.proof)).outputs
        read = circuit.read_outputs(spec, circuit.decode_outputs(outputs, settings))
        if spot_check:
            check_outputs(spec, read, what=f" of challenged shard {o.index} (float value shown)", shown=floats[o.index])
        else:
            check_outputs(spec, read)
    return read


def _shard_files(work: WorkFolder, outcomes: list[ShardOutcome], vk: Path) -> dict[str, Path]:
    return {**{shard_proof_name(o.index): work.proof(o.index) for o in outcomes}, SHARD_VK: vk}


def _reported(p: Plan, final: circuit.Outputs, steps: Steps, outcomes: list[ShardOutcome] | None,
              challenged: dict[int, float] | None) -> dict[str, Any]:
    """The prover's measurements for the manifest (informational: the verifier checks circuit_metric and circuit_correct)."""
    reported: dict[str, Any] = {
        "float_metric": p.float_metric, "circuit_metric": final.value,
        "relative_gap": relative_gap(final.value, p.float_metric), "steps": steps.to_json(),
    }
    if final.correct is not None:
        reported["circuit_correct"] = int(round(final.correct))
    if outcomes is not None:
        reported["shards"] = [{"index": o.index, "seconds": round(o.seconds, 3), "peak_rss_mb": round(o.peak_rss_mb, 1),
                               "node": o.node} for o in outcomes]
    if challenged is not None:
        reported["challenged_float_max"] = max(challenged.values())
    return reported
