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
from typing import Any, Iterable

import numpy as np

from . import _ezkl, circuit
from ._io import read_json, sha256_file
from .certificate import AGGREGATE_PROOF, AGGREGATE_VK, PROOF, SHARD_VK, SRS_FILE, VK, Manifest, shard_proof_name
from .commitments import commit_vector, felt_hex, shard_root
from .direction import committed_directions
from .errors import CertificateError, InputError, VerificationError
from .metric import bound_coefficient
from .srs import Srs, find_srs_by_hash, resolve_srs
from .statement import CIRCUITS_DIR, SampledStatement, ShardedStatement

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
# A sharded certificate runs the same list, with the proof and instance checks done for every shard
# proof and for the aggregation proof, plus the link between them.
SHARDED_CHECKS = CHECKS[:10] + ("shard-link",) + CHECKS[10:]
# A spot-check certificate proves only the challenged shards: "challenge" checks that the folder holds
# a proof for each shard the challenge recomputed from the commitments picks.
SAMPLED_CHECKS = CHECKS[:1] + ("challenge",) + CHECKS[1:]
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


def _load_manifest(folder: Path) -> Manifest:
    try:
        manifest = Manifest.load(folder)
        manifest.check_files(folder)
    except (CertificateError, InputError) as exc:
        raise _fail("certificate-format", str(exc)) from None
    return manifest


def _load_proof(folder: Path, name: str) -> dict[str, Any]:
    try:
        proof = read_json(folder / name, what="proof")
    except InputError as exc:
        raise _fail("certificate-format", str(exc)) from None
    if not isinstance(proof, dict) or not isinstance(proof.get("instances"), list) or len(proof["instances"]) != 1:
        raise _fail("certificate-format", f"{name} has no single instance column")
    return proof


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


def _trusted_key(shipped_vk: Path, spec: Any, srs: Srs, rebuild: bool, max_logrows: int) -> tuple[Path, circuit.CircuitFiles]:
    if (spec.logrows or 0) > max_logrows:
        # Rebuilding a key costs memory exponential in logrows: a hostile spec must not exhaust the verifier.
        raise _fail("verifying-key", f"the statement needs logrows {spec.logrows}, above this verifier's limit {max_logrows}")
    shipped = sha256_file(shipped_vk)
    try:
        files = circuit.compile_spec(spec)
    except Exception as exc:  # noqa: BLE001 - any failure to rebuild means the spec is not one we can trust
        raise _fail("verifying-key", f"cannot rebuild the circuit from the statement's spec: {exc}") from None
    pinned = None if rebuild else pinned_fingerprint(spec.digest(), srs.sha256)
    if pinned is not None:
        if shipped != pinned:
            raise _fail("verifying-key", f"the shipped key {shipped[:16]}… is not the one pinned for this statement ({pinned[:16]}…)")
        return shipped_vk, files
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
    manifest = _load_manifest(folder)                                  # 1
    if isinstance(manifest.statement, SampledStatement):
        return _verify_sampled(folder, manifest, data_commitment, model_commitment, nonce, srs_path, rebuild_key, max_logrows)
    if isinstance(manifest.statement, ShardedStatement):
        return _verify_sharded(folder, manifest, data_commitment, model_commitment, nonce, srs_path, rebuild_key, max_logrows)
    proof = _load_proof(folder, PROOF)
    srs = _resolve_srs(folder, manifest, srs_path, warnings)           # 3 (needed by 2)
    vk, files = _trusted_key(folder / VK, manifest.statement.spec, srs, rebuild_key, max_logrows)  # 2
    if not _ezkl.verify(folder / PROOF, files.settings, vk, srs.path):  # 4
        raise _fail("proof", "the proof does not verify against the statement's key")
    spec, statement = manifest.statement.spec, manifest.statement      # 5
    inst = proof["instances"][0]
    width = 3 + len(circuit.output_names(spec))
    if len(inst) != width:
        raise _fail("instances", f"expected {width} public instances, got {len(inst)}")
    c_data, c_model, h_dir = (felt_hex(v) for v in inst[:3])
    flag, metric = circuit.flag_and_value(spec, circuit.decode_outputs(inst[3:], files.settings_json()))
    if flag != 1.0:
        raise _fail("flag", f"the proof's flag is {flag:g}, so the bound does not hold")
    _check_published(c_data, c_model, statement.nonce, data_commitment, model_commitment, nonce)
    if _direction_hash(spec, c_model, c_data, statement.nonce) != h_dir:
        raise _fail("direction", "the proof's direction is not the one derived from its commitments and nonce")
    if statement.data_commitment != c_data or statement.model_commitment != c_model:
        raise _fail("statement", "the manifest's commitments differ from the proof's instances")
    _check_reported(manifest, metric)
    return VerificationResult(
        statement.describe(), c_data, c_model, spec.threshold, metric, CHECKS, tuple(dict.fromkeys(warnings))
    )


def _check_published(
    c_data: str, c_model: str, used_nonce: str, data_commitment: str | None, model_commitment: str | None, nonce: str | None,
) -> None:
    if data_commitment is not None and c_data != data_commitment.lower():
        raise _fail("data-commitment", f"the proof commits to data {c_data}, you published {data_commitment}")
    if model_commitment is not None and c_model != model_commitment.lower():
        raise _fail("model-commitment", f"the proof commits to model {c_model}, you published {model_commitment}")
    if nonce is not None and nonce != used_nonce:
        raise _fail("nonce", f"the certificate used nonce {used_nonce!r}, you issued {nonce!r}")


def _direction_hash(spec: Any, c_model: str, c_data: str, nonce: str) -> str:
    """Poseidon hash of the direction recomputed from the seed, as the circuit hashes it."""
    r = committed_directions(spec, c_model, c_data, nonce)
    return commit_vector(r.astype(np.float64).ravel(), spec.input_scale)


def _check_reported(manifest: Manifest, metric: float | None) -> None:
    claimed = manifest.reported.get("circuit_metric")
    if metric is not None and (claimed is None or abs(float(claimed) - metric) > 1e-9 * max(1.0, abs(metric))):
        raise _fail("statement", f"the manifest reports circuit metric {claimed}, the proof says {metric}")


def _verify_shard_proofs(folder: Path, indices: Iterable[int], files: circuit.CircuitFiles, vk: Path, srs: Srs) -> None:
    """Each listed shard proof verifies against the statement's shard key."""
    for i in indices:
        if not _ezkl.verify(folder / shard_proof_name(i), files.settings, vk, srs.path):
            raise _fail("proof", f"shard {i}'s proof does not verify against the statement's shard key")


def _check_shard_instances(proofs: dict[int, dict[str, Any]], shard_commitments: tuple[str, ...], c_model: str, h_dir: str) -> None:
    """Each shard proof commits to its listed shard, the one model, and the derived direction."""
    for i, p in proofs.items():
        c_shard, c_m, h_d = (felt_hex(v) for v in p["instances"][0][:3])
        if c_shard != shard_commitments[i]:
            raise _fail("data-commitment", f"shard {i}'s proof commits to data {c_shard[:12]}…, the statement lists {shard_commitments[i][:12]}… there")
        if c_m != c_model:
            raise _fail("model-commitment", f"shard {i}'s proof commits to model {c_m[:12]}…, not {c_model[:12]}…")
        if h_d != h_dir:
            raise _fail("direction", f"shard {i}'s direction is not the one derived from the commitments and nonce")


def _verify_sharded(
    folder: Path, manifest: Manifest, data_commitment: str | None, model_commitment: str | None, nonce: str | None,
    srs_path: str | Path | None, rebuild_key: bool, max_logrows: int,
) -> VerificationResult:
    """The checklist for a sharded certificate: every shard proof, the aggregation proof, and their link."""
    st: ShardedStatement = manifest.statement  # type: ignore[assignment]
    spec, agg = st.spec, st.aggregation
    n = len(st.shard_commitments)
    if not spec.shard or agg.n_shards != n:                                                          # 1
        raise _fail("certificate-format", f"a sharded statement needs a shard circuit and {n} aggregated shards (got {agg.n_shards})")
    proofs = [_load_proof(folder, shard_proof_name(i)) for i in range(n)]
    agg_proof = _load_proof(folder, AGGREGATE_PROOF)
    warnings: list[str] = []
    srs = _resolve_srs(folder, manifest, srs_path, warnings)                                        # 3
    vk, files = _trusted_key(folder / SHARD_VK, spec, srs, rebuild_key, max_logrows)              # 2
    agg_vk, agg_files = _trusted_key(folder / AGGREGATE_VK, agg, srs, rebuild_key, max_logrows)
    _verify_shard_proofs(folder, range(n), files, vk, srs)                                       # 4
    if not _ezkl.verify(folder / AGGREGATE_PROOF, agg_files.settings, agg_vk, srs.path):
        raise _fail("proof", "the aggregation proof does not verify against the statement's aggregation key")
    agg_inst = agg_proof["instances"][0]                                                          # 5
    if any(len(p["instances"][0]) != 4 for p in proofs) or len(agg_inst) != n + len(circuit.output_names(agg)):
        raise _fail("instances", "a proof's public instances do not have the statement's layout")
    root = shard_root(st.shard_commitments)
    flag, metric = circuit.flag_and_value(spec, circuit.decode_outputs(agg_inst[n:], agg_files.settings_json()), st.n_samples)
    if flag != 1.0:
        raise _fail("flag", f"the aggregation proof's flag is {flag:g}, so the bound does not hold")
    c_model = felt_hex(proofs[0]["instances"][0][1])
    _check_published(root, c_model, st.nonce, data_commitment, model_commitment, nonce)
    _check_shard_instances(dict(enumerate(proofs)), st.shard_commitments, c_model, _direction_hash(spec, c_model, root, st.nonce))
    for i, p in enumerate(proofs):
        if felt_hex(p["instances"][0][3]) != felt_hex(agg_inst[i]):
            raise _fail("shard-link", f"the aggregation's input {i} is not shard {i}'s hashed output")
    shard_scale = files.settings_json()["model_output_scales"][0]
    if agg.input_scale != shard_scale:                                                             # 6
        raise _fail("statement", f"the aggregation reads partials at scale {agg.input_scale}, the shards output scale {shard_scale}")
    if agg.metric != spec.metric:
        raise _fail("statement", f"the aggregation applies metric {agg.metric}, the shards compute {spec.metric}")
    expected_bound = bound_coefficient(spec.metric, spec.threshold, st.n_samples, spec.n_directions, spec.epsilon)
    if abs(agg.bound - expected_bound) > 1e-12 * max(1.0, expected_bound):
        raise _fail("statement", f"the aggregation's bound {agg.bound:g} is not the statement's {expected_bound:g} ({spec.metric})")
    if st.data_commitment != root or st.model_commitment != c_model:
        raise _fail("statement", "the manifest's commitments differ from the proofs' instances")
    _check_reported(manifest, metric)
    return VerificationResult(st.describe(), root, c_model, spec.threshold, metric, SHARDED_CHECKS, tuple(dict.fromkeys(warnings)))


def _verify_sampled(
    folder: Path, manifest: Manifest, data_commitment: str | None, model_commitment: str | None, nonce: str | None,
    srs_path: str | Path | None, rebuild_key: bool, max_logrows: int,
) -> VerificationResult:
    """The checklist for a spot-check certificate: the challenged shards' proofs, each with flag 1."""
    st: SampledStatement = manifest.statement  # type: ignore[assignment]
    spec = st.spec
    if spec.shard:                                                                                 # 1
        raise _fail("certificate-format", "a spot-check statement proves each shard with the ordinary circuit, not a shard circuit")
    root = shard_root(st.shard_commitments)
    chosen = st.challenged()                                                                      # challenge
    missing = [i for i in chosen if shard_proof_name(i) not in manifest.files]
    if missing:
        raise _fail("challenge", f"the challenge picks shards {list(chosen)}; the certificate has no proof for {missing}")
    proofs = {i: _load_proof(folder, shard_proof_name(i)) for i in chosen}
    warnings: list[str] = []
    srs = _resolve_srs(folder, manifest, srs_path, warnings)                                        # 3
    vk, files = _trusted_key(folder / SHARD_VK, spec, srs, rebuild_key, max_logrows)              # 2
    _verify_shard_proofs(folder, chosen, files, vk, srs)                                          # 4
    width = 3 + len(circuit.output_names(spec))                                                    # 5
    if any(len(p["instances"][0]) != width for p in proofs.values()):
        raise _fail("instances", f"a shard proof does not have the statement's {width} public instances")
    settings = files.settings_json()
    for i, p in proofs.items():
        if (flag := circuit.decode_outputs(p["instances"][0][3:], settings)[0]) != 1.0:
            raise _fail("flag", f"challenged shard {i}'s flag is {flag:g}, so its bound does not hold")
    _check_published(root, st.model_commitment, st.nonce, data_commitment, model_commitment, nonce)
    _check_shard_instances(proofs, st.shard_commitments, st.model_commitment, _direction_hash(spec, st.model_commitment, root, st.nonce))
    if st.data_commitment != root:                                                                 # 6
        raise _fail("statement", "the manifest's data commitment is not the root of its shard commitments")
    return VerificationResult(st.describe(), root, st.model_commitment, spec.threshold, None, SAMPLED_CHECKS, tuple(dict.fromkeys(warnings)))
