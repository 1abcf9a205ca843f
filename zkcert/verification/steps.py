"""The verifier's steps, each once, each raising VerificationError with its check's name (shared/PROTOCOL.md).

The verifier trusts nothing in the certificate folder on its own say-so: the verifying key is rebuilt
from the statement's circuit spec (or matched to a fingerprint pinned in circuits/), the SRS must be
one the verifier gives (--srs: a ceremony file or one it issued), and the flag and commitments are
read from the proof's instances, never from pretty_public_inputs or the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .. import circuit
from .._internal import ezkl as _ezkl
from .._internal.io import read_json, sha256_file
from ..certificate import MANIFEST, SRS_FILE, Manifest
from ..claims import ClaimResult
from ..commitments import column_committer, direction_column
from ..direction import committed_directions
from ..errors import CertificateError, InputError, MissingAnchors, UntrustedSrs, VerificationError, ZkcertError
from ..spec import AnySpec, CircuitSpec
from ..srs import Srs, find_srs_by_hash, resolve_srs
from .fingerprints import pinned_fingerprint
from .result import VerificationResult

__all__ = [
    "MAX_MANIFEST_BYTES", "MAX_PROOF_BYTES", "Run", "Trust", "fail", "open_certificate", "require_anchors", "load_proof",
    "srs_at_hand", "trusted_srs", "trusted_key", "verify_proofs", "instances", "check_anchors", "check_proof_inputs", "direction_hash",
    "check_text", "check_outputs", "check_reported",
]

# A manifest is a few KB and a proof tens of KB: far larger files are refused before they are parsed.
MAX_MANIFEST_BYTES = 1 << 20
MAX_PROOF_BYTES = 64 << 20
_ANCHOR_WHAT = {"data-commitment": "the published data commitment", "model-commitment": "the published model commitment",
                "nonce": "the nonce you issued"}


def fail(check: str, message: str) -> VerificationError:
    """The failure of one named check."""
    return VerificationError(check, message)


@dataclass(frozen=True)
class Trust:
    """What the verifier gave for steps 2 and 3: its SRS (or the allowance), and the key-rebuilding limits."""

    srs_path: str | Path | None
    allow_untrusted: bool
    rebuild_key: bool
    max_logrows: int


@dataclass
class Run:
    """One verification in progress: what it has found and the step it is at (named if anything breaks)."""

    folder: Path
    anchors: dict[str, str | None]
    warnings: list[str] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)
    step: str = "certificate-format"

    def at(self, step: str) -> None:
        """Enter a step: an unexpected error from here on is reported under its name."""
        self.step = step

    def result(self, checks: tuple[str, ...], statement: str, c_data: str, c_model: str, threshold: float,
               metric: float | None, correct: int | None = None, n_samples: int | None = None,
               claims: tuple[ClaimResult, ...] = ()) -> VerificationResult:
        """The result listing the checks made and those skipped (a claim's own checks follow the sharpness ones)."""
        skipped = tuple(c for c in checks if c in self.not_checked)
        made = tuple(c for c in checks if c not in skipped) + (("claims",) if claims else ())
        made += tuple(c for claim in claims for c in claim.checks)
        skipped += tuple(c for claim in claims for c in claim.not_checked)
        return VerificationResult(statement, c_data, c_model, threshold, metric, made, skipped,
                                  tuple(dict.fromkeys(self.warnings)), correct, n_samples, claims)


def open_certificate(folder: str | Path) -> Manifest:
    """Step 1: a readable manifest of bounded size, whose listed files are plain, present and unaltered."""
    folder = Path(folder)
    manifest_file = folder / MANIFEST
    if folder.is_dir() and manifest_file.is_symlink():
        raise fail("certificate-format", f"{MANIFEST} is a symbolic link: a certificate folder holds plain files")
    if manifest_file.is_file() and (size := manifest_file.stat().st_size) > MAX_MANIFEST_BYTES:
        raise fail("certificate-format", f"{MANIFEST} is {size} bytes, above the {MAX_MANIFEST_BYTES}-byte limit")
    try:
        manifest = Manifest.load(folder)
        manifest.check_kind()
        for name in manifest.files:
            if (folder / name).is_symlink():
                raise CertificateError(f"{name} is a symbolic link: a certificate folder holds plain files")
        manifest.check_files(folder)
    except (CertificateError, InputError) as exc:
        raise fail("certificate-format", str(exc)) from None
    return manifest


def require_anchors(run: Run, unanchored: bool) -> None:
    """The anchoring policy: without the published values, refuse unless an unanchored check was asked for."""
    missing = tuple(name for name, value in run.anchors.items() if value is None)
    if missing and not unanchored:
        raise MissingAnchors(missing, (
            f"not verified: missing {', '.join(_ANCHOR_WHAT[m] for m in missing)} to check the certificate against "
            "(CLI: --published commitments.json or --data-commitment/--model-commitment, and --nonce); "
            "--unanchored checks internal consistency only"))
    run.not_checked.extend(missing)


def load_proof(run: Run, name: str) -> _ezkl.ProofView:
    """Step 1 for a proof file: bounded size, well formed; returns its instances and transcript."""
    path = run.folder / name
    if path.is_file() and (size := path.stat().st_size) > MAX_PROOF_BYTES:
        raise fail("certificate-format", f"{name} is {size} bytes, above the {MAX_PROOF_BYTES}-byte limit")
    try:
        return _ezkl.ProofView.from_json(read_json(path, what="proof"), what=name)
    except InputError as exc:
        raise fail("certificate-format", str(exc)) from None


def srs_at_hand(folder: Path, manifest: Manifest) -> tuple[Srs | None, str]:
    """An SRS with the manifest's hash that the verifier did not give (cache or shipped), and where it came from; no trust implied."""
    want = manifest.srs["sha256"]
    srs = find_srs_by_hash(want)
    if srs is not None:
        return srs, "the prover's locally generated SRS in this machine's zkcert cache"
    shipped = folder / SRS_FILE
    if SRS_FILE in manifest.files and shipped.is_file() and sha256_file(shipped) == want:
        return Srs(shipped, want, locally_generated=True), "the SRS the certificate ships"
    return None, "no SRS at hand"


def trusted_srs(run: Run, manifest: Manifest, trust: Trust) -> Srs:
    """Step 3: the SRS has the manifest's hash ('srs') and the verifier gave it ('srs-trust')."""
    run.at("srs")
    want = manifest.srs["sha256"]
    if trust.srs_path is not None:
        srs = resolve_srs(0, trust.srs_path)
        if srs.sha256 != want:
            raise fail("srs", f"the SRS you gave has hash {srs.sha256[:16]}…, the certificate was proved with {want[:16]}…")
        if manifest.srs.get("locally_generated") is True:
            run.warnings.append("the certificate says its prover generated this SRS: it is trusted only because you passed it "
                                "with --srs; pass only an SRS you issued (zkcert srs new) or a ceremony file")
        return srs
    srs, origin = srs_at_hand(run.folder, manifest)
    if not trust.allow_untrusted:
        found = origin if srs is not None else "no SRS given"
        raise UntrustedSrs(f"the SRS is not one you gave ({found}): whoever generated it can forge proofs; pass the SRS "
                           "you issued (zkcert srs new) or a ceremony file with --srs, or allow it for tests and demos "
                           "(--allow-untrusted-srs)")
    if srs is None:
        raise fail("srs", f"no SRS with hash {want[:16]}… at hand; pass the SRS you issued or a ceremony file with --srs")
    run.not_checked.append("srs-trust")
    run.warnings.append(f"untrusted SRS allowed ({origin}): whoever generated it can forge proofs; for tests and demos only")
    return srs


def trusted_key(run: Run, shipped_vk: Path, spec: AnySpec, srs: Srs, trust: Trust, *, check: str = "verifying-key") -> tuple[Path, circuit.CircuitFiles]:
    """Step 2: the key rebuilt from the spec (or its pinned fingerprint) and the shipped key agree (`check`: a claim's own name for it)."""
    run.at(check)
    if (spec.logrows or 0) > trust.max_logrows:
        # Rebuilding a key costs memory exponential in logrows: a hostile spec must not exhaust the verifier.
        raise fail(check, f"the statement needs logrows {spec.logrows}, above this verifier's limit {trust.max_logrows}")
    shipped = sha256_file(shipped_vk)
    try:
        files = circuit.compile_spec(spec)
    except Exception as exc:  # noqa: BLE001 - any failure to rebuild means the spec is not one we can trust
        raise fail(check, f"cannot rebuild the circuit from the statement's spec: {exc}") from None
    pinned = None if trust.rebuild_key else pinned_fingerprint(spec.digest(), srs.sha256)
    if pinned is not None:
        if shipped != pinned:
            raise fail(check, f"the shipped key {shipped[:16]}… is not the one pinned for this statement ({pinned[:16]}…)")
        return shipped_vk, files
    try:
        vk, _pk = circuit.keys_for(files, srs)
    except ZkcertError as exc:
        raise fail(check, f"cannot build the statement's key with this SRS: {exc}") from None
    rebuilt = sha256_file(vk)
    if shipped != rebuilt:
        raise fail(check, f"the shipped key {shipped[:16]}… is not the key rebuilt from the statement ({rebuilt[:16]}…)")
    return vk, files


def verify_proofs(run: Run, names: Iterable[str], files: circuit.CircuitFiles, vk: Path, srs: Srs, what: str, *,
                  check: str = "proof") -> None:
    """Step 4: each named proof verifies against the key (`check`: a claim's own name for it)."""
    run.at(check)
    names = list(names)
    for name, ok in zip(names, _ezkl.verify_all([run.folder / name for name in names], files.settings, vk, srs.path)):
        if not ok:
            raise fail(check, f"{name} does not verify against the statement's {what}")


def instances(run: Run, spec: AnySpec, name: str, proof: _ezkl.ProofView) -> circuit.Instances:
    """Step 5: the proof's instances have the spec's layout."""
    run.at("instances")
    try:
        return circuit.read_instances(spec, proof)
    except ZkcertError as exc:
        raise fail("instances", f"{name}: {exc}") from None


def check_anchors(run: Run, c_data: str, c_model: str, used_nonce: str) -> None:
    """Step 5's anchors: the proofs' C_D and C_theta and the certificate's nonce against the given values."""
    given = run.anchors
    run.at("data-commitment")
    if given["data-commitment"] is not None and c_data != given["data-commitment"].lower():
        raise fail("data-commitment", f"the proof commits to data {c_data}, you published {given['data-commitment']}")
    run.at("model-commitment")
    if given["model-commitment"] is not None and c_model != given["model-commitment"].lower():
        raise fail("model-commitment", f"the proof commits to model {c_model}, you published {given['model-commitment']}")
    run.at("nonce")
    if given["nonce"] is not None and given["nonce"] != used_nonce:
        raise fail("nonce", f"the certificate used nonce {used_nonce!r}, you issued {given['nonce']!r}")


def direction_hash(spec: CircuitSpec, c_model: str, c_data: str, nonce: str, files: circuit.CircuitFiles, vk: Path,
                   srs: Srs) -> str:
    """The commitment to the direction recomputed from the seed, as the proof carries it (Poseidon hash or KZG point)."""
    # Under kzg/v1 deterministic too (the column is unblinded): the same signs under the same key and SRS give the same point.
    commit = column_committer(spec.commitment, spec.input_scale, (vk, files.settings, srs.path))
    return commit(direction_column(committed_directions(spec, c_model, c_data, nonce)))


def check_proof_inputs(run: Run, proofs: dict[str, tuple[circuit.Instances, str]], c_model: str, h_dir: str) -> None:
    """Step 5 for every sharpness proof: its data is the listed commitment, its model C_theta, its direction the derived one."""
    run.at("direction")
    for name, (inst, listed) in proofs.items():
        if inst.data_commitment != listed:
            raise fail("data-commitment", f"{name} commits to data {inst.data_commitment[:12]}…, the statement lists {listed[:12]}… there")
        if inst.model_commitment != c_model:
            raise fail("model-commitment", f"{name} commits to model {inst.model_commitment[:12]}…, not {c_model[:12]}…")
        if inst.direction != h_dir:
            raise fail("direction", f"{name}'s direction is not the one derived from its commitments and nonce")


def check_text(run: Run, manifest: Manifest, c_data: str, c_model: str) -> None:
    """Step 6: the manifest's statement names the commitments the proofs commit to, and its text is that statement's."""
    run.at("statement")
    st = manifest.statement
    if st.data_commitment != c_data or st.model_commitment != c_model:
        raise fail("statement", "the manifest's commitments differ from the proofs' instances")
    if manifest.claimed_text is not None and manifest.claimed_text != st.describe():
        raise fail("statement", f"the manifest's text {str(manifest.claimed_text)[:80]!r} is not the statement checked: {st.describe()!r}")


def check_outputs(run: Run, spec: CircuitSpec, name: str, outputs: circuit.Outputs) -> None:
    """Step 5: the committed labels are one-hot ('labels', where the spec checks them) and the bound holds ('flag')."""
    run.at("labels")
    if outputs.labels_ok is not None and outputs.labels_ok != 1.0:
        raise fail("labels", f"{name} says the committed label vectors are not all one-hot, so its loss is not the "
                             "cross-entropy against labels and the bound means nothing")
    run.at("flag")
    if outputs.flag != 1.0:
        raise fail("flag", f"{name}'s flag is {outputs.flag:g}, so the bound does not hold")
    if not spec.check_labels and "labels" not in run.not_checked:
        run.not_checked.append("labels")
        run.warnings.append("this statement predates label checks: its circuit does not check that the committed labels "
                            "are one-hot, so an owner could have committed label vectors that make any model pass")


def check_reported(manifest: Manifest, metric: float | None, correct: int | None = None) -> None:
    """Step 6: the values the manifest reports are the ones the proofs reveal (or none, when none is revealed)."""
    claimed_correct = manifest.reported.get("circuit_correct")
    if claimed_correct is not None and claimed_correct != correct:
        raise fail("statement", f"the manifest reports {claimed_correct!r} correct training samples, the proofs say {correct}")
    claimed = manifest.reported.get("circuit_metric")
    if metric is None:
        if claimed is not None:  # nothing proved reveals a value (a spot check, or a hidden numerator)
            raise fail("statement", f"the manifest reports circuit metric {claimed}, but no proof reveals one")
        return
    if isinstance(claimed, bool) or not isinstance(claimed, (int, float)) or abs(float(claimed) - metric) > 1e-9 * max(1.0, abs(metric)):
        raise fail("statement", f"the manifest reports circuit metric {claimed}, the proof says {metric}")
