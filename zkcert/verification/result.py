"""What verification reports: the named checks of shared/PROTOCOL.md for each certificate form, and the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..claims import ClaimResult

__all__ = ["CHECKS", "SHARDED_CHECKS", "SAMPLED_CHECKS", "ANCHOR_CHECKS", "VerificationResult"]

# In the order they run. The SRS (step 3) is settled before the key (step 2): PROTOCOL's step 2 rebuilds
# the key "with an SRS the verifier trusts", and an untrusted SRS must be refused before minutes of setup.
CHECKS = (
    "certificate-format",  # 1. folder complete, schema known, files match their hashes, no links
    "srs",                 # 3. the SRS has the manifest's hash
    "srs-trust",           # 3. the verifier gave that SRS (ceremony or verifier-issued), not the prover
    "verifying-key",       # 2. the shipped key is the one rebuilt from the spec, or pinned in circuits/
    "proof",               # 4. the proof verifies against that key
    "instances",           # 5. the instance vector has the spec's layout
    "labels",              # 5. labels_ok = 1: every committed label vector is one-hot (specs with label checks)
    "flag",                # 5. flag = 1
    "data-commitment",     # 5. C_D equals the one the owner published       (anchor)
    "model-commitment",    # 5. C_theta equals the one the owner published   (anchor)
    "nonce",               # 5. the nonce is the one the verifier issued     (anchor)
    "direction",           # 5. the direction's hash equals the one recomputed from the seed
    "statement",           # 6. the manifest's statement agrees with the instances and the key
)
# The checks that compare the certificate with values from outside it (PROTOCOL step 5's anchoring).
ANCHOR_CHECKS = ("data-commitment", "model-commitment", "nonce")
# A sharded certificate runs the same list, with the proof and instance checks done for every shard
# proof and for the aggregation proof, plus the link between them.
SHARDED_CHECKS = CHECKS[:-1] + ("shard-link",) + CHECKS[-1:]
# A spot-check certificate proves only the challenged shards: "challenge" checks that the folder holds
# a proof for each shard the challenge recomputed from the commitments picks, and for no other.
SAMPLED_CHECKS = CHECKS[:1] + ("challenge",) + CHECKS[1:]


@dataclass(frozen=True)
class VerificationResult:
    """A certificate that passed every check in `checks`; `not_checked` lists the checks it could not make.

    `anchored` is False when a published commitment or the issued nonce was not given (then the
    certificate is only internally consistent, not verified); `srs_trusted` is False when the user
    allowed an SRS that the verifier did not give.
    """

    statement: str
    data_commitment: str
    model_commitment: str
    threshold: float
    circuit_metric: float | None
    checks: tuple[str, ...]
    not_checked: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)
    # The training correct count the proofs reveal over n_samples committed samples (None: the statement
    # predates label checks, or a spot check, whose proofs cover only the challenged shards).
    train_correct: int | None = None
    n_samples: int | None = None
    # The certificate's other claims about the same committed model (zkcert.claims), each verified.
    claims: tuple[ClaimResult, ...] = ()

    def claim(self, name: str) -> ClaimResult | None:
        """The verified claim of that name ("heldout/v1"), or None if the certificate carries none."""
        return next((c for c in self.claims if c.name == name), None)

    @property
    def train_accuracy(self) -> float | None:
        """The certified training accuracy on the committed data, where the proofs reveal it."""
        return None if self.train_correct is None or not self.n_samples else self.train_correct / self.n_samples

    @property
    def anchored(self) -> bool:
        """True iff the commitments and nonce were compared with the published and issued values."""
        return not any(c in self.not_checked for c in ANCHOR_CHECKS) and all(c.anchored for c in self.claims)

    @property
    def srs_trusted(self) -> bool:
        """True iff the SRS was one the verifier gave."""
        return "srs-trust" not in self.not_checked

    @property
    def status(self) -> str:
        """"verified", or "consistent (unanchored)" when an anchor was not checked."""
        return "verified" if self.anchored else "consistent (unanchored)"

    def to_json(self) -> dict[str, Any]:
        """JSON form for `zkcert verify --json`: `ok` is true only for an anchored verification."""
        return {
            "ok": self.anchored, "status": self.status, "anchored": self.anchored, "srs_trusted": self.srs_trusted,
            **{k: getattr(self, k) for k in ("statement", "data_commitment", "model_commitment", "threshold", "circuit_metric",
                                             "train_correct", "n_samples", "train_accuracy")},
            "checks": list(self.checks), "not_checked": list(self.not_checked), "warnings": list(self.warnings),
            **({"claims": [c.to_json() for c in self.claims]} if self.claims else {}),
        }
