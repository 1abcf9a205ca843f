"""The owner's and auditor's entry points that are not proving or verifying: measure, commit, audit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from .certificate import Manifest
from .commitments import Commitments, Salts
from .data import Dataset
from .direction import DEFAULT_FAMILY
from .errors import InputError, VerificationError
from .metric import DEFAULT_METRIC, mean_loss
from .prover import make_spec, prepare
from .shards import ShardSalts, plan_shards, shard_float_metrics
from .statement import DEFAULT_INPUT_SCALE, SampledStatement, ShardedStatement
from .verifier import VerificationResult, verify

__all__ = ["MeasureResult", "measure", "commit", "AuditResult", "audit"]


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
    model: nn.Module, data: Dataset, *, epsilon: float = 0.125, n_directions: int = 1, nonce: str = "",
    salts: Salts | None = None, input_scale: int = DEFAULT_INPUT_SCALE, metric: str = DEFAULT_METRIC, direction: str = DEFAULT_FAMILY,
) -> MeasureResult:
    """The metric (float) along the direction a certificate with these salts and nonce would use."""
    spec = make_spec(model, data, threshold=0.0, epsilon=epsilon, n_directions=n_directions, input_scale=input_scale,
                     metric=metric, direction=direction)
    owner = prepare(model, data, spec, nonce=nonce, salts=salts)
    return MeasureResult(owner.float_metric, epsilon, n_directions, len(data), owner.commitments, nonce, metric, direction,
                         mean_loss(model, data))


def commit(model: nn.Module, data: Dataset, *, salts: Salts | None = None, input_scale: int = DEFAULT_INPUT_SCALE) -> tuple[Commitments, Salts]:
    """The commitments the owner publishes before proving, and the private salts behind them."""
    spec = make_spec(model, data, threshold=0.0, epsilon=1.0, n_directions=1, input_scale=input_scale)
    owner = prepare(model, data, spec, nonce="", salts=salts)
    return owner.commitments, owner.salts


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
    folder: str | Path, model: nn.Module, data: Dataset, *, salts: "Salts | ShardSalts", srs_path: str | Path | None = None,
) -> AuditResult:
    """Verify the certificate, then recompute commitments and the float metric from the model and data."""
    manifest = Manifest.load(folder)
    statement = manifest.statement
    spec = statement.spec
    if isinstance(statement, (ShardedStatement, SampledStatement)):
        if not isinstance(salts, ShardSalts):
            raise InputError("a sharded certificate needs the shard salts (from `zkcert commit --shard-size` or the work folder)")
        plan = plan_shards(model, data, shard_size=spec.n_samples, threshold=spec.threshold, epsilon=spec.epsilon,
                           n_directions=spec.n_directions, nonce=statement.nonce, input_scale=spec.input_scale, salts=salts,
                           metric=spec.metric, direction=spec.direction)
        c_data, c_model, metric = plan.data_commitment, plan.model_commitment, plan.float_metric
        if isinstance(statement, SampledStatement):
            # A spot check claims only the challenged shards: audit the worst of those.
            metric = max(shard_float_metrics(model, data, plan, statement.challenged()).values())
    else:
        if not isinstance(salts, Salts):
            raise InputError("a single-proof certificate needs the salts file written by `zkcert commit`")
        owner = prepare(model, data, spec, nonce=statement.nonce, salts=salts)
        c_data, c_model, metric = owner.commitments.data, owner.commitments.model, owner.float_metric
    result = verify(folder, data_commitment=c_data, model_commitment=c_model, srs_path=srs_path)
    if metric > spec.threshold:
        raise VerificationError("audit-metric", f"the recomputed float metric {metric:.6g} is above the threshold {spec.threshold:g}")
    reported = manifest.reported.get("float_metric")
    return AuditResult(result, metric, None if reported is None else float(reported))
