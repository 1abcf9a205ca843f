"""The held-out claim's statement: a frozen, versioned dataclass naming the challenge by its hash."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from ..circuit.heldout import HeldoutSpec
from ..errors import CertificateError

__all__ = ["HELDOUT", "HELDOUT_SCHEMA", "VK_FILE", "proof_name", "HeldoutStatement"]

HELDOUT = "heldout/v1"
HELDOUT_SCHEMA = "zkcert-heldout-statement/v1"
VK_FILE = "vk.key"
_HEX64 = re.compile(r"[0-9a-f]{64}")


def proof_name(index: int) -> str:
    """File name of the held-out proof over challenge block `index` (inside claims/heldout/)."""
    return f"shard-{index:04d}.proof.json"


@dataclass(frozen=True)
class HeldoutStatement:
    """The claim: the model with commitment C_theta classifies at least min_correct of the challenge's M samples correctly.

    The challenge is named by its hash; `spec` is the circuit each of the n_proofs proofs was made with, over
    consecutive blocks of spec.n_samples challenge samples (layout 3 pads the last block).
    """

    SCHEMA: ClassVar[str] = HELDOUT_SCHEMA
    spec: HeldoutSpec
    challenge_sha256: str
    n_samples: int
    min_correct: int
    model_commitment: str
    schema: str = HELDOUT_SCHEMA

    def __post_init__(self) -> None:
        if self.schema != HELDOUT_SCHEMA:
            raise CertificateError(f"held-out statement schema {self.schema!r} is not {HELDOUT_SCHEMA!r}; upgrade zkcert")
        if not (isinstance(self.challenge_sha256, str) and _HEX64.fullmatch(self.challenge_sha256)):
            raise CertificateError("held-out statement challenge_sha256 is not 64 lowercase hex digits")
        for name in ("n_samples", "min_correct"):
            if isinstance(getattr(self, name), bool) or not isinstance(getattr(self, name), int):
                raise CertificateError(f"held-out statement {name} must be an integer")
        if self.n_samples < 1 or (not self.spec.padded and self.n_samples % self.spec.n_samples):
            raise CertificateError(f"{self.n_samples} challenge samples do not split into proofs of {self.spec.n_samples}")
        if not 0 <= self.min_correct <= self.n_samples:
            raise CertificateError(f"held-out statement claims {self.min_correct} correct of {self.n_samples}")
        if not isinstance(self.model_commitment, str) or not self.model_commitment.startswith("0x"):
            raise CertificateError("held-out statement model_commitment is not 0x hex")

    @property
    def n_proofs(self) -> int:
        """How many proofs the claim has."""
        return -(-self.n_samples // self.spec.n_samples)

    def files(self) -> tuple[str, ...]:
        """The files of claims/heldout/."""
        return (VK_FILE, *(proof_name(i) for i in range(self.n_proofs)))

    def describe(self) -> str:
        """The one-line human-readable claim."""
        return (f"{HELDOUT}: at least {self.min_correct} of {self.n_samples} challenge samples (challenge "
                f"{self.challenge_sha256[:16]}…) classified correctly by model {self.model_commitment[:18]}…")

    def to_json(self) -> dict[str, Any]:
        """JSON form, with the text."""
        return {"spec": self.spec.to_json(), "challenge_sha256": self.challenge_sha256, "n_samples": self.n_samples,
                "min_correct": self.min_correct, "model_commitment": self.model_commitment, "schema": self.schema,
                "text": self.describe()}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "HeldoutStatement":
        """Parse, rejecting unknown fields; `text` is recomputed, never trusted."""
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = set(obj) - set(names) - {"text"}
        if unknown:
            raise CertificateError(f"held-out statement has unknown fields {sorted(unknown)}")
        try:
            return cls(**{**{n: obj[n] for n in names}, "spec": HeldoutSpec.from_json(obj["spec"])})
        except KeyError as exc:
            raise CertificateError(f"held-out statement lacks field {exc}") from None
