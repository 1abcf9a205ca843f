"""The verifier: the numbered checklist of shared/PROTOCOL.md, each step with its own named failure.

The verifier trusts nothing in the certificate folder on its own say-so: the verifying key is rebuilt
from the statement's circuit spec (or matched to a fingerprint pinned in circuits/), the SRS is
matched by hash, and the flag and commitments are read from the proof's instances, never from
pretty_public_inputs or the manifest. The SRS is resolved before the key because the key depends on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import _ezkl, circuit
from ._io import read_json, sha256_file
from .certificate import PROOF, SRS_FILE, VK, Manifest
from .commitments import commit_vector, felt_hex
from .direction import derive_seed, directions
from .errors import CertificateError, InputError, VerificationError
from .srs import Srs, find_srs_by_hash, resolve_srs
from .statement import CIRCUITS_DIR

__all__ = ["CHECKS", "VerificationResult", "verify", "pinned_fingerprint", "pin_fingerprint"]

CHECKS = (
    "certificate-format",  # 1. folder complete, schema known, files match their hashes
    "srs",                 # 3. (resolved first) an SRS with the manifest's hash is at hand
    "verifying-key",       # 2. the shipped key is the one rebuilt from the spec, or pinned in circuits/
    "proof",               # 4. the proof verifies against that key
    "instances",           # 5. the instance vector has the spec's layout
    "flag",                # 5. flag = 1
    "data-commitment",     # 5. C_D equals the one the user published
    "model-commitment",    # 5. C_theta equals the one the user published
    "nonce",               # 5. the nonce is the one the verifier issued
    "direction",           # 5. the direction's hash equals the one recomputed from the seed
    "statement",           # 6. the manifest's statement agrees with the instances and the key
)
FINGERPRINTS = CIRCUITS_DIR / "fingerprints.json"


@dataclass(frozen=True)
class VerificationResult:
    """A certificate that passed every check."""

    statement: str
    data_commitment: str
    model_commitment: str
    threshold: float
    circuit_metric: float | None
    checks: tuple[str, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        """JSON form for `zkcert verify --json`."""
        return {"ok": True, **{k: getattr(self, k) for k in self.__dataclass_fields__}, "checks": list(self.checks), "warnings": list(self.warnings)}


def _fail(check: str, message: str) -> VerificationError:
    return VerificationError(check, message)


def _load(folder: Path) -> tuple[Manifest, dict[str, Any]]:
    try:
        manifest = Manifest.load(folder)
        manifest.check_files(folder)
        proof = read_json(folder / PROOF, what="proof")
    except (CertificateError, InputError) as exc:
        raise _fail("certificate-format", str(exc)) from None
    if not isinstance(proof, dict) or not isinstance(proof.get("instances"), list) or len(proof["instances"]) != 1:
        raise _fail("certificate-format", "proof.json has no single instance column")
    return manifest, proof


def _resolve_srs(folder: Path, manifest: Manifest, srs_path: str | Path | None, warnings: list[str]) -> Srs:
    want = manifest.srs["sha256"]
    if srs_path is not None:
        srs = resolve_srs(0, srs_path)
        if srs.sha256 != want:
            raise _fail("srs", f"the SRS you gave has hash {srs.sha256[:16]}…, the certificate was proved with {want[:16]}…")
    elif (srs := find_srs_by_hash(want)) is None:
        shipped = folder / SRS_FILE
        if not shipped.is_file() or sha256_file(shipped) != want:
            raise _fail("srs", f"no SRS with hash {want[:16]}… at hand; pass the ceremony file with --srs")
        srs = Srs(shipped, want, locally_generated=True)
        warnings.append("the SRS came with the certificate: whoever generated it can forge proofs (not for production)")
    if srs.locally_generated or manifest.srs.get("locally_generated"):
        warnings.append("the SRS was generated locally (ezkl.gen_srs): fine for tests and demos, forgeable, not for production")
    return srs


def pinned_fingerprint(spec_digest: str, srs_sha256: str, path: Path | None = None) -> str | None:
    """The vk SHA-256 pinned in circuits/ for this spec and SRS, if any."""
    path = path or FINGERPRINTS
    if not path.is_file():
        return None
    table = json.loads(path.read_text())
    return table.get(spec_digest, {}).get(srs_sha256)


def pin_fingerprint(spec_digest: str, srs_sha256: str, vk_sha256: str, path: Path | None = None) -> None:
    """Record a verifying-key fingerprint (maintainers run this for standard specs and ceremony SRS files)."""
    from ._io import atomic_write_json

    path = path or FINGERPRINTS
    table = json.loads(path.read_text()) if path.is_file() else {}
    table.setdefault(spec_digest, {})[srs_sha256] = vk_sha256
    atomic_write_json(path, table)


def _trusted_key(folder: Path, manifest: Manifest, srs: Srs, rebuild: bool, max_logrows: int) -> tuple[Path, circuit.CircuitFiles]:
    spec = manifest.statement.spec
    if (spec.logrows or 0) > max_logrows:
        # Rebuilding a key costs memory exponential in logrows: a hostile spec must not exhaust the verifier.
        raise _fail("verifying-key", f"the statement needs logrows {spec.logrows}, above this verifier's limit {max_logrows}")
    shipped = sha256_file(folder / VK)
    try:
        files = circuit.compile_spec(spec)
    except Exception as exc:  # noqa: BLE001 - any failure to rebuild means the spec is not one we can trust
        raise _fail("verifying-key", f"cannot rebuild the circuit from the statement's spec: {exc}") from None
    pinned = None if rebuild else pinned_fingerprint(spec.digest(), srs.sha256)
    if pinned is not None:
        if shipped != pinned:
            raise _fail("verifying-key", f"the shipped key {shipped[:16]}… is not the one pinned for this statement ({pinned[:16]}…)")
        return folder / VK, files
    vk, _pk = circuit.keys_for(files, srs)
    rebuilt = sha256_file(vk)
    if shipped != rebuilt:
        raise _fail("verifying-key", f"the shipped key {shipped[:16]}… is not the key rebuilt from the statement ({rebuilt[:16]}…)")
    return vk, files


def verify(
    folder: str | Path, *, data_commitment: str | None = None, model_commitment: str | None = None,
    nonce: str | None = None, srs_path: str | Path | None = None, rebuild_key: bool = False, max_logrows: int = 20,
) -> VerificationResult:
    """Check a certificate folder; returns the result or raises VerificationError naming the failed check."""
    folder = Path(folder)
    warnings: list[str] = []
    manifest, proof = _load(folder)                                   # 1
    srs = _resolve_srs(folder, manifest, srs_path, warnings)           # 3 (needed by 2)
    vk, files = _trusted_key(folder, manifest, srs, rebuild_key, max_logrows)  # 2
    if not _ezkl.verify(folder / PROOF, files.settings, vk, srs.path):  # 4
        raise _fail("proof", "the proof does not verify against the statement's key")
    spec, statement = manifest.statement.spec, manifest.statement      # 5
    inst = proof["instances"][0]
    if len(inst) != 3 + (2 if spec.reveal_value else 1):
        raise _fail("instances", f"expected {3 + (2 if spec.reveal_value else 1)} public instances, got {len(inst)}")
    c_data, c_model, h_dir = (felt_hex(v) for v in inst[:3])
    scales = files.settings_json()["model_output_scales"]
    flag = _ezkl.felt_to_float(inst[3], scales[0])
    if flag != 1.0:
        raise _fail("flag", f"the proof's flag is {flag:g}, so the bound does not hold")
    if data_commitment is not None and c_data != data_commitment.lower():
        raise _fail("data-commitment", f"the proof commits to data {c_data}, you published {data_commitment}")
    if model_commitment is not None and c_model != model_commitment.lower():
        raise _fail("model-commitment", f"the proof commits to model {c_model}, you published {model_commitment}")
    if nonce is not None and nonce != statement.nonce:
        raise _fail("nonce", f"the certificate used nonce {statement.nonce!r}, you issued {nonce!r}")
    r = directions(derive_seed(c_model, c_data, statement.nonce), spec.num_params, spec.n_directions)
    if commit_vector(r.astype(np.float64).ravel(), spec.input_scale) != h_dir:
        raise _fail("direction", "the proof's direction is not the one derived from its commitments and nonce")
    metric = None                                                      # 6
    if spec.reveal_value:
        metric = _ezkl.felt_to_float(inst[4], scales[1]) / (spec.n_samples * spec.n_directions * spec.epsilon**2)
    if statement.data_commitment != c_data or statement.model_commitment != c_model:
        raise _fail("statement", "the manifest's commitments differ from the proof's instances")
    claimed = manifest.reported.get("circuit_metric")
    if metric is not None and (claimed is None or abs(float(claimed) - metric) > 1e-9 * max(1.0, abs(metric))):
        raise _fail("statement", f"the manifest reports circuit metric {claimed}, the proof says {metric}")
    return VerificationResult(
        statement.describe(), c_data, c_model, spec.threshold, metric, CHECKS, tuple(dict.fromkeys(warnings))
    )
