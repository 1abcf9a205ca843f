"""The verifier: the numbered checklist of shared/PROTOCOL.md, each step with its own named failure.

The verifier trusts nothing in the certificate folder on its own say-so: the verifying key is rebuilt
from the statement's circuit spec (or matched to a fingerprint pinned in circuits/), the SRS must be
one the verifier gives (--srs: a ceremony file or one it issued), and the flag and commitments are
read from the proof's instances, never from pretty_public_inputs or the manifest. The SRS is resolved
before the key because the key depends on it.

Verification is anchored: the proof's commitments and nonce are compared with the values the owner
published and the verifier issued. Without them `verify` refuses (MissingAnchors) unless asked for an
unanchored check, whose result says which checks it could not make (`not_checked`, `anchored`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from . import _ezkl, circuit
from ._io import read_json, sha256_file
from .certificate import (
    AGGREGATE_PROOF, AGGREGATE_VK, MANIFEST, PROOF, SHARD_VK, SRS_FILE, VK, Manifest, required_files, shard_proof_name,
)
from .commitments import commit_vector, felt_hex, shard_root
from .direction import committed_directions
from .errors import CertificateError, InputError, MissingAnchors, UntrustedSrs, VerificationError, ZkcertError
from .metric import bound_coefficient
from .srs import Srs, find_srs_by_hash, resolve_srs
from .statement import CIRCUITS_DIR, SampledStatement, ShardedStatement

__all__ = [
    "CHECKS", "SHARDED_CHECKS", "SAMPLED_CHECKS", "ANCHOR_CHECKS", "VerificationResult", "verify",
    "pinned_fingerprint", "pin_fingerprint",
]

CHECKS = (
    "certificate-format",  # 1. folder complete, schema known, files match their hashes, no links
    "srs",                 # 3. (resolved first) the SRS has the manifest's hash
    "srs-trust",           # 3. the verifier gave that SRS (ceremony or verifier-issued), not the prover
    "verifying-key",       # 2. the shipped key is the one rebuilt from the spec, or pinned in circuits/
    "proof",               # 4. the proof verifies against that key
    "instances",           # 5. the instance vector has the spec's layout
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
SHARDED_CHECKS = CHECKS[:11] + ("shard-link",) + CHECKS[11:]
# A spot-check certificate proves only the challenged shards: "challenge" checks that the folder holds
# a proof for each shard the challenge recomputed from the commitments picks, and for no other.
SAMPLED_CHECKS = CHECKS[:1] + ("challenge",) + CHECKS[1:]
FINGERPRINTS = CIRCUITS_DIR / "fingerprints.json"
# A manifest is a few KB and a proof tens of KB: far larger files are refused before they are parsed.
MAX_MANIFEST_BYTES = 1 << 20
MAX_PROOF_BYTES = 64 << 20


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

    @property
    def anchored(self) -> bool:
        """True iff the commitments and nonce were compared with the published and issued values."""
        return not any(c in self.not_checked for c in ANCHOR_CHECKS)

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
            **{k: getattr(self, k) for k in ("statement", "data_commitment", "model_commitment", "threshold", "circuit_metric")},
            "checks": list(self.checks), "not_checked": list(self.not_checked), "warnings": list(self.warnings),
        }


def _fail(check: str, message: str) -> VerificationError:
    return VerificationError(check, message)


@dataclass(frozen=True)
class _Trust:
    """What the verifier gave for steps 2 and 3: its SRS (or the allowance), and the key-rebuilding limits."""

    srs_path: str | Path | None
    allow_untrusted: bool
    rebuild_key: bool
    max_logrows: int


@dataclass
class _Run:
    """One verification in progress: what it has found and the step it is at (named if anything breaks)."""

    folder: Path
    anchors: dict[str, str | None]
    warnings: list[str] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)
    step: str = "certificate-format"
    claimed_text: Any = None  # the manifest's human-readable statement, as written (checked in step 6)

    def at(self, step: str) -> None:
        self.step = step

    def result(self, checks: tuple[str, ...], statement: str, c_data: str, c_model: str, threshold: float,
               metric: float | None) -> VerificationResult:
        skipped = tuple(c for c in checks if c in self.not_checked)
        return VerificationResult(statement, c_data, c_model, threshold, metric, tuple(c for c in checks if c not in skipped),
                                  skipped, tuple(dict.fromkeys(self.warnings)))


def verify(
    folder: str | Path, *, data_commitment: str | None = None, model_commitment: str | None = None,
    nonce: str | None = None, srs_path: str | Path | None = None, allow_untrusted_srs: bool = False,
    unanchored: bool = False, rebuild_key: bool = False, max_logrows: int = 20,
) -> VerificationResult:
    """Check a certificate folder against the published commitments and the nonce you issued.

    Args:
        folder: the certificate folder.
        data_commitment, model_commitment: C_D and C_theta as the owner published them (for a sharded
            certificate C_D is the root; zkcert.api.read_published reads them from commitments.json).
        nonce: the nonce the verifier issued (the empty string if the owner was told to use none).
        srs_path: the SRS the verifier trusts: a ceremony file, or one it issued (`zkcert srs new`).
        allow_untrusted_srs: accept an SRS the verifier did not give (the prover's cached one, or one
            the certificate ships), with a warning: whoever generated it can forge proofs. Tests and demos.
        unanchored: check without the published values: the result's `anchored` is False and
            `not_checked` names what was skipped. Without it, missing values raise MissingAnchors.
        rebuild_key: rebuild the verifying key even if a fingerprint is pinned.
        max_logrows: refuse statements whose key would take more than 2**max_logrows rows to rebuild.

    Returns:
        A VerificationResult listing exactly the checks made. Raises VerificationError naming the
        failed check (UntrustedSrs for 'srs-trust', MissingAnchors for missing values).
    """
    run = _Run(Path(folder), {"data-commitment": data_commitment, "model-commitment": model_commitment, "nonce": nonce})
    if srs_path is not None and not Path(srs_path).is_file():  # the user's input, checked before the certificate's
        raise InputError(f"SRS file not found: {srs_path}")
    try:
        manifest = _open(run, unanchored)                                                         # 1
        trust = _Trust(srs_path, allow_untrusted_srs, rebuild_key, max_logrows)
        if isinstance(manifest.statement, SampledStatement):
            return _verify_sampled(run, manifest, trust)
        if isinstance(manifest.statement, ShardedStatement):
            return _verify_sharded(run, manifest, trust)
        return _verify_single(run, manifest, trust)
    except InputError as exc:  # the user's inputs were checked above: this one comes from the certificate's contents
        raise _fail(run.step, str(exc)) from None
    except ZkcertError:
        raise
    except Exception as exc:  # noqa: BLE001 - fail closed: whatever a malformed certificate breaks, name the step
        raise _fail(run.step, f"the certificate is malformed at this step (unexpected {type(exc).__name__}: {exc})") from None


def _open(run: _Run, unanchored: bool) -> Manifest:
    """Step 1, and the anchoring policy: a readable manifest whose files are exactly the kind's, unlinked and unaltered."""
    folder = run.folder
    if folder.is_dir() and (folder / MANIFEST).is_symlink():
        raise _fail("certificate-format", f"{MANIFEST} is a symbolic link: a certificate folder holds plain files")
    if (folder / MANIFEST).is_file() and (size := (folder / MANIFEST).stat().st_size) > MAX_MANIFEST_BYTES:
        raise _fail("certificate-format", f"{MANIFEST} is {size} bytes, above the {MAX_MANIFEST_BYTES}-byte limit")
    try:
        manifest = Manifest.load(folder)
        _check_file_names(manifest)
        for name in manifest.files:
            if (folder / name).is_symlink():
                raise CertificateError(f"{name} is a symbolic link: a certificate folder holds plain files")
        manifest.check_files(folder)
        run.claimed_text = read_json(folder / MANIFEST, what="manifest")["statement"].get("text")
    except (CertificateError, InputError) as exc:
        raise _fail("certificate-format", str(exc)) from None
    missing = tuple(name for name, value in run.anchors.items() if value is None)
    if missing and not unanchored:
        raise MissingAnchors(missing, (
            f"not verified: missing {', '.join(_ANCHOR_WHAT[m] for m in missing)} to check the certificate against "
            "(CLI: --published commitments.json or --data-commitment/--model-commitment, and --nonce); "
            "--unanchored checks internal consistency only"))
    run.not_checked.extend(missing)
    return manifest


_ANCHOR_WHAT = {"data-commitment": "the published data commitment", "model-commitment": "the published model commitment",
                "nonce": "the nonce you issued"}


def _check_file_names(manifest: Manifest) -> None:
    """The manifest lists exactly the files of its kind (the shipped SRS optional): nothing unbound rides along."""
    st = manifest.statement
    if isinstance(st, SampledStatement):
        allowed = {SHARD_VK, *(shard_proof_name(i) for i in range(len(st.shard_commitments)))}
    else:
        allowed = set(required_files(st))
    extra = sorted(set(manifest.files) - allowed - {SRS_FILE})
    if extra:
        raise CertificateError(f"manifest lists files this kind of certificate does not have: {extra}")
    if SRS_FILE in manifest.files and manifest.files[SRS_FILE] != manifest.srs["sha256"]:
        raise CertificateError(f"the shipped {SRS_FILE} is not the SRS the manifest names (its srs.sha256)")


def _load_proof(run: _Run, name: str) -> tuple[str, ...]:
    """The public instances of the certificate's proof file `name` (step 1: it is a well-formed proof)."""
    path = run.folder / name
    if path.is_file() and (size := path.stat().st_size) > MAX_PROOF_BYTES:
        raise _fail("certificate-format", f"{name} is {size} bytes, above the {MAX_PROOF_BYTES}-byte limit")
    try:
        return _ezkl.ProofView.from_json(read_json(path, what="proof"), what=name).instances
    except InputError as exc:
        raise _fail("certificate-format", str(exc)) from None


def _srs(run: _Run, manifest: Manifest, srs_path: str | Path | None, allow_untrusted: bool) -> Srs:
    """Step 3: the SRS has the manifest's hash ('srs') and the verifier gave it ('srs-trust')."""
    run.at("srs")
    want = manifest.srs["sha256"]
    if srs_path is not None:
        srs = resolve_srs(0, srs_path)
        if srs.sha256 != want:
            raise _fail("srs", f"the SRS you gave has hash {srs.sha256[:16]}…, the certificate was proved with {want[:16]}…")
        if manifest.srs.get("locally_generated") is True:
            run.warnings.append("the certificate says its prover generated this SRS: it is trusted only because you passed it "
                                "with --srs; pass only an SRS you issued (zkcert srs new) or a ceremony file")
        return srs
    srs = find_srs_by_hash(want)
    origin = "the prover's locally generated SRS in this machine's zkcert cache"
    shipped = run.folder / SRS_FILE
    if srs is None and SRS_FILE in manifest.files and shipped.is_file() and sha256_file(shipped) == want:
        srs, origin = Srs(shipped, want, locally_generated=True), "the SRS the certificate ships"
    if not allow_untrusted:
        found = origin if srs is not None else "no SRS given"
        raise UntrustedSrs(f"the SRS is not one you gave ({found}): whoever generated it can forge proofs; pass the SRS "
                           "you issued (zkcert srs new) or a ceremony file with --srs, or allow it for tests and demos "
                           "(--allow-untrusted-srs)")
    if srs is None:
        raise _fail("srs", f"no SRS with hash {want[:16]}… at hand; pass the SRS you issued or a ceremony file with --srs")
    run.not_checked.append("srs-trust")
    run.warnings.append(f"untrusted SRS allowed ({origin}): whoever generated it can forge proofs; for tests and demos only")
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


def _trusted_key(run: _Run, shipped_vk: Path, spec: Any, srs: Srs, rebuild: bool, max_logrows: int) -> tuple[Path, circuit.CircuitFiles]:
    """Step 2: the key rebuilt from the spec (or its pinned fingerprint) and the shipped key agree."""
    run.at("verifying-key")
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
    try:
        vk, _pk = circuit.keys_for(files, srs)
    except ZkcertError as exc:
        raise _fail("verifying-key", f"cannot build the statement's key with this SRS: {exc}") from None
    rebuilt = sha256_file(vk)
    if shipped != rebuilt:
        raise _fail("verifying-key", f"the shipped key {shipped[:16]}… is not the key rebuilt from the statement ({rebuilt[:16]}…)")
    return vk, files


def _verify_proofs(run: _Run, names: Iterable[str], files: circuit.CircuitFiles, vk: Path, srs: Srs, what: str) -> None:
    """Step 4: each named proof verifies against the key."""
    run.at("proof")
    for name in names:
        if not _ezkl.verify(run.folder / name, files.settings, vk, srs.path):
            raise _fail("proof", f"{name} does not verify against the statement's {what}")


def _check_published(run: _Run, c_data: str, c_model: str, used_nonce: str) -> None:
    """Step 5's anchors: the proof's C_D and C_theta and the certificate's nonce against the given values."""
    given = run.anchors
    run.at("data-commitment")
    if given["data-commitment"] is not None and c_data != given["data-commitment"].lower():
        raise _fail("data-commitment", f"the proof commits to data {c_data}, you published {given['data-commitment']}")
    run.at("model-commitment")
    if given["model-commitment"] is not None and c_model != given["model-commitment"].lower():
        raise _fail("model-commitment", f"the proof commits to model {c_model}, you published {given['model-commitment']}")
    run.at("nonce")
    if given["nonce"] is not None and given["nonce"] != used_nonce:
        raise _fail("nonce", f"the certificate used nonce {used_nonce!r}, you issued {given['nonce']!r}")
    run.at("direction")


def _direction_hash(spec: Any, c_model: str, c_data: str, nonce: str) -> str:
    """Poseidon hash of the direction recomputed from the seed, as the circuit hashes it."""
    r = committed_directions(spec, c_model, c_data, nonce)
    return commit_vector(r.astype(np.float64).ravel(), spec.input_scale)


def _check_text(run: _Run, statement: Any) -> None:
    """Step 6: the human-readable statement the manifest shows (if any) is the one the checked statement reads as."""
    if run.claimed_text is not None and run.claimed_text != statement.describe():
        raise _fail("statement", f"the manifest's text {str(run.claimed_text)[:80]!r} is not the statement checked: {statement.describe()!r}")


def _check_reported(manifest: Manifest, metric: float | None) -> None:
    claimed = manifest.reported.get("circuit_metric")
    if metric is None:
        if claimed is not None:  # nothing proved reveals a value (a spot check, or a hidden numerator)
            raise _fail("statement", f"the manifest reports circuit metric {claimed}, but no proof reveals one")
        return
    if isinstance(claimed, bool) or not isinstance(claimed, (int, float)) or abs(float(claimed) - metric) > 1e-9 * max(1.0, abs(metric)):
        raise _fail("statement", f"the manifest reports circuit metric {claimed}, the proof says {metric}")


def _verify_single(run: _Run, manifest: Manifest, trust: _Trust) -> VerificationResult:
    """The checklist for a single-proof certificate."""
    statement = manifest.statement
    spec = statement.spec
    run.at("certificate-format")                                                                   # 1
    inst = _load_proof(run, PROOF)
    srs = _srs(run, manifest, trust.srs_path, trust.allow_untrusted)                               # 3
    vk, files = _trusted_key(run, run.folder / VK, spec, srs, trust.rebuild_key, trust.max_logrows)  # 2
    _verify_proofs(run, [PROOF], files, vk, srs, "key")                                            # 4
    run.at("instances")                                                                            # 5
    width = 3 + len(circuit.output_names(spec))
    if len(inst) != width:
        raise _fail("instances", f"expected {width} public instances, got {len(inst)}")
    c_data, c_model, h_dir = (felt_hex(v) for v in inst[:3])
    run.at("flag")
    flag, metric = circuit.flag_and_value(spec, circuit.decode_outputs(inst[3:], files.settings_json()))
    if flag != 1.0:
        raise _fail("flag", f"the proof's flag is {flag:g}, so the bound does not hold")
    _check_published(run, c_data, c_model, statement.nonce)
    if _direction_hash(spec, c_model, c_data, statement.nonce) != h_dir:
        raise _fail("direction", "the proof's direction is not the one derived from its commitments and nonce")
    run.at("statement")                                                                            # 6
    if statement.data_commitment != c_data or statement.model_commitment != c_model:
        raise _fail("statement", "the manifest's commitments differ from the proof's instances")
    _check_text(run, statement)
    _check_reported(manifest, metric)
    return run.result(CHECKS, statement.describe(), c_data, c_model, spec.threshold, metric)


def _check_shard_instances(proofs: dict[int, tuple[str, ...]], shard_commitments: tuple[str, ...], c_model: str, h_dir: str) -> None:
    """Each shard proof commits to its listed shard, the one model, and the derived direction."""
    for i, p in proofs.items():
        c_shard, c_m, h_d = (felt_hex(v) for v in p[:3])
        if c_shard != shard_commitments[i]:
            raise _fail("data-commitment", f"shard {i}'s proof commits to data {c_shard[:12]}…, the statement lists {shard_commitments[i][:12]}… there")
        if c_m != c_model:
            raise _fail("model-commitment", f"shard {i}'s proof commits to model {c_m[:12]}…, not {c_model[:12]}…")
        if h_d != h_dir:
            raise _fail("direction", f"shard {i}'s direction is not the one derived from the commitments and nonce")


def _verify_sharded(run: _Run, manifest: Manifest, trust: _Trust) -> VerificationResult:
    """The checklist for a sharded certificate: every shard proof, the aggregation proof, and their link."""
    st: ShardedStatement = manifest.statement  # type: ignore[assignment]
    spec, agg = st.spec, st.aggregation
    n = len(st.shard_commitments)
    run.at("certificate-format")                                                                   # 1
    if not spec.shard or agg.n_shards != n:
        raise _fail("certificate-format", f"a sharded statement needs a shard circuit and {n} aggregated shards (got {agg.n_shards})")
    names = [shard_proof_name(i) for i in range(n)]
    proofs = [_load_proof(run, name) for name in names]
    agg_inst = _load_proof(run, AGGREGATE_PROOF)
    srs = _srs(run, manifest, trust.srs_path, trust.allow_untrusted)                               # 3
    vk, files = _trusted_key(run, run.folder / SHARD_VK, spec, srs, trust.rebuild_key, trust.max_logrows)  # 2
    agg_vk, agg_files = _trusted_key(run, run.folder / AGGREGATE_VK, agg, srs, trust.rebuild_key, trust.max_logrows)
    _verify_proofs(run, names, files, vk, srs, "shard key")                                        # 4
    _verify_proofs(run, [AGGREGATE_PROOF], agg_files, agg_vk, srs, "aggregation key")
    run.at("instances")                                                                            # 5
    if any(len(p) != 4 for p in proofs) or len(agg_inst) != n + len(circuit.output_names(agg)):
        raise _fail("instances", "a proof's public instances do not have the statement's layout")
    root = shard_root(st.shard_commitments)
    run.at("flag")
    flag, metric = circuit.flag_and_value(spec, circuit.decode_outputs(agg_inst[n:], agg_files.settings_json()), st.n_samples)
    if flag != 1.0:
        raise _fail("flag", f"the aggregation proof's flag is {flag:g}, so the bound does not hold")
    c_model = felt_hex(proofs[0][1])
    _check_published(run, root, c_model, st.nonce)
    _check_shard_instances(dict(enumerate(proofs)), st.shard_commitments, c_model, _direction_hash(spec, c_model, root, st.nonce))
    run.at("shard-link")
    for i, p in enumerate(proofs):
        if felt_hex(p[3]) != felt_hex(agg_inst[i]):
            raise _fail("shard-link", f"the aggregation's input {i} is not shard {i}'s hashed output")
    run.at("statement")                                                                            # 6
    shard_scale = _ezkl.settings_output_scales(files.settings_json())[0]
    if agg.input_scale != shard_scale:
        raise _fail("statement", f"the aggregation reads partials at scale {agg.input_scale}, the shards output scale {shard_scale}")
    if agg.metric != spec.metric:
        raise _fail("statement", f"the aggregation applies metric {agg.metric}, the shards compute {spec.metric}")
    expected_bound = bound_coefficient(spec.metric, spec.threshold, st.n_samples, spec.n_directions, spec.epsilon)
    if abs(agg.bound - expected_bound) > 1e-12 * max(1.0, expected_bound):
        raise _fail("statement", f"the aggregation's bound {agg.bound:g} is not the statement's {expected_bound:g} ({spec.metric})")
    if st.data_commitment != root or st.model_commitment != c_model:
        raise _fail("statement", "the manifest's commitments differ from the proofs' instances")
    _check_text(run, st)
    _check_reported(manifest, metric)
    return run.result(SHARDED_CHECKS, st.describe(), root, c_model, spec.threshold, metric)


def _verify_sampled(run: _Run, manifest: Manifest, trust: _Trust) -> VerificationResult:
    """The checklist for a spot-check certificate: the challenged shards' proofs, each with flag 1."""
    st: SampledStatement = manifest.statement  # type: ignore[assignment]
    spec = st.spec
    run.at("certificate-format")                                                                   # 1
    if spec.shard:
        raise _fail("certificate-format", "a spot-check statement proves each shard with the ordinary circuit, not a shard circuit")
    root = shard_root(st.shard_commitments)
    run.at("challenge")
    chosen = st.challenged()
    names = {i: shard_proof_name(i) for i in chosen}
    missing = [i for i, name in names.items() if name not in manifest.files]
    if missing:
        raise _fail("challenge", f"the challenge picks shards {list(chosen)}; the certificate has no proof for {missing}")
    unpicked = sorted(set(manifest.files) - set(names.values()) - {SHARD_VK, SRS_FILE})
    if unpicked:
        raise _fail("challenge", f"the challenge picks shards {list(chosen)}; the certificate also has {unpicked}")
    run.at("certificate-format")
    proofs = {i: _load_proof(run, name) for i, name in names.items()}
    srs = _srs(run, manifest, trust.srs_path, trust.allow_untrusted)                               # 3
    vk, files = _trusted_key(run, run.folder / SHARD_VK, spec, srs, trust.rebuild_key, trust.max_logrows)  # 2
    _verify_proofs(run, names.values(), files, vk, srs, "shard key")                               # 4
    run.at("instances")                                                                            # 5
    width = 3 + len(circuit.output_names(spec))
    if any(len(p) != width for p in proofs.values()):
        raise _fail("instances", f"a shard proof does not have the statement's {width} public instances")
    run.at("flag")
    settings = files.settings_json()
    for i, p in proofs.items():
        if (flag := circuit.decode_outputs(p[3:], settings)[0]) != 1.0:
            raise _fail("flag", f"challenged shard {i}'s flag is {flag:g}, so its bound does not hold")
    _check_published(run, root, st.model_commitment, st.nonce)
    _check_shard_instances(proofs, st.shard_commitments, st.model_commitment, _direction_hash(spec, st.model_commitment, root, st.nonce))
    run.at("statement")                                                                            # 6
    if st.data_commitment != root:
        raise _fail("statement", "the manifest's data commitment is not the root of its shard commitments")
    _check_text(run, st)
    _check_reported(manifest, None)
    return run.result(SAMPLED_CHECKS, st.describe(), root, st.model_commitment, spec.threshold, None)
