"""The certificate folder and its manifest: a frozen, versioned bundle with the SHA-256 of every file."""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ._internal import ezkl as _ezkl
from ._internal.io import atomic_write_json, canonical_json, ensure_folder, read_json, sha256_file
from .claims import ClaimEntry, check_entries, is_claim_file
from .errors import CertificateError, InputError
from .statement import AnyStatement, SampledStatement, ShardedStatement, statement_from_json

__all__ = [
    "MANIFEST_SCHEMA", "MANIFEST", "PROOF", "VK", "SRS_FILE", "SHARD_VK", "AGGREGATE_PROOF", "AGGREGATE_VK",
    "shard_proof_name", "Manifest", "write_certificate", "package_version", "software_versions",
]

MANIFEST_SCHEMA = "zkcert-certificate/v1"
MANIFEST, PROOF, VK, SRS_FILE = "manifest.json", "proof.json", "vk.key", "kzg.srs"
SHARD_VK, AGGREGATE_PROOF, AGGREGATE_VK = "shard.vk.key", "aggregate.proof.json", "aggregate.vk.key"


def package_version() -> str:
    """zkcert's installed version (package metadata), or "0.0.0+local" in a source tree that was not installed."""
    try:
        return version("zkcert")
    except PackageNotFoundError:
        return "0.0.0+local"


def software_versions() -> dict[str, str]:
    """The manifest's "software" record (informational, not verified): the zkcert and ezkl that wrote it."""
    return {"zkcert": package_version(), "ezkl": _ezkl.EZKL_VERSION}


def shard_proof_name(index: int) -> str:
    """File name of shard `index`'s proof in a sharded certificate."""
    return f"shard-{index:04d}.proof.json"


def required_files(statement: AnyStatement) -> tuple[str, ...]:
    """The files a certificate for this statement must list."""
    if isinstance(statement, SampledStatement):
        # The challenged shards' proofs are checked by the verifier, which names that failure "challenge".
        return (SHARD_VK,)
    if isinstance(statement, ShardedStatement):
        shards = tuple(shard_proof_name(i) for i in range(len(statement.shard_commitments)))
        return (*shards, SHARD_VK, AGGREGATE_PROOF, AGGREGATE_VK)
    return (PROOF, VK)
_FIELDS = {"schema", "statement", "srs", "files", "reported", "software", "claims"}


@dataclass(frozen=True)
class Manifest:
    """What the certificate claims. Only `statement`, `srs`, `files` and `claims` are relied on, and each is checked.

    `claims`: further claims about the same committed model (zkcert.claims), with their files under claims/<kind>/;
    empty for certificates that carry only the sharpness statement, whose manifests then have no `claims` field.
    """

    statement: AnyStatement
    srs: dict[str, Any]
    files: dict[str, str]
    reported: dict[str, Any] = field(default_factory=dict)
    software: dict[str, str] = field(default_factory=dict)
    schema: str = MANIFEST_SCHEMA
    claims: tuple[ClaimEntry, ...] = ()
    # The statement's text as the file has it: the verifier compares it with the recomputed one (step 6).
    claimed_text: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.schema != MANIFEST_SCHEMA:
            raise CertificateError(f"certificate schema {self.schema!r} is not {MANIFEST_SCHEMA!r}; upgrade zkcert")
        missing = [name for name in required_files(self.statement) if name not in self.files]
        if missing:
            raise CertificateError(f"manifest lists no {', '.join(missing)}")
        if not isinstance(self.srs, dict) or not isinstance(self.srs.get("sha256"), str):
            raise CertificateError("manifest's srs entry lacks a sha256")
        check_entries(self.claims, self.files)

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        obj = {
            "schema": self.schema,
            "statement": self.statement.to_json(),
            "srs": self.srs,
            "files": dict(sorted(self.files.items())),
            "reported": self.reported,
            "software": self.software,
        }
        return {**obj, "claims": [c.to_json() for c in self.claims]} if self.claims else obj

    @classmethod
    def from_json(cls, obj: Any) -> "Manifest":
        """Parse, rejecting unknown fields and versions."""
        if not isinstance(obj, dict):
            raise CertificateError("manifest must be a JSON object")
        if obj.get("schema") != MANIFEST_SCHEMA:
            raise CertificateError(f"certificate schema {obj.get('schema')!r} is not {MANIFEST_SCHEMA!r}; upgrade zkcert")
        unknown = set(obj) - _FIELDS
        if unknown:
            raise CertificateError(f"manifest has unknown fields {sorted(unknown)}")
        try:
            return cls(
                statement=statement_from_json(obj["statement"]),
                srs=obj["srs"],
                files={str(k): str(v) for k, v in obj["files"].items()},
                reported=dict(obj.get("reported", {})),
                software=dict(obj.get("software", {})),
                claims=_claim_entries(obj.get("claims", [])),
                claimed_text=obj["statement"].get("text") if isinstance(obj["statement"], dict) else None,
            )
        except (KeyError, AttributeError, TypeError, ValueError) as exc:
            raise CertificateError(f"manifest is malformed: {exc}") from None

    @classmethod
    def load(cls, folder: str | Path) -> "Manifest":
        """Read folder/manifest.json."""
        folder = Path(folder)
        if not folder.is_dir():
            raise CertificateError(f"certificate folder not found: {folder}")
        if not (folder / MANIFEST).is_file():
            raise CertificateError(f"{folder} has no {MANIFEST}")
        try:
            return cls.from_json(read_json(folder / MANIFEST, what="manifest"))
        except InputError as exc:
            raise CertificateError(str(exc)) from None

    def check_kind(self) -> None:
        """The manifest lists exactly the files of its statement's form (the shipped SRS optional): nothing unbound rides along."""
        st = self.statement
        allowed = set(required_files(st)) | check_entries(self.claims, self.files)
        if isinstance(st, SampledStatement):
            allowed |= {shard_proof_name(i) for i in range(len(st.shard_commitments))}
        extra = sorted(set(self.files) - allowed - {SRS_FILE})
        if extra:
            raise CertificateError(f"manifest lists files this kind of certificate does not have: {extra}")
        if SRS_FILE in self.files and self.files[SRS_FILE] != self.srs["sha256"]:
            raise CertificateError(f"the shipped {SRS_FILE} is not the SRS the manifest names (its srs.sha256)")

    def check_files(self, folder: str | Path) -> None:
        """Every listed file exists and has its recorded SHA-256."""
        folder = Path(folder)
        for name, digest in self.files.items():
            if ("/" in name and not is_claim_file(name)) or name.startswith("."):
                raise CertificateError(f"manifest lists an unsafe file name {name!r}")
            path = folder / name
            if "/" in name and any(p.is_symlink() for p in (path.parent, path.parent.parent)):
                raise CertificateError(f"{name} lies in a symbolic link: a certificate folder holds plain folders")
            if not path.is_file():
                raise CertificateError(f"{name} is missing from {folder}")
            got = sha256_file(path)
            if got != digest:
                raise CertificateError(f"{name} does not match its hash in the manifest (got {got[:12]}…, expected {digest[:12]}…)")


def _claim_entries(raw: Any) -> tuple[ClaimEntry, ...]:
    """The manifest's claims list (absent: none)."""
    if not isinstance(raw, list):
        raise CertificateError("manifest's claims must be a list")
    return tuple(ClaimEntry.from_json(c) for c in raw)


_STAGED_MANIFEST = MANIFEST + ".staged"


def write_certificate(out: str | Path, files: dict[str, Path], make_manifest: Any) -> Path:
    """Copy files into a fresh folder, add the manifest, and move the whole folder into place at once.

    make_manifest receives {name: sha256} and returns the Manifest. A crash (SIGKILL included) leaves
    no folder that `verify` accepts other than the finished `out`: the folder is built beside it as
    `.OUT.staging-PID-*` with its manifest under a name verify does not read, renamed to `out`, and only
    then is the manifest renamed to manifest.json. Killed between those two renames, `out` has no
    manifest.json and verify refuses it; killed earlier, `out` is untouched. Staging folders left by
    dead processes are removed by the next write to the same `out`.
    """
    out = Path(out)
    ensure_folder(out.parent)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} exists and is not a folder")
    _remove_stale_staging(out)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-{os.getpid()}-", dir=out.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a certificate is meant to be shared
    try:
        for name, src in files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)  # a claim's files go to claims/<kind>/
            shutil.copyfile(src, staging / name)
        manifest = make_manifest({name: sha256_file(staging / name) for name in files})
        atomic_write_json(staging / _STAGED_MANIFEST, manifest.to_json())
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
            os.replace(staging, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    os.replace(out / _STAGED_MANIFEST, out / MANIFEST)
    return out


def _remove_stale_staging(out: Path) -> None:
    """Delete `.OUT.staging-PID-*` folders whose process no longer runs (killed during an earlier write)."""
    prefix = f".{out.name}.staging-"
    for path in out.parent.glob(f"{glob.escape(prefix)}*"):
        pid = path.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and path.is_dir() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def manifest_text(manifest: Manifest) -> str:
    """Canonical JSON text of a manifest (what is written to disk)."""
    return canonical_json(manifest.to_json())
