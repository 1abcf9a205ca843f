"""The owner's side of "heldout/v1": size, calibrate and set up the held-out circuit, prove each block of the challenge.

Under kzg/v1 the circuit is built at exactly the sharpness circuit's logrows (a KZG point depends on the domain,
and the model's point must be the published C_theta), so the challenge is split into the largest equal blocks
that fit 2**logrows rows. Under poseidon/v1 the model's hash depends only on the column and scale: one proof over
the whole challenge unless a block size is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from .. import circuit
from .._internal import ezkl as _ezkl
from .._internal.io import atomic_write_json, read_json
from ..circuit.heldout import HeldoutSpec, heldout_instances
from ..claims import ClaimEntry, ClaimProof, ProverContext, prove_jobs
from ..commitments import KZG, Column, column_committer, data_vector
from ..data import Dataset
from ..errors import CircuitError, InputError
from ..models import check_compatible, layer_configs
from ..proving.executor import FileJob
from ..spec import CircuitSpec
from ..srs import Srs, resolve_srs
from .challenge import Challenge, FloatReference, float_reference
from .statement import HELDOUT, VK_FILE, HeldoutStatement, proof_name

__all__ = ["HeldoutJob", "blocks_that_fit", "block_columns", "block_inputs", "challenge_columns", "heldout_spec", "spec_columns"]

# A block's estimated rows (blocks_that_fit) must fit this share of 2**logrows (ezkl reserves blinding rows, and
# the lookup tables' own rows grow with the range). Calibration at the target logrows has the last word: a block
# it puts above the target is skipped for the next smaller one, so the share only saves calibrations.
_ROW_HEADROOM = 0.995
# The domain blocks are sized for when none is pinned (under kzg/v1 the sharpness circuit's logrows is).
_MEASURE_LOGROWS = 20


def heldout_spec(spec: CircuitSpec, challenge: Challenge, block: int) -> HeldoutSpec:
    """The uncalibrated held-out circuit reading the model column as the sharpness circuit `spec` does."""
    return HeldoutSpec(layers=spec.layers, input_shape=tuple(int(v) for v in challenge.x.shape[1:]),
                       num_classes=challenge.num_classes, num_params=spec.num_params, n_samples=block,
                       input_scale=spec.input_scale, commitment=spec.commitment, salted=spec.salted)


def challenge_columns(challenge: Challenge, block: int, scale: int, scheme: str, *, padded: bool = False,
                      first: int | None = None) -> list[Column]:
    """The challenge as the circuit's first input, one column per block of `block` samples (public: unsalted).

    padded (layout 3): the last block is filled with padding samples, so `block` need not divide M.
    first: only the first that many blocks (sizing measures a block size that need not divide M).
    """
    return block_columns(challenge.dataset(), block, scale, scheme, padded=padded, first=first)


def block_columns(data: Dataset, block: int, scale: int, scheme: str, *, padded: bool = False,
                  first: int | None = None) -> list[Column]:
    """challenge_columns for any labeled samples, in their order (benchmarks recount sets that are not challenges)."""
    m = len(data)
    count = -(-m // block) if first is None else first
    # Unpadded, every block is full; padded, every block holds at least one challenge sample.
    fits = (count - 1) * block < m if padded else count * block <= m and (first is not None or m % block == 0)
    if count < 1 or not fits:
        raise InputError(f"{m} challenge samples do not hold {count} blocks of {block}")
    parts = [list(range(i * block, min((i + 1) * block, m))) for i in range(count)]
    return [data_vector(data.subset(idx), (), scale, scheme, pad=block - len(idx)) for idx in parts]


def spec_columns(challenge: Challenge, hspec: HeldoutSpec) -> list[Column]:
    """The challenge's columns in the blocks of this held-out circuit (its sample count, scale, scheme and layout)."""
    return challenge_columns(challenge, hspec.n_samples, hspec.input_scale, hspec.commitment, padded=hspec.padded)


def block_inputs(column: Column, model_vec: Column) -> dict[str, list]:
    """ezkl's input file for one block: the challenge column, then the model column."""
    return {"input_data": [list(column), list(model_vec)]}


@dataclass(frozen=True)
class HeldoutJob:
    """A held-out claim to prove beside the sharpness statement (zkcert.claims.ClaimJob).

    Made before anything is proved, so a challenge that does not fit the model is one line and nothing written.
    min_correct: the A claimed (default: the circuit's own count). block: challenge samples per proof (the last
    proof's block is padded where it does not divide M).
    spec: a calibrated held-out circuit to prove with (its blocks), instead of calibrating one on this model.
    """

    challenge: Challenge
    model: nn.Module
    min_correct: int | None = None
    block: int | None = None
    spec: HeldoutSpec | None = None
    name: str = HELDOUT

    def __post_init__(self) -> None:
        data = self.challenge.dataset()
        try:
            check_compatible(self.model, data.x, data.num_classes)
        except InputError as exc:
            raise InputError(f"the challenge does not fit the model: {exc}") from None
        m = len(self.challenge)
        if self.block is not None and (isinstance(self.block, bool) or not isinstance(self.block, int) or self.block < 1):
            raise InputError(f"challenge samples per proof must be a positive integer, got {self.block!r}")
        if self.min_correct is not None and not 0 <= self.min_correct <= m:
            raise InputError(f"cannot claim {self.min_correct} correct of {m} challenge samples")

    def reference(self) -> FloatReference:
        """The float count and loss the circuit should reproduce."""
        return float_reference(self.model, self.challenge)

    def prove(self, ctx: ProverContext) -> ClaimProof:
        """Calibrate, set up and prove every block; checks each proof's commitments before returning it."""
        spec = ctx.spec
        if tuple(spec.layers) != layer_configs(self.model):
            raise InputError("the model's architecture differs from the committed circuit's")
        with ctx.steps.step("heldout-calibrate"):
            ctx.say(f"calibrating the held-out circuit ({len(self.challenge)} challenge samples)")
            hspec, columns = self._calibrated(ctx)
        with ctx.steps.step("heldout-setup"):
            ctx.say(f"setting up the held-out circuit (logrows {hspec.logrows}, {len(columns)} proof(s))")
            files = circuit.compile_spec(hspec)
            srs = _srs_for(hspec, ctx)
            vk, pk = circuit.keys_for(files, srs)
        commit = column_committer(hspec.commitment, hspec.input_scale, (vk, files.settings, srs.path))
        work, names, correct, loss = ctx.tmpdir / "heldout", {}, 0.0, 0.0
        work.mkdir(parents=True, exist_ok=True)
        settings = files.settings_json()
        jobs = [_block_job(i, block, ctx.model_vec, work, files, pk, vk if hspec.commitment == KZG else None, srs)
                for i, block in enumerate(columns)]
        with ctx.steps.step("heldout-prove"):
            ctx.say(f"proving {len(jobs)} held-out block(s)")
            prove_jobs(ctx, jobs, hspec)
        for i, block in enumerate(columns):  # every proof checked, in order, once all are made
            proof = work / proof_name(i)
            inst = heldout_instances(hspec, _ezkl.ProofView.from_json(read_json(proof, what="proof")))
            if inst.model_commitment != ctx.model_commitment or inst.challenge != commit(block):
                raise CircuitError(f"held-out proof {i} commits to another model or challenge than planned: please report this")
            got = circuit.decode_outputs(inst.outputs, settings)
            correct, loss = correct + got[0], loss + got[1]
            names[proof_name(i)] = proof
        count = int(round(correct))
        claimed = count if self.min_correct is None else self.min_correct
        if count < claimed:
            raise InputError(f"the circuit counts {count} of {len(self.challenge)} challenge samples correct, fewer than the {claimed} claimed")
        ref = self.reference()
        statement = HeldoutStatement(hspec, self.challenge.sha256, len(self.challenge), claimed, ctx.model_commitment)
        reported = {"circuit_correct": count, "circuit_loss_sum": loss, "float_correct": ref.correct, "float_loss_sum": ref.loss_sum}
        return ClaimProof(ClaimEntry(HELDOUT, statement.to_json(), reported), {VK_FILE: vk, **names})

    def _calibrated(self, ctx: ProverContext) -> tuple[HeldoutSpec, list[Column]]:
        """The calibrated spec and the challenge's columns, in blocks that fit (kzg/v1: at the sharpness circuit's logrows)."""
        spec, m = ctx.spec, len(self.challenge)
        if self.spec is not None:
            return self.spec, spec_columns(self.challenge, self.spec)
        kzg = spec.commitment == KZG
        target = spec.logrows if kzg else None
        blocks = [self.block] if self.block else ([m] if not kzg else _fitting_blocks(self, ctx, target))
        for block in blocks:
            hspec = heldout_spec(spec, self.challenge, block)
            columns = spec_columns(self.challenge, hspec)
            # Layout 3 fixes its lookup range from the graph (HeldoutSpec.lookup_range), so calibration only has to
            # say whether a block fits: one block does. A value past the decomposition's range in another block
            # fails that block's witness by name (ezkl's "decomposition error"), as the sharpness shards do.
            inputs = [block_inputs(c, ctx.model_vec) for c in columns[: 1 if hspec.padded else None]]
            folder = _fresh(ctx.tmpdir / f"heldout-cal-{block}")
            try:
                hspec = _pinned(circuit.calibrate_spec(hspec, inputs, folder, max_logrows=target or 20))
            except CircuitError:
                if block == blocks[-1]:
                    raise
                continue
            if target is not None:
                if (hspec.logrows or 0) > target:
                    continue
                return hspec.with_run_args({**hspec.run_args, "logrows": target}), columns
            # One column per row where it keeps the logrows, as a sharpness proof gets (a small Poseidon circuit
            # sets up and proves faster). Not under kzg/v1: its blocks are sized to fill the pinned domain.
            return _pinned(circuit.fewer_columns(hspec, inputs, folder)), columns
        raise InputError(f"no block of the challenge fits the committed circuit's 2**{target} rows")


def _block_job(i: int, block: Column, model_vec: Column, work: Path, files: Any, pk: Path, vk: Path | None, srs: Srs) -> FileJob:
    """Block i's ezkl input written to the claim's private folder, and the job that proves it there."""
    inputs = work / f"input-{i}.json"
    atomic_write_json(inputs, block_inputs(block, model_vec))
    return FileJob(i, str(inputs), str(files.compiled), str(pk), str(srs.path), str(work / f"witness-{i}.json"),
                   str(work / proof_name(i)), None if vk is None else str(vk))


def _fitting_blocks(job: HeldoutJob, ctx: ProverContext, logrows: int | None) -> list[int]:
    """Block sizes, largest first, whose estimated rows fit 2**logrows (blocks_that_fit's line through two counted block sizes).

    One sample's rows times the block size overestimated by about 20x: the circuit's fixed part (the model column and
    the lookup tables, about 12,800 rows for MNIST 784-32-10 at 2 columns) is paid once per proof, a sample about 1,900.
    """
    m = len(job.challenge)
    sizes = sorted({min(m, 8), min(m, 32)})
    return blocks_that_fit(m, {size: _block_rows(job, ctx, size) for size in sizes}, logrows or _MEASURE_LOGROWS, padded=True)


def blocks_that_fit(m: int, measured: dict[int, int], logrows: int, *, padded: bool = False) -> list[int]:
    """Block sizes for m samples, largest first, whose rows on the line through the measured {block size: rows} fit 2**logrows.

    Unpadded (layouts 1-2): divisors of m. Padded (layout 3): for each number of proofs, the smallest block that
    needs no more proofs (1,000 samples in blocks of at most 27: 38 proofs of 27, 26 padding samples in the last).
    """
    (a, ra), *rest = sorted(measured.items())
    per = ra / a if not rest else (rest[-1][1] - ra) / (rest[-1][0] - a)
    fixed = ra - per * a
    fits = [d for d in range(m, 0, -1) if (padded or m % d == 0) and fixed + per * d <= _ROW_HEADROOM * 2**logrows]
    if padded:
        fits = list(dict.fromkeys(-(-m // -(-m // d)) for d in fits))
    return fits or [1]


def _block_rows(job: HeldoutJob, ctx: ProverContext, size: int) -> int:
    """Rows of the held-out circuit for blocks of `size` samples (circuit.layout_rows: no data needed)."""
    return circuit.layout_rows(heldout_spec(ctx.spec, job.challenge, size), _fresh(ctx.tmpdir / f"heldout-rows-{size}"))


def _pinned(hspec: HeldoutSpec) -> HeldoutSpec:
    """Layout 3: the calibrated spec with the lookup range its graph fixes; earlier layouts keep the calibrated one."""
    return hspec.with_run_args({**hspec.run_args, "lookup_range": hspec.lookup_range()}) if hspec.padded else hspec


def _srs_for(hspec: HeldoutSpec, ctx: ProverContext) -> Srs:
    """The certificate's one SRS, which must cover the held-out circuit (an SRS for 2**K serves every smaller circuit)."""
    if (hspec.logrows or 0) <= (ctx.spec.logrows or 0):
        return ctx.srs
    srs = resolve_srs(hspec.logrows or 0, ctx.srs_path)
    if srs.sha256 != ctx.srs.sha256:
        raise InputError(f"the held-out circuit needs 2**{hspec.logrows} rows, more than the sharpness circuit's SRS: "
                         f"pass an SRS of at least that size with --srs")
    return srs


def _fresh(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder
