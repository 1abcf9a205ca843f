"""The owner's and auditor's entry points that are not proving or verifying: measure, commit, audit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from .certificate import Manifest
from .commitments import Commitments, Salts
from .data import Dataset
from .errors import InputError, VerificationError
from .prover import make_spec, prepare
from .statement import ShardedStatement
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

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "directional_sharpness": self.value, "epsilon": self.epsilon, "directions": self.n_directions,
            "samples": self.n_samples, "nonce": self.nonce, **self.commitments.to_json(),
        }


def measure(
    model: nn.Module, data: Dataset, *, epsilon: float = 0.125, n_directions: int = 1, nonce: str = "",
    salts: Salts | None = None, input_scale: int = 8,
) -> MeasureResult:
    """Directional sharpness (float) along the direction a certificate with these salts and nonce would use."""
    spec = make_spec(model, data, threshold=0.0, epsilon=epsilon, n_directions=n_directions, input_scale=input_scale)
    owner = prepare(model, data, spec, nonce=nonce, salts=salts)
    return MeasureResult(owner.float_metric, epsilon, n_directions, len(data), owner.commitments, nonce)


def commit(model: nn.Module, data: Dataset, *, salts: Salts | None = None, input_scale: int = 8) -> tuple[Commitments, Salts]:
    """The commitments the owner publishes before proving, and the private salts behind them."""
    spec = make_spec(model, data, threshold=0.0, epsilon=1.0, n_directions=1, input_scale=input_scale)
    owner = prepare(model, data, spec, nonce="", salts=salts)
    return owner.commitments, owner.salts


@dataclass(frozen=True)
class AuditResult:
    """A verified certificate whose commitments and metric the auditor recomputed from the data."""

    verification: VerificationResult
    float_metric: float
    reported_float_metric: float | None

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {**self.verification.to_json(), "audited_float_metric": self.float_metric, "reported_float_metric": self.reported_float_metric}


def audit(folder: str | Path, model: nn.Module, data: Dataset, *, salts: Salts, srs_path: str | Path | None = None) -> AuditResult:
    """Verify the certificate, then recompute commitments and the float metric from the model and data."""
    manifest = Manifest.load(folder)
    if isinstance(manifest.statement, ShardedStatement):
        # The per-shard salts would be needed; until audit takes them, verify with the published root.
        raise InputError("audit does not yet support sharded certificates; run `zkcert verify` with the published commitments")
    spec = manifest.statement.spec
    owner = prepare(model, data, spec, nonce=manifest.statement.nonce, salts=salts)
    result = verify(
        folder, data_commitment=owner.commitments.data, model_commitment=owner.commitments.model, srs_path=srs_path
    )
    if owner.float_metric > spec.threshold:
        raise VerificationError("audit-metric", f"the recomputed float metric {owner.float_metric:.6g} is above the threshold {spec.threshold:g}")
    reported = manifest.reported.get("float_metric")
    return AuditResult(result, owner.float_metric, None if reported is None else float(reported))
