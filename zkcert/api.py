"""The owner's and auditor's entry points that are not proving or verifying: measure, commit, audit,
and the published-commitments file (commitments.json) that anchors a verification."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from . import circuit, owner
from .certificate import Manifest
from .commitments import KZG, Commitments, Salts, ShardSalts, column_committer
from .data import Dataset
from .direction import committed_directions
from .errors import InputError, VerificationError
from .metric import mean_loss
from .owner import Committed, Committer, plan, shard_metrics
from .preset import DEFAULT_PRESET, Preset, choices_of, preset
from .spec import CircuitSpec
from .srs import resolve_srs
from .statement import SampledStatement, ShardedStatement
from .published import PUBLISHED_SCHEMA, Published, published_json, read_published
from .verification import VerificationResult, open_certificate, verify
from .verification.forms import form_of
from .verification.steps import srs_at_hand

__all__ = [
    "MeasureResult", "measure", "commit", "AuditResult", "audit", "Published", "PUBLISHED_SCHEMA", "published_json", "read_published",
]


@dataclass(frozen=True)
class MeasureResult:
    """The float metric along the committed direction, or, before commitments exist, its spread over draws.

    exact: the value is the one a certificate with these commitments and nonce certifies (within the fixed-point
    gap). Otherwise `value` is the median over `draws` directions and `spread` its 10th and 90th percentiles: the
    direction is derived from commitments that do not exist yet (kzg/v1 commits with the circuit's key).
    """

    value: float
    preset: Preset
    n_samples: int
    commitments: Commitments | None
    nonce: str
    mean_loss: float
    exact: bool = True
    spread: tuple[float, float] | None = None
    draws: int = 1

    # The statement's choices, as the rest of zkcert names them.
    metric = property(lambda self: self.preset.metric)
    direction = property(lambda self: self.preset.direction)
    epsilon = property(lambda self: self.preset.epsilon)
    n_directions = property(lambda self: self.preset.n_directions)

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        out = {
            "value": self.value, "exact": self.exact, "statement": self.preset.describe(), "metric": self.metric,
            "direction": self.direction, "epsilon": self.epsilon, "directions": self.n_directions, "samples": self.n_samples,
            "nonce": self.nonce, "mean_training_loss": self.mean_loss,
            **(self.commitments.to_json() if self.commitments is not None else {}),
        }
        if self.spread is not None:
            out.update({"p10": self.spread[0], "p90": self.spread[1], "draws": self.draws})
        return out


def measure(
    model: nn.Module, data: Dataset, *, statement: Preset | str = DEFAULT_PRESET, nonce: str = "",
    salts: Salts | ShardSalts | None = None, published: Published | None = None, shard_size: int | None = None,
    draws: int = 30,
) -> MeasureResult:
    """The float metric along the direction a certificate would use: fast, no circuit, no proof.

    With `published` (a commit folder), the direction comes from its commitments and the nonce: the value the
    certificate will carry. Under poseidon/v1 the commitments can also be computed here from `salts` (hashing
    the data, the slow part). Under kzg/v1 without published commitments no direction exists yet: the result
    is the median and 10-90 % spread over `draws` directions, and `exact` is False.
    """
    st = preset(statement)
    owner.check_certifiable(model, data, st.input_scale)
    loss = mean_loss(model, data)
    if published is not None:
        spec = owner.make_spec(model, data, threshold=0.0, **st.statement_kwargs())  # the signs depend on the layers and K only
        r = committed_directions(spec, published.model_commitment, published.data_commitment, nonce)
        return MeasureResult(owner.float_metric(spec, model, data, r), st, len(data),
                             Commitments(published.data_commitment, published.model_commitment), nonce, loss)
    if st.commitment != KZG:
        p = plan(model, data, nonce=nonce, salts=salts, shard_size=shard_size, **st.statement_kwargs())
        return MeasureResult(p.float_metric, st, len(data), p.committed.commitments, nonce, loss)
    if draws < 1:
        raise InputError(f"draws must be at least 1, got {draws}")
    spec = owner.make_spec(model, data, threshold=0.0, **st.statement_kwargs())
    values = [owner.float_metric(spec, model, data, committed_directions(spec, "0x0", "0x0", f"{nonce}/draw/{i}"))
              for i in range(draws)]
    p10, median, p90 = (float(np.percentile(values, q)) for q in (10, 50, 90))
    return MeasureResult(median, st, len(data), None, nonce, loss, exact=False, spread=(p10, p90), draws=draws)


def commit(
    model: nn.Module, data: Dataset, *, statement: Preset | str = DEFAULT_PRESET, threshold: float | None = None,
    shard_size: int | None = None, salts: Salts | ShardSalts | None = None, srs_path: str | Path | None = None,
    spec: CircuitSpec | None = None, execution: Any = None, say: Any = None,
) -> Published:
    """The commitments the owner publishes before proving, with the private salts (and, under kzg/v1, the circuit).

    poseidon/v1: the hashes of the salted data (whole, or in shards of shard_size) and model. kzg/v1: the circuit
    is sized, calibrated and set up first (its key makes the points), so T is fixed now; see zkcert.published.
    Save the result with `.save(folder)` and publish folder/commitments.json. spec: a pinned, calibrated circuit
    spec (the demo's), whose choices replace the statement's.
    """
    st = preset(statement, **choices_of(spec))
    owner.check_certifiable(model, data, st.input_scale)
    if st.commitment == KZG:
        from .proving import Execution, commit_kzg

        if threshold is None:
            raise InputError("kzg/v1 commitments are made with the circuit's key, which fixes T: give the threshold")
        ex = _with_shard_size(execution or Execution(), shard_size)
        return commit_kzg(model, data, threshold=threshold, statement=st, salts=salts, srs_path=srs_path, execution=ex,
                          spec=spec, say=say)
    c = owner.commit(model, data, shard_size=shard_size, salts=salts, input_scale=st.input_scale, scheme=st.commitment)
    return Published(c.data_commitment, c.model_commitment, c.shard_commitments if c.sharded else None, c.saved_salts())


def _with_shard_size(execution: Any, shard_size: int | None) -> Any:
    """The execution with commit's shard_size in it; both given and different is an error, not a silent choice."""
    if shard_size is None or execution.shard_size == shard_size:
        return execution
    if execution.shard_size is not None:
        raise InputError(f"shard_size {shard_size} and the execution's {execution.shard_size!r} differ: give one")
    return dataclasses.replace(execution, shard_size=shard_size)


@dataclass(frozen=True)
class AuditResult:
    """A verified certificate whose commitments and metric the auditor recomputed from the data.

    float_metric is the float directional sharpness over all data, or for a spot-check certificate
    the largest among the challenged shards (what that certificate claims).
    """

    verification: VerificationResult
    float_metric: float
    reported_float_metric: float | None

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {**self.verification.to_json(), "audited_float_metric": self.float_metric, "reported_float_metric": self.reported_float_metric}


def audit(
    folder: str | Path, model: nn.Module, data: Dataset, *, salts: Salts | ShardSalts, nonce: str | None = None,
    srs_path: str | Path | None = None, allow_untrusted_srs: bool = False, unanchored: bool = False,
) -> AuditResult:
    """Verify the certificate against commitments recomputed from the model and data, then check the recomputed float metric.

    The commitments anchor the verification; the nonce you issued must be given too (or `unanchored`,
    then the result's verification is not anchored). SRS trust is as in `verify`. The certificate is
    read once: its statement fixes how the data was committed, and the plan made from it is what the
    verification is anchored to. Under kzg/v1 the commitments need the statement's key and SRS, so the
    certificate is verified first and the recomputed points must then equal its own.
    """
    manifest = open_certificate(folder)
    st = manifest.statement
    sharded = isinstance(st, (ShardedStatement, SampledStatement))
    if sharded != isinstance(salts, ShardSalts):
        raise InputError("a sharded certificate needs the shard salts (from `zkcert commit --shard-size` or the work folder)"
                         if sharded else "a single-proof certificate needs the salts file written by `zkcert commit`")
    trust = {"srs_path": srs_path, "allow_untrusted_srs": allow_untrusted_srs, "unanchored": unanchored, "opened": manifest}
    committer = None
    if st.spec.commitment == KZG:
        # A KZG point depends on the key and the SRS, so they are checked before the auditor commits with them:
        # verify against the certificate's own commitments first, then require the recomputed ones to equal them
        # (the same outcome as anchoring to the recomputed ones, which cannot exist before the key is trusted).
        result = verify(folder, data_commitment=st.data_commitment, model_commitment=st.model_commitment, nonce=nonce, **trust)
        committer = _verified_kzg_committer(Path(folder), manifest, srs_path)
    p = plan(model, data, shard_size=st.spec.n_samples if sharded else None, nonce=st.nonce, salts=salts, spec=st.spec,
             committer=committer)
    metric = p.float_metric
    if isinstance(st, SampledStatement):
        # A spot check claims only the challenged shards: audit the worst of those.
        metric = max(shard_metrics(model, data, p, st.challenged()).values())
    c = p.committed
    if committer is None:
        result = verify(folder, data_commitment=c.data_commitment, model_commitment=c.model_commitment, nonce=nonce, **trust)
    else:
        _same_commitments(c, st.data_commitment, st.model_commitment)
    if not metric <= st.spec.threshold:
        raise VerificationError("audit-metric", f"the recomputed float metric {metric:.6g} is above the threshold {st.spec.threshold:g}")
    reported = manifest.reported.get("float_metric")
    return AuditResult(result, metric, None if reported is None else float(reported))


def _verified_kzg_committer(folder: Path, manifest: Manifest, srs_path: str | Path | None) -> Committer:
    """Commit as the prover did: under the certificate's shard key and SRS, once verify has accepted both."""
    srs = resolve_srs(0, srs_path) if srs_path is not None else srs_at_hand(folder, manifest)[0]
    if srs is None:  # verify found it a moment ago; only a file removed since gets here
        raise InputError(f"the SRS with hash {manifest.srs['sha256'][:16]}… is no longer at hand: pass it with --srs")
    spec = manifest.statement.spec
    vk = folder / form_of(manifest).circuits[0].vk_file
    return column_committer(KZG, spec.input_scale, (vk, circuit.compile_spec(spec).settings, srs.path))


def _same_commitments(recomputed: Committed, c_data: str, c_model: str) -> None:
    """The auditor's commitments are the certificate's, named by the check that fails (as verify names them)."""
    if recomputed.data_commitment != c_data.lower():
        raise VerificationError("data-commitment", f"the data and salts you gave commit to {recomputed.data_commitment}, "
                                                   f"the certificate to {c_data}")
    if recomputed.model_commitment != c_model.lower():
        raise VerificationError("model-commitment", f"the model and salts you gave commit to {recomputed.model_commitment}, "
                                                    f"the certificate to {c_model}")
