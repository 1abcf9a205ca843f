"""The bundled end-to-end demo: train a small MLP on digits, commit, prove, verify, and report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from ._measure import Steps
from .data import load_bundled
from .models import mlp, save_model
from .prover import prove
from .statement import standard_spec
from .training import TrainConfig, accuracy, train
from .verifier import VerificationResult, verify

__all__ = ["DEMO", "DemoResult", "run_demo"]

# The demo statement is circuits/demo.json: a 64-8-10 MLP on 16 training digits, eps = 1/8 (exact in
# fixed point), K = 1, T = 40, input scale 2**8, logrows 17 (about 6 GB, a few minutes on 2 cores).
# Pinned rather than calibrated per run so that every demo proves the same statement (same key).
DEMO: dict[str, Any] = {"spec": "demo", "hidden": [8], "samples": 16, "nonce": "zkcert-demo"}


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
    data_commitment: str
    model_commitment: str
    logrows: int | None
    verification: VerificationResult
    steps: list[dict[str, object]]


def run_demo(out: str | Path = "zkcert-demo-out", *, progress: Callable[[str], None] | None = None, srs_path: str | None = None) -> DemoResult:
    """Train, prove and verify the demo statement; the certificate goes to out/certificate.

    Verification is anchored on the demo's own commitments and nonce. Without `srs_path` the demo
    proves on a locally generated SRS and verifies with `allow_untrusted_srs=True` (with a warning):
    one machine plays both parties here, and such an SRS is forgeable by whoever generated it.
    """
    say = progress or (lambda _m: None)
    out = Path(out)
    steps = Steps()
    train_set, test_set = load_bundled("digits", "train"), load_bundled("digits", "test")
    with steps.step("train"):
        say("training a 64-8-10 MLP on scikit-learn digits")
        torch.manual_seed(0)
        model = train(mlp(64, DEMO["hidden"], 10), train_set, TrainConfig(epochs=20, seed=0))
    save_model(model, out / "model.pt")
    data = train_set.head(DEMO["samples"])
    spec = standard_spec(DEMO["spec"])
    result = prove(
        model, data, threshold=spec.threshold, out=out / "certificate", nonce=DEMO["nonce"], spec=spec,
        srs_path=srs_path, progress=say,
    )
    with steps.step("verify (verifier side)"):
        say("verifying the certificate")
        # The demo plays owner and verifier in one process, so it anchors verification with the values a
        # verifier would hold: the commitments the owner published (the prover's own result, which in a
        # real deployment is commitments.json, published before the nonce) and the nonce it issued.
        # Without --srs it proves on an SRS generated on this machine, which whoever generated it could
        # forge with; a real verifier issues the SRS (`zkcert srs new`) or uses a ceremony file. So the demo
        # allows that untrusted SRS explicitly, and the verification result carries the warning.
        published = result.manifest.statement
        verification = verify(result.certificate, data_commitment=published.data_commitment,
                              model_commitment=published.model_commitment, nonce=DEMO["nonce"], srs_path=srs_path,
                              allow_untrusted_srs=srs_path is None)
    reported = result.manifest.reported
    return DemoResult(
        certificate=result.certificate, train_accuracy=accuracy(model, train_set), test_accuracy=accuracy(model, test_set),
        float_metric=reported["float_metric"], circuit_metric=reported["circuit_metric"], relative_gap=reported["relative_gap"],
        threshold=spec.threshold, data_commitment=verification.data_commitment, model_commitment=verification.model_commitment,
        logrows=result.manifest.statement.spec.logrows, verification=verification,
        steps=steps.to_json()[:1] + result.steps + steps.to_json()[1:],
    )
