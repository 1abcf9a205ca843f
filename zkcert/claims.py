"""Claims: several statements about one committed model, carried by one certificate (shared/PROTOCOL.md, "Claims").

The sharpness statement is the certificate's main statement (its manifest's `statement`); every other claim
is a ClaimEntry in the manifest's optional `claims` list, with its proofs and keys in the certificate folder
under `claims/<kind>/` (for "heldout/v1": `claims/heldout/`), hashed in the manifest's `files` like every
other file. A certificate without claims has no `claims` field, so older certificates read and verify as
before; an older zkcert refuses a certificate with claims ("unknown fields"), failing closed.

A claim kind is one object satisfying the Claim protocol, registered under its versioned name:
  - `name` ("heldout/v1") and `checks`, the names of its verification checks in the order they run
    (each prefixed with the kind, e.g. "heldout-proof"); a failure raises VerificationError(check, ...);
  - `read(statement)`: parse and check the entry's statement JSON (CertificateError if malformed) and return
    the file names (inside the claim's folder) the certificate must hold for it;
  - `anchor_hint`: what the verifier must give for the claim to be anchored (None: the claim needs nothing
    beyond the sharpness anchors); `verify(ctx, entry, anchor)` -> ClaimResult.
The binding rule every claim shares is here, once: `bind_model` checks that a claim proof's model
commitment is the C_theta of the sharpness proofs AND that the claim's circuit reads that column as the same
model (same architecture, fixed-point scale and commitment scheme, and under kzg/v1 the same logrows, since a
KZG point depends on the circuit's domain); `bind_data` does the same for C_D (claims over the training data).

Extension points, for a new claim kind (issue 24's "resilience/v1", say):
  1. a module with the kind's statement (frozen, versioned dataclass), circuit (its own spec class with
     `export_onnx(path)`, which zkcert.circuit.compile_spec and calibrate_spec call instead of the sharpness
     graph's export) and a `CLAIM` object implementing Claim;
  2. its name and module in _BUILTIN below (looked up lazily, so zkcert.claims imports no claim module);
  3. an owner-side ClaimJob: `name` and `prove(ctx: ProverContext) -> ClaimProof`, passed to
     zkcert.proving.prove(..., claims=[job]) (run after the sharpness proofs, before the certificate is written),
     or to `attach` to add the claim to a certificate that exists;
  4. the verifier's anchor for it, passed as verify(..., claims={name: anchor}).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, Sequence

from .errors import CertificateError, MissingAnchors, VerificationError

if TYPE_CHECKING:  # annotations only: claims.py is imported by certificate.py and must not import it back
    from torch import nn

    from .certificate import Manifest
    from .commitments import Column
    from .spec import CircuitSpec
    from .srs import Srs

__all__ = [
    "CLAIMS_DIR", "ClaimEntry", "ClaimResult", "Claim", "ClaimContext", "ProverContext", "ClaimProof", "ClaimJob",
    "claim_named", "known_claims", "claim_folder", "is_claim_file", "check_entries", "require_claim_anchors",
    "verify_claims", "bind_model", "bind_data", "same_model_layout", "attach", "proof_workers", "prove_jobs",
]

CLAIMS_DIR = "claims"
# Claim kinds zkcert knows, and the module that defines each one's CLAIM (imported on first use).
_BUILTIN = {"heldout/v1": "zkcert.heldout", "resilience/v1": "zkcert.resilience"}
_NAME = re.compile(r"([a-z][a-z0-9-]*)/v[0-9]+")
_FILE = re.compile(r"claims/[a-z][a-z0-9-]*/[A-Za-z0-9_-][A-Za-z0-9._-]*")


def claim_folder(name: str) -> str:
    """The folder, inside the certificate, of a claim's files: claims/<kind> ("heldout/v1" -> claims/heldout)."""
    match = _NAME.fullmatch(name)
    if match is None:
        raise CertificateError(f"claim name {name!r} is not <kind>/v<version>")
    return f"{CLAIMS_DIR}/{match.group(1)}"


def is_claim_file(name: str) -> bool:
    """Whether a listed file name is a plain file directly inside one claim's folder (no '..', no hidden names)."""
    return _FILE.fullmatch(name) is not None


@dataclass(frozen=True)
class ClaimEntry:
    """One claim as the manifest lists it: its versioned name, its statement (the kind parses it) and the prover's report."""

    name: str
    statement: dict[str, Any]
    reported: dict[str, Any] = field(default_factory=dict)

    @property
    def folder(self) -> str:
        """Where its files are, inside the certificate folder."""
        return claim_folder(self.name)

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"name": self.name, "statement": self.statement, "reported": self.reported}

    @classmethod
    def from_json(cls, obj: Any) -> "ClaimEntry":
        """Parse, rejecting unknown fields."""
        if not isinstance(obj, dict) or set(obj) - {"name", "statement", "reported"}:
            raise CertificateError("a manifest claim must be an object with name, statement and reported")
        if not isinstance(obj.get("name"), str) or not isinstance(obj.get("statement"), dict):
            raise CertificateError("a manifest claim lacks its name or statement")
        return cls(obj["name"], dict(obj["statement"]), dict(obj.get("reported") or {}))


@dataclass(frozen=True)
class ClaimResult:
    """A verified claim: its name, the checks it passed, those it could not make, and what it certifies (values)."""

    name: str
    text: str
    checks: tuple[str, ...]
    not_checked: tuple[str, ...] = ()
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def anchored(self) -> bool:
        """True iff nothing was left unchecked for want of the verifier's anchor."""
        return not self.not_checked

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"name": self.name, "text": self.text, "checks": list(self.checks), "not_checked": list(self.not_checked),
                "anchored": self.anchored, **self.values}


@dataclass(frozen=True)
class ClaimContext:
    """What the verifier established before the claims: the sharpness proofs' commitments, spec, SRS and trust.

    `run` is zkcert.verification.steps.Run (its `at` names the step an unexpected error is reported under);
    `trust` its Trust. `train_correct` / `n_samples`: the certified training count, where revealed.
    """

    run: Any
    folder: Path
    spec: "CircuitSpec"
    model_commitment: str
    data_commitment: str
    srs: "Srs"
    trust: Any
    train_correct: int | None = None
    n_samples: int | None = None


class Claim(Protocol):
    """A claim kind (see the module docstring)."""

    name: str
    checks: tuple[str, ...]
    anchor_hint: str | None

    def read(self, statement: dict[str, Any]) -> tuple[str, ...]:
        """Check the statement JSON (CertificateError if malformed); the file names its folder must hold."""

    def verify(self, ctx: ClaimContext, entry: ClaimEntry, anchor: Any | None) -> ClaimResult:
        """Run the claim's checks in order; VerificationError naming the failed one."""


def claim_named(name: str) -> Claim:
    """The registered claim kind of that name; CertificateError for one this zkcert does not know."""
    module = _BUILTIN.get(name)
    if module is None:
        raise CertificateError(f"unknown claim {name!r} (known: {', '.join(sorted(_BUILTIN))}); upgrade zkcert")
    claim = importlib.import_module(module).CLAIM
    if claim.name != name:
        raise CertificateError(f"{module} defines claim {claim.name!r}, not {name!r}")
    return claim


def known_claims() -> tuple[str, ...]:
    """The claim names this zkcert verifies."""
    return tuple(sorted(_BUILTIN))


def check_entries(entries: Sequence[ClaimEntry], files: Mapping[str, str]) -> frozenset[str]:
    """The manifest's claims are known, distinct, well formed, and each has its files listed; returns all claim files."""
    seen: set[str] = set()
    owned: set[str] = set()
    for entry in entries:
        if claim_folder(entry.name) in seen:
            raise CertificateError(f"the manifest lists claim kind {entry.folder!r} twice")
        seen.add(entry.folder)
        needed = {f"{entry.folder}/{n}" for n in claim_named(entry.name).read(entry.statement)}
        missing = sorted(needed - set(files))
        if missing:
            raise CertificateError(f"manifest lists no {', '.join(missing)} for claim {entry.name}")
        owned |= {n for n in files if n.startswith(entry.folder + "/")}
    return frozenset(owned)


def require_claim_anchors(entries: Sequence[ClaimEntry], anchors: Mapping[str, Any], unanchored: bool) -> list[str]:
    """The anchors the verifier gave fit the claims: none for a claim the certificate lacks ('claims'); a claim that
    needs one and has none refuses (MissingAnchors) unless unanchored. Returns the claims left unanchored."""
    names = {e.name for e in entries}
    extra = sorted(set(anchors) - names)
    if extra:
        raise VerificationError("claims", f"you gave {', '.join(extra)} to check, but the certificate carries no such claim "
                                          f"(it carries: {', '.join(sorted(names)) or 'none'})")
    missing = [e.name for e in entries if claim_named(e.name).anchor_hint and anchors.get(e.name) is None]
    if missing and not unanchored:
        hints = "; ".join(f"{n}: {claim_named(n).anchor_hint}" for n in missing)
        raise MissingAnchors(tuple(missing), f"not verified: the certificate carries claims you gave nothing to check "
                                             f"against ({hints}); --unanchored checks internal consistency only")
    return missing


def verify_claims(ctx: ClaimContext, entries: Sequence[ClaimEntry], anchors: Mapping[str, Any]) -> tuple[ClaimResult, ...]:
    """Each claim's checks, in the manifest's order (require_claim_anchors has settled which anchors exist)."""
    return tuple(claim_named(e.name).verify(ctx, e, anchors.get(e.name)) for e in entries)


def same_model_layout(spec: "CircuitSpec", claim_spec: Any) -> list[str]:
    """How a claim circuit would read the model column differently from the sharpness circuit (empty: the same).

    Equal commitments bind the same field elements; they are the same model only if both circuits cut them into
    the same layers at the same scale. Under kzg/v1 the point also depends on the circuit's domain (logrows).
    """
    differ = []
    for name in ("layers", "num_params", "input_scale", "commitment", "salted"):
        if getattr(spec, name) != getattr(claim_spec, name):
            differ.append(f"{name} {getattr(claim_spec, name)!r} (sharpness circuit: {getattr(spec, name)!r})")
    if spec.commitment == "kzg/v1" and spec.logrows != claim_spec.logrows:
        differ.append(f"logrows {claim_spec.logrows} (sharpness circuit: {spec.logrows}; a KZG point depends on it)")
    return differ


def bind_model(ctx: ClaimContext, check: str, proof: str, got: str, claim_spec: Any) -> None:
    """A claim proof is about the sharpness proofs' model: the same C_theta, read as the same model ('<check>')."""
    ctx.run.at(check)
    if got != ctx.model_commitment:
        raise VerificationError(check, f"{proof} commits to model {got[:18]}…, the sharpness proofs to {ctx.model_commitment[:18]}…")
    differ = same_model_layout(ctx.spec, claim_spec)
    if differ:
        raise VerificationError(check, f"{proof}'s circuit reads the committed model differently: {'; '.join(differ)}")


def bind_data(ctx: ClaimContext, check: str, proof: str, got: str, listed: str | None = None) -> None:
    """A claim proof over the training data commits to C_D (or to the listed shard commitment) ('<check>')."""
    ctx.run.at(check)
    want = listed or ctx.data_commitment
    if got != want:
        raise VerificationError(check, f"{proof} commits to data {got[:18]}…, the certificate to {want[:18]}…")


# --- the owner's side ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProverContext:
    """What a claim's prover gets: the model, its committed column and C_theta, the sharpness circuit and SRS.

    `steps` is zkcert._internal.measure.Steps (time each step), `say` reports progress, `tick(done, total)` counts proofs.
    `workers` and `max_memory_gb` are the Execution's: how many claim proofs may run at once.
    """

    model: "nn.Module"
    model_vec: "Column"
    model_commitment: str
    spec: "CircuitSpec"
    srs: "Srs"
    srs_path: str | Path | None
    tmpdir: Path
    steps: Any
    say: Callable[[str], None] = lambda _m: None
    tick: Callable[[int, int], None] = lambda _d, _t: None
    # For claims over the committed training data (resilience/v1): its columns and commitments
    # (zkcert.owner.Committed) and the nonce the directions were derived with.
    committed: Any = None
    nonce: str | None = None
    # How many of a claim's proofs run at once (zkcert.proving.executor.claim_workers): None chooses by cores and
    # the memory budget, which is the Execution's.
    workers: int | None = None
    max_memory_gb: float = 12.0


def proof_workers(spec: Any, proofs: int, requested: int | None, budget_gb: float) -> int:
    """How many of a claim's `proofs` of this circuit run at once: `requested`, else as the cores and the budget
    hold; never more than there are proofs."""
    from .proving.executor import claim_workers
    from .proving.sizing import peak_gb

    peak = peak_gb(spec.logrows or 0, spec.commitment, int(spec.run_args.get("num_inner_cols", 2)))
    return min(proofs, claim_workers(requested, peak, budget_gb))


def prove_jobs(ctx: ProverContext, jobs: Sequence[Any], spec: Any) -> None:
    """Prove a claim's zkcert.proving.executor.FileJobs, as many at once as the cores and ctx's memory budget hold
    (claim_workers, with spec's logrows, commitment and columns), ticking ctx as each finishes."""
    from .proving.executor import prove_files, run_jobs  # here: zkcert.proving imports this module

    workers = proof_workers(spec, len(jobs), ctx.workers, ctx.max_memory_gb)
    ctx.tick(0, len(jobs))
    for done, _index in enumerate(run_jobs(list(jobs), workers=workers, fn=prove_files, one_per_process=False), 1):
        ctx.tick(done, len(jobs))


@dataclass(frozen=True)
class ClaimProof:
    """A proved claim: its manifest entry and its files (names inside the claim's folder -> where they are now)."""

    entry: ClaimEntry
    files: dict[str, Path]

    def payload(self) -> dict[str, Path]:
        """The files as the certificate lists them (claims/<kind>/<name>)."""
        return {f"{self.entry.folder}/{name}": path for name, path in self.files.items()}


class ClaimJob(Protocol):
    """An owner-side claim to prove; its inputs were checked when it was made (bad input: one line, nothing proved)."""

    name: str

    def prove(self, ctx: ProverContext) -> ClaimProof:
        """Prove the claim about ctx's committed model."""


def attach(folder: str | Path, proofs: Sequence[ClaimProof]) -> "Manifest":
    """Add proved claims to an existing certificate folder (replacing claims of the same kind), atomically."""
    import dataclasses

    from .certificate import Manifest, write_certificate

    folder = Path(folder)
    old = Manifest.load(folder)
    kinds = {p.entry.folder for p in proofs}
    keep = [e for e in old.claims if e.folder not in kinds]
    files = {n: folder / n for n in old.files if not any(n.startswith(k + "/") for k in kinds)}
    for p in proofs:
        files.update(p.payload())
    entries = tuple(keep) + tuple(p.entry for p in proofs)
    write_certificate(folder, files, lambda hashes: dataclasses.replace(old, files=hashes, claims=entries))
    return Manifest.load(folder)
