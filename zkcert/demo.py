"""The bundled end-to-end demo: train a small MLP on digits, commit, prove, verify, and report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from ._internal.measure import Steps
from .data import load_bundled
from .models import mlp, save_model
from .circuit import calibrate_spec
from .api import commit
from .commitments import KZG
from .owner import make_spec, plan, provisional_committer
from .preset import preset
from .proving import prove
from .spec import CircuitSpec, standard_spec
from .training import TrainConfig, accuracy, train
from .verification import VerificationResult, verify

__all__ = ["DEMO", "DemoResult", "run_demo", "calibrate_demo_spec"]

# The demo statement is circuits/demo.json: zkcert's default statement (zkcert.preset "default") for a 64-8-10
# MLP on 8 training digits, with T = 1000 (a demo threshold, not one calibrated on honest models: see the
# README). It needs logrows 18 (about 12 GiB): the default's per-parameter directions cost rows, and 16 samples
# would need logrows 19, beyond this 24 GiB machine. Pinned rather than calibrated per run so that every demo
# proves the same statement (same key); calibrate_demo_spec() rebuilds it.
DEMO: dict[str, Any] = {"spec": "demo", "hidden": [8], "samples": 8, "nonce": "zkcert-demo", "threshold": 1000.0}


@dataclass(frozen=True)
class DemoResult:
    """Everything the demo summary shows."""

    certificate: Path
    train_accuracy: float
    test_accuracy: float
    float_metric: float
    circuit_metric: float | None
    relative_gap: float | None
    threshold: float
    metric: str
    data_commitment: str
    model_commitment: str
    logrows: int | None
    verification: VerificationResult
    steps: list[dict[str, object]]
    n_samples: int

    def to_json(self) -> dict[str, Any]:
        """JSON form (`zkcert demo --json`, the demo benchmark)."""
        return {
            "certificate": str(self.certificate), "samples": self.n_samples, "logrows": self.logrows, "shards": 0,
            "train_accuracy": self.train_accuracy, "test_accuracy": self.test_accuracy, "float_metric": self.float_metric,
            "circuit_metric": self.circuit_metric, "relative_gap": self.relative_gap, "threshold": self.threshold,
            "metric": self.metric, "train_correct": self.verification.train_correct, "verification": self.verification.to_json(),
            "steps": self.steps,
        }


def _demo_model_and_data() -> tuple[torch.nn.Module, Any, Any]:
    """The demo's trained model, its certified samples and the test split (seeded, so the same every run)."""
    train_set, test_set = load_bundled("digits", "train"), load_bundled("digits", "test")
    torch.manual_seed(0)
    model = train(mlp(64, DEMO["hidden"], 10), train_set, TrainConfig(epochs=20, seed=0))
    return model, train_set, test_set


def calibrate_demo_spec(path: str | Path | None = None, *, draws: int = 4) -> CircuitSpec:
    """Maintainers: recalibrate circuits/demo.json for the default statement (writes path if given).

    Each demo run draws fresh salts, so a fresh direction: the pinned lookup ranges are the union over
    several draws, so that every run fits the pinned circuit. (The spec make_spec now gives fixes its range from
    the graph, so a rebuilt demo.json would not depend on the draws; the shipped one predates that.)
    """
    import tempfile

    model, train_set, _test = _demo_model_and_data()
    data = train_set.head(DEMO["samples"])
    spec = make_spec(model, data, threshold=DEMO["threshold"], **preset().statement_kwargs())
    # Under kzg/v1, stand-in commitments, as prove calibrates: each draw of salts gives another direction.
    committer = provisional_committer if spec.commitment == KZG else None
    inputs = [plan(model, data, spec=spec, nonce=DEMO["nonce"], committer=committer).shard_input(0) for _ in range(draws)]
    with tempfile.TemporaryDirectory() as tmp:
        spec = calibrate_spec(spec, inputs, Path(tmp))
    if path is not None:
        spec.save(path)
    return spec


def run_demo(out: str | Path = "zkcert-demo-out", *, progress: Callable[[str], None] | None = None, srs_path: str | None = None) -> DemoResult:
    """Train, prove and verify the demo statement; the certificate goes to out/certificate.

    Verification is anchored on the demo's own commitments and nonce. Without `srs_path` the demo
    proves on a locally generated SRS and verifies with `allow_untrusted_srs=True` (with a warning):
    one machine plays both parties here, and such an SRS is forgeable by whoever generated it.
    """
    say = progress or (lambda _m: None)
    out = Path(out)
    steps = Steps()
    with steps.step("train"):
        say(f"training a 64-{DEMO['hidden'][0]}-10 MLP on scikit-learn digits")
        model, train_set, test_set = _demo_model_and_data()
    save_model(model, out / "model.pt")
    data = train_set.head(DEMO["samples"])
    spec = standard_spec(DEMO["spec"])
    with steps.step("commit (owner, before the nonce)"):
        say("committing to the model and the data (published before the verifier issues its nonce)")
        published = commit(model, data, threshold=spec.threshold, srs_path=srs_path, spec=spec)
    result = prove(model, data, threshold=spec.threshold, out=out / "certificate", nonce=DEMO["nonce"], spec=spec,
                   published=published, srs_path=srs_path, say=say)
    with steps.step("verify (verifier side)"):
        say("verifying the certificate")
        # The demo plays owner and verifier in one process, so it anchors verification with the values a
        # verifier would hold: the commitments the owner published before the nonce (commitments.json in a
        # real deployment) and the nonce it issued.
        # Without --srs it proves on an SRS generated on this machine, which whoever generated it could
        # forge with; a real verifier issues the SRS (`zkcert srs new`) or uses a ceremony file. So the demo
        # allows that untrusted SRS explicitly, and the verification result carries the warning.
        verification = verify(result.certificate, data_commitment=published.data_commitment,
                              model_commitment=published.model_commitment, nonce=DEMO["nonce"], srs_path=srs_path,
                              allow_untrusted_srs=srs_path is None)
    reported = result.manifest.reported
    return DemoResult(
        certificate=result.certificate, train_accuracy=accuracy(model, train_set), test_accuracy=accuracy(model, test_set),
        float_metric=reported["float_metric"], circuit_metric=reported["circuit_metric"], relative_gap=reported["relative_gap"],
        threshold=spec.threshold, metric=spec.metric, data_commitment=verification.data_commitment, model_commitment=verification.model_commitment,
        logrows=result.manifest.statement.spec.logrows, verification=verification,
        steps=steps.to_json()[:2] + result.steps + steps.to_json()[2:], n_samples=len(data),
    )
