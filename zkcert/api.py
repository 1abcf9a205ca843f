"""The owner's and auditor's entry points that are not proving or verifying: measure, commit, audit,
and the published-commitments file (commitments.json) that anchors a verification."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from . import circuit, owner
from ._internal.io import read_json
from .certificate import Manifest
from .commitments import KZG, Commitments, Salts, ShardSalts, column_committer, shard_root
from .data import Dataset
from .direction import DEFAULT_FAMILY
from .errors import InputError, VerificationError
from .metric import DEFAULT_METRIC, mean_loss
from .owner import Committed, Committer, plan, shard_metrics
from .spec import DEFAULT_DIRECTIONS, DEFAULT_EPSILON, DEFAULT_INPUT_SCALE
from .srs import resolve_srs
from .statement import SampledStatement, ShardedStatement
from .verification import VerificationResult, open_certificate, verify
from .verification.forms import form_of
from .verification.steps import srs_at_hand

__all__ = ["MeasureResult", "measure", "commit", "AuditResult", "audit", "PUBLISHED_SCHEMA", "published_json", "read_published"]

# The file `zkcert commit` writes for the owner to publish before proving: everything a verifier needs
# besides the nonce it issues (and the SRS it trusts).
PUBLISHED_SCHEMA = "zkcert-commitments/v1"


@dataclass(frozen=True)
class MeasureResult:
    """The float metric on the committed direction, and what it was computed from."""

    value: float
    epsilon: float
    n_directions: int
    n_samples: int
    commitments: Commitments
    nonce: str
    metric: str
    direction: str
    mean_loss: float

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "value": self.value, "metric": self.metric, "direction": self.direction, "epsilon": self.epsilon,
            "directions": self.n_directions, "samples": self.n_samples, "nonce": self.nonce,
            "mean_training_loss": self.mean_loss, **self.commitments.to_json(),
        }


def measure(
    model: nn.Module, data: Dataset, *, epsilon: float = DEFAULT_EPSILON, n_directions: int = DEFAULT_DIRECTIONS, nonce: str = "",
    salts: Salts | ShardSalts | None = None, input_scale: int = DEFAULT_INPUT_SCALE, metric: str = DEFAULT_METRIC,
    direction: str = DEFAULT_FAMILY, shard_size: int | None = None,
) -> MeasureResult:
    """The metric (float) along the direction a certificate with these salts and nonce would use."""
    p = plan(model, data, epsilon=epsilon, n_directions=n_directions, nonce=nonce, salts=salts, input_scale=input_scale,
             metric=metric, direction=direction, shard_size=shard_size)
    return MeasureResult(p.float_metric, epsilon, n_directions, len(data), p.committed.commitments, nonce, metric, direction,
                         mean_loss(model, data))


def commit(
    model: nn.Module, data: Dataset, *, shard_size: int | None = None, salts: Salts | ShardSalts | None = None,
    input_scale: int = DEFAULT_INPUT_SCALE,
) -> Committed:
    """The commitments the owner publishes before proving (whole data, or in shards) and the private salts behind them."""
    return owner.commit(model, data, shard_size=shard_size, salts=salts, input_scale=input_scale)


def published_json(data_commitment: str, model_commitment: str, shard_commitments: tuple[str, ...] | list[str] | None = None) -> dict[str, Any]:
    """The published-commitments document: C_D (for shards, the root over shard_commitments) and C_theta."""
    doc: dict[str, Any] = {"schema": PUBLISHED_SCHEMA, "data_commitment": data_commitment, "model_commitment": model_commitment}
    if shard_commitments is not None:
        doc["shard_commitments"] = list(shard_commitments)
    return doc


def read_published(path: str | Path) -> dict[str, str]:
    """The anchors in a published commitments.json, as keyword arguments of `verify`.

    Use: ``zkcert.verification(cert, **read_published("pub/commitments.json"), nonce=issued, srs_path="verifier.srs")``.
    Raises InputError if the file is not one `zkcert commit` writes (a listed shard set must hash to
    the published root). Files written before the schema field existed are read too.
    """
    doc = read_json(path, what="published commitments file")
    if not isinstance(doc, dict):
        raise InputError(f"{path} is not a published commitments file (expected a JSON object)")
    if doc.get("schema", PUBLISHED_SCHEMA) != PUBLISHED_SCHEMA:
        raise InputError(f"{path} has schema {doc.get('schema')!r}, not {PUBLISHED_SCHEMA!r}; upgrade zkcert")
    unknown = set(doc) - {"schema", "data_commitment", "model_commitment", "shard_commitments"}
    if unknown:
        raise InputError(f"{path} has unknown fields {sorted(unknown)}")
    anchors = {k: doc.get(k) for k in ("data_commitment", "model_commitment")}
    bad = [k for k, v in anchors.items() if not isinstance(v, str) or not v.startswith("0x")]
    if bad:
        raise InputError(f"{path} lacks a 0x-hex {' and '.join(bad)}")
    shards = doc.get("shard_commitments")
    if shards is not None:
        if not isinstance(shards, list) or not all(isinstance(c, str) and c.startswith("0x") for c in shards):
            raise InputError(f"{path}'s shard_commitments is not a list of 0x-hex commitments")
        try:
            root = shard_root(shards)
        except ValueError:
            raise InputError(f"{path}'s shard_commitments are not hex") from None
        if root != anchors["data_commitment"].lower():
            raise InputError(f"{path}'s data_commitment is not the root of its shard_commitments")
    return anchors  # type: ignore[return-value]


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
