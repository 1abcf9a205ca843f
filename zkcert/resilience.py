"""The resilience claim ("resilience/v1", after REVa): how many committed training samples have a misclassified neighbour.

Statement: for the model with commitment C_theta and the data with commitment C_D (the sharpness proofs' own),
with Q neighbours x + delta_q per sample at degree e, derived by zkcert.neighbours from (C_theta, C_D, nonce),
at most M of the N committed samples have a neighbour the model classifies as another class than the label;
the number of misclassified (sample, neighbour) pairs is revealed too. One proof per data shard (one for data
committed whole), each of the circuit zkcert.circuit.resilience builds; the verifier sums their counts.

The verifier learns two counts, not which samples are weak, and random neighbours are not an adversary: a
sample with no misclassified neighbour may still have an adversarial example next to it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import circuit
from ._internal import ezkl as _ezkl
from ._internal.io import atomic_write_json, read_json
from .certificate import Manifest
from .circuit.resilience import OUTPUTS, ResilienceSpec, resilience_instances
from .claims import ClaimContext, ClaimEntry, ClaimProof, ClaimResult, ProverContext, bind_data, bind_model, prove_jobs
from .commitments import KZG, Column, column_committer, direction_column
from .data import Dataset
from .errors import CertificateError, CircuitError, InputError, VerificationError, ZkcertError
from .neighbours import GENERATOR, check_neighbours, committed_offsets
from .proving.executor import FileJob
from .robustness.seeded import seeded_counts
from .spec import CircuitSpec
from .srs import Srs
from .verification.steps import trusted_key, verify_proofs

__all__ = ["NAME", "VK_FILE", "ResilienceStatement", "ResilienceJob", "ResilienceClaim", "CLAIM", "resilience_spec",
           "claim_inputs", "fixed_point_counts", "proof_name", "vk_name", "part_specs", "statement_offsets"]

NAME = "resilience/v1"
VK_FILE = "vk.key"
_STATEMENT_FIELDS = {"degree", "neighbours", "n_samples", "pairs", "weak", "generator", "spec", "text"}


def proof_name(shard: int, part: int, shards: int, parts: int) -> str:
    """The file of one proof: proof.json when there is one, else proof-<shard>-<part>.json."""
    return "proof.json" if shards * parts == 1 else f"proof-{shard}-{part}.json"


def vk_name(part: int, parts: int) -> str:
    """The file of one part's verifying key: vk.key when the shards are not cut into parts, else vk-<part>.key."""
    return VK_FILE if parts == 1 else f"vk-{part}.key"


def part_specs(spec: ResilienceSpec) -> list[ResilienceSpec]:
    """The circuit of every part, from the statement's (part 0's): they differ only in the part they count."""
    return [dataclasses.replace(spec, part=p) for p in range(spec.parts)]


@dataclass(frozen=True)
class ResilienceStatement:
    """What the claim states: e, Q, N, the revealed counts, and one shard's circuit (N / spec.n_samples proofs)."""

    degree: float
    neighbours: int
    n_samples: int
    pairs: int
    weak: int
    spec: ResilienceSpec
    generator: str = GENERATOR

    def __post_init__(self) -> None:
        if self.generator != GENERATOR:
            raise CertificateError(f"neighbour generator {self.generator!r} is not {GENERATOR!r}; upgrade zkcert")
        for name in ("n_samples", "pairs", "weak"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise CertificateError(f"resilience statement {name} must be a non-negative integer, got {value!r}")
        if self.spec.part != 0:
            raise CertificateError("a resilience statement names its circuit by part 0")
        if self.n_samples < 1 or self.n_samples % self.spec.n_samples:
            raise CertificateError(f"resilience statement: N = {self.n_samples} is not a multiple of its circuit's {self.spec.n_samples} samples")

    @property
    def shards(self) -> int:
        """Number of data shards (each with spec.parts proofs)."""
        return self.n_samples // self.spec.n_samples

    def files(self) -> tuple[str, ...]:
        """The claim folder's files: a key per part, a proof per shard and part."""
        parts = self.spec.parts
        return (*(vk_name(p, parts) for p in range(parts)),
                *(proof_name(i, p, self.shards, parts) for i in range(self.shards) for p in range(parts)))

    def describe(self) -> str:
        """The statement as a user reads it."""
        return (f"at most {self.weak:,} of {self.n_samples:,} committed training samples have a misclassified neighbour "
                f"at e = {self.degree:g} (Q = {self.neighbours}); {self.pairs:,} of {self.n_samples * self.neighbours:,} "
                f"neighbours misclassified")

    def to_json(self) -> dict[str, Any]:
        """JSON form, with the text."""
        return {"degree": self.degree, "neighbours": self.neighbours, "n_samples": self.n_samples, "pairs": self.pairs,
                "weak": self.weak, "generator": self.generator, "spec": self.spec.to_json(), "text": self.describe()}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "ResilienceStatement":
        """Parse (CertificateError if malformed); the text must be this statement's."""
        unknown = set(obj) - _STATEMENT_FIELDS
        if unknown:
            raise CertificateError(f"resilience statement has unknown fields {sorted(unknown)}")
        try:
            st = cls(float(obj["degree"]), obj["neighbours"], obj["n_samples"], obj["pairs"], obj["weak"],
                     ResilienceSpec.from_json(obj["spec"]), obj.get("generator", GENERATOR))
        except (KeyError, TypeError, ValueError, InputError) as exc:
            raise CertificateError(f"resilience statement is malformed: {exc}") from None
        if obj.get("text") != st.describe():
            raise CertificateError(f"resilience statement's text {str(obj.get('text'))[:80]!r} is not its statement: {st.describe()!r}")
        return st


def resilience_spec(sharpness: CircuitSpec, *, degree: float, neighbours: int) -> ResilienceSpec:
    """The uncalibrated resilience circuit of one shard of the sharpness circuit: same model, data layout, scale and scheme."""
    return ResilienceSpec(layers=tuple(sharpness.layers), input_shape=tuple(sharpness.input_shape), num_classes=sharpness.num_classes,
                          num_params=sharpness.num_params, n_samples=sharpness.n_samples, neighbours=neighbours, degree=degree,
                          input_scale=sharpness.input_scale, commitment=sharpness.commitment, salted=sharpness.salted,
                          run_args={k: sharpness.run_args[k] for k in ("num_inner_cols",) if k in sharpness.run_args})


def statement_offsets(spec: ResilienceSpec, model_commitment: str, data_commitment: str, nonce: str) -> np.ndarray:
    """The (Q, d) offsets of the claim, from the published commitments and the nonce."""
    return committed_offsets(model_commitment, data_commitment, nonce, spec.neighbours, spec.features, spec.degree, spec.input_scale)


def claim_inputs(data_vec: Column, model_vec: Column, offsets: np.ndarray) -> dict[str, Any]:
    """ezkl's input file contents for one shard: its data column, the model column, the offsets."""
    return {"input_data": [list(data_vec), list(model_vec), direction_column(offsets)]}


def _counts(outputs: list[float]) -> dict[str, int]:
    """The decoded outputs by name, as integers (they are counts and a 0/1 flag)."""
    return {name: int(round(v)) for name, v in zip(OUTPUTS, outputs)}


def fixed_point_counts(spec: ResilienceSpec, inputs: dict[str, Any], workdir: Path) -> dict[str, int]:
    """labels_ok, pairs and weak of the circuit on one poseidon/v1 input, by witness only (no keys, no proof)."""
    if spec.commitment == KZG:
        raise InputError("a kzg/v1 witness needs the circuit's key: prove it instead")
    spec = spec if spec.calibrated else circuit.calibrate_spec(spec, inputs, workdir)
    files = circuit.compile_spec(spec)
    atomic_write_json(workdir / "resilience-input.json", inputs)
    witness = _ezkl.gen_witness(workdir / "resilience-input.json", files.compiled, workdir / "resilience-witness.json")
    return _counts(circuit.witness_outputs(witness, files.settings_json()))


def _calibrated(spec: ResilienceSpec, sharpness: CircuitSpec, inputs: list[dict[str, Any]], workdir: Path) -> list[ResilienceSpec]:
    """Every part's circuit, calibrated over every shard with one set of run arguments, cut into the fewest parts whose
    circuit fits the sharpness circuit's logrows (tried on the first shard): the certificate's SRS is sized for it,
    and under kzg/v1 the circuit is built at exactly that logrows (a KZG point depends on the circuit's domain)."""
    target = int(sharpness.logrows)
    for parts in (p for p in range(1, spec.n_samples + 1) if spec.n_samples % p == 0):
        try:
            trial = circuit.calibrate_spec(dataclasses.replace(spec, parts=parts), inputs[0], workdir, max_logrows=target)
        except CircuitError:
            continue
        if trial.logrows <= target:
            break
    else:
        raise CircuitError(f"no resilience circuit of even one sample fits the sharpness circuit's logrows {target}")
    if parts == 1 and len(inputs) == 1:
        specs = [trial]  # calibrated on the only input already
    else:
        specs = [circuit.calibrate_spec(one, inputs, workdir, max_logrows=target) for one in part_specs(trial)]
    merged = circuit.merge_run_args([one.run_args for one in specs])
    if merged["logrows"] > target:
        raise CircuitError(f"the resilience circuit needs logrows {merged['logrows']}, above the sharpness circuit's {target}")
    return [one.with_run_args({**merged, "logrows": target} if spec.commitment == KZG else merged) for one in specs]


@dataclass(frozen=True)
class ResilienceJob:
    """The owner's resilience claim to prove (zkcert.claims.ClaimJob): degree e and Q neighbours, checked when made."""

    degree: float
    neighbours: int
    data: Dataset
    name: str = NAME

    def __post_init__(self) -> None:
        check_neighbours(self.degree, self.neighbours)

    def prove(self, ctx: ProverContext) -> ClaimProof:
        """A proof per shard and part of the committed data; the counts are the circuit's, the float counts reported beside them."""
        committed, nonce = _committed_of(ctx)
        spec = resilience_spec(ctx.spec, degree=self.degree, neighbours=self.neighbours)
        deltas = statement_offsets(spec, committed.model_commitment, committed.data_commitment, nonce)
        inputs = [claim_inputs(vec, committed.model_vec, deltas) for vec in committed.data_vecs]
        folder = ctx.tmpdir / "resilience"
        folder.mkdir(parents=True, exist_ok=True)
        with ctx.steps.step("resilience setup"):
            ctx.say(f"resilience: calibrating and setting up the circuit (Q = {self.neighbours}, e = {self.degree:g})")
            specs = _calibrated(spec, ctx.spec, inputs, folder)
            built = [(one, circuit.compile_spec(one)) for one in specs]
            keys = [circuit.keys_for(files, ctx.srs) for _one, files in built]
        totals, files_out = {"labels_ok": 1, "pairs": 0, "weak": 0}, {}
        shards, parts = len(inputs), len(specs)
        todo = [(i, p) for i in range(shards) for p in range(parts)]
        jobs = [_part_job(k, proof_name(i, p, shards, parts), inputs[i], built[p], keys[p], ctx.srs, folder)
                for k, (i, p) in enumerate(todo)]
        with ctx.steps.step("resilience prove"):
            prove_jobs(ctx, jobs, specs[0])
        for job, (i, p) in zip(jobs, todo):  # every proof checked, in order, once all are made
            name = Path(job.proof).name
            counts = _checked_counts(job, built[p], (committed.shard_commitments[i], committed.model_commitment))
            files_out[name] = folder / name
            totals = {"labels_ok": min(totals["labels_ok"], counts["labels_ok"]), "pairs": totals["pairs"] + counts["pairs"],
                      "weak": totals["weak"] + counts["weak"]}
        if totals["labels_ok"] != 1:
            raise InputError("the committed label vectors are not all one-hot: the resilience counts would mean nothing")
        floats = seeded_counts(ctx.model, self.data, deltas, degree=self.degree)
        st = ResilienceStatement(self.degree, self.neighbours, len(self.data), totals["pairs"], totals["weak"], specs[0])
        if (floats.pairs, floats.weak) != (st.pairs, st.weak):
            ctx.say(f"resilience: the circuit counts {st.weak} weak samples and {st.pairs} pairs, float {floats.weak} and "
                    f"{floats.pairs} (fixed point moves neighbours that sit on a decision boundary)")
        vks = {vk_name(p, parts): vk for p, (vk, _pk) in enumerate(keys)}
        return ClaimProof(ClaimEntry(NAME, st.to_json(), {"float_pairs": floats.pairs, "float_weak": floats.weak}), {**vks, **files_out})


def _part_job(k: int, name: str, inputs: dict[str, Any], built: tuple[ResilienceSpec, Any], keys: tuple[Path, Path], srs: Srs,
              folder: Path) -> FileJob:
    """One shard's part: its ezkl input written to the claim's private folder, and the job that proves it (witness kept)."""
    spec, files = built
    vk, pk = keys
    stem = name.removesuffix(".json")
    atomic_write_json(folder / f"{stem}-input.json", inputs)
    return FileJob(k, str(folder / f"{stem}-input.json"), str(files.compiled), str(pk), str(srs.path),
                   str(folder / f"{stem}-witness.json"), str(folder / name), str(vk) if spec.commitment == KZG else None,
                   keep_witness=True)


def _checked_counts(job: FileJob, built: tuple[ResilienceSpec, Any], want: tuple[str, str]) -> dict[str, int]:
    """A proved part's counts (its witness's outputs); a proof that does not commit to the published columns is refused."""
    spec, files = built
    inst = resilience_instances(spec, _ezkl.ProofView.from_json(read_json(Path(job.proof), what="proof")))
    if (inst.data_commitment, inst.model_commitment) != want:
        raise CircuitError(f"the resilience proof {Path(job.proof).name} commits to other columns than the published ones: please report this")
    witness = Path(job.witness)
    counts = _counts(circuit.witness_outputs(read_json(witness, what="witness"), files.settings_json()))
    witness.unlink()  # the private values in clear, and tens of MB
    return counts


def _committed_of(ctx: ProverContext) -> tuple[Any, str]:
    """The committed data (zkcert.owner.Committed) and the nonce a claim over the training data needs from the prover's context."""
    committed, nonce = getattr(ctx, "committed", None), getattr(ctx, "nonce", None)
    if committed is None or nonce is None:
        raise InputError("this prove pipeline gives claims no committed data: resilience/v1 cannot be proved with it")
    return committed, nonce


class ResilienceClaim:
    """The verifier's side of resilience/v1 (zkcert.claims.Claim)."""

    name = NAME
    checks = ("resilience-statement", "resilience-verifying-key", "resilience-proof", "resilience-instances",
              "resilience-model", "resilience-data", "resilience-offsets", "resilience-labels", "resilience-count")
    anchor_hint = None

    def read(self, statement: dict[str, Any]) -> tuple[str, ...]:
        """The files the claim's folder holds: a key per part, a proof per shard and part."""
        return ResilienceStatement.from_json(statement).files()

    def verify(self, ctx: ClaimContext, entry: ClaimEntry, anchor: Any | None) -> ClaimResult:
        """The checks, in order, each failing by name."""
        run = ctx.run
        run.at("resilience-statement")
        st = self._statement(ctx, entry)
        manifest = Manifest.load(ctx.folder)
        listed = tuple(getattr(manifest.statement, "shard_commitments", None) or (ctx.data_commitment,))
        if len(listed) != st.shards:
            raise VerificationError("resilience-statement", f"the claim has {st.shards} shards, the certificate's data {len(listed)}")
        keys = [trusted_key(run, ctx.folder / entry.folder / vk_name(p, one.parts), one, ctx.srs, ctx.trust,
                            check="resilience-verifying-key") for p, one in enumerate(part_specs(st.spec))]
        for p, (vk, files) in enumerate(keys):
            names = [f"{entry.folder}/{proof_name(i, p, st.shards, st.spec.parts)}" for i in range(st.shards)]
            verify_proofs(run, names, files, vk, ctx.srs, "resilience circuit's key", check="resilience-proof")
        vk, files = keys[0]
        deltas = statement_offsets(st.spec, ctx.model_commitment, ctx.data_commitment, manifest.statement.nonce)
        offsets = column_committer(st.spec.commitment, st.spec.input_scale, (vk, files.settings, ctx.srs.path))(direction_column(deltas))
        pairs = weak = 0
        for i in range(st.shards):
            for p, one in enumerate(part_specs(st.spec)):
                counts = self._check_proof(ctx, entry, one, proof_name(i, p, st.shards, one.parts), keys[p][1], listed[i], offsets)
                pairs, weak = pairs + counts["pairs"], weak + counts["weak"]
        run.at("resilience-count")
        if (pairs, weak) != (st.pairs, st.weak):
            raise VerificationError("resilience-count", f"the proofs count {weak} weak samples and {pairs} misclassified "
                                                        f"neighbours, the statement says {st.weak} and {st.pairs}")
        return ClaimResult(NAME, st.describe(), self.checks, values={
            "resilience_weak": weak, "resilience_pairs": pairs, "resilience_samples": st.n_samples,
            "resilience_degree": st.degree, "resilience_neighbours": st.neighbours})

    @staticmethod
    def _check_proof(ctx: ClaimContext, entry: ClaimEntry, spec: ResilienceSpec, name: str, files: Any, listed: str,
                     offsets: str) -> dict[str, int]:
        """One proof's instances: its model C_theta, its data the listed shard, its offsets the derived ones, its labels one-hot."""
        ctx.run.at("resilience-instances")
        try:
            proof = _ezkl.ProofView.from_json(read_json(ctx.folder / entry.folder / name, what="proof"), what=name)
            inst = resilience_instances(spec, proof)
            counts = _counts(circuit.decode_outputs(inst.outputs, files.settings_json()))
        except ZkcertError as exc:
            raise VerificationError("resilience-instances", f"{name}: {exc}") from None
        bind_model(ctx, "resilience-model", name, inst.model_commitment, spec)
        bind_data(ctx, "resilience-data", name, inst.data_commitment, listed)
        ctx.run.at("resilience-offsets")
        if inst.offsets != offsets:
            raise VerificationError("resilience-offsets", f"{name}'s neighbour offsets are not the ones derived from the "
                                                          "commitments and nonce at the statement's e and Q")
        ctx.run.at("resilience-labels")
        if counts["labels_ok"] != 1:
            raise VerificationError("resilience-labels", f"{name} says the committed label vectors are not all one-hot")
        return counts

    @staticmethod
    def _statement(ctx: ClaimContext, entry: ClaimEntry) -> ResilienceStatement:
        """The statement, about the certificate's N samples, with e and Q the circuit's own."""
        try:
            st = ResilienceStatement.from_json(entry.statement)
        except CertificateError as exc:
            raise VerificationError("resilience-statement", str(exc)) from None
        if (st.spec.degree, st.spec.neighbours) != (st.degree, st.neighbours):
            raise VerificationError("resilience-statement", f"the statement says e = {st.degree:g}, Q = {st.neighbours}; its circuit "
                                                            f"has e = {st.spec.degree:g}, Q = {st.spec.neighbours}")
        if ctx.n_samples is not None and st.n_samples != ctx.n_samples:
            raise VerificationError("resilience-statement", f"the claim is about {st.n_samples} samples, the certificate's data has {ctx.n_samples}")
        if (st.spec.input_shape, st.spec.num_classes) != (tuple(ctx.spec.input_shape), ctx.spec.num_classes):
            raise VerificationError("resilience-statement", "the claim's circuit reads samples of another shape than the committed data's")
        return st


CLAIM = ResilienceClaim()
