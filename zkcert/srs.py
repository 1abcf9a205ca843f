"""The structured reference string (SRS) of KZG: who generated it decides whom a proof convinces.

KZG is sound for whoever generated the SRS and discarded its secret (ezkl.gen_srs draws the secret
from the OS and never stores it). So a verifier trusts exactly two kinds of SRS (shared/PROTOCOL.md,
step 3): a ceremony file, or one it generated itself with `new_srs` (`zkcert srs new`) and handed
to the owner. An SRS that the prover generated (`local_srs`, the cached one `prove` uses without
--srs) or that a certificate ships lets whoever generated it forge proofs: the verifier refuses it
unless told to allow it (tests and demos).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ._internal import ezkl as _ezkl
from ._internal.io import sha256_file
from ._internal.cache import cache_dir
from .errors import InputError

__all__ = ["Srs", "resolve_srs", "local_srs", "new_srs", "find_srs_by_hash", "MAX_LOGROWS"]

# The largest SRS `new_srs` makes: 2**26 rows is ezkl's largest circuit, far beyond this machine's memory.
MAX_LOGROWS = 26


@dataclass(frozen=True)
class Srs:
    """An SRS file, its SHA-256, and whether this machine generated it (then it can forge proofs)."""

    path: Path
    sha256: str
    locally_generated: bool

    def to_json(self) -> dict[str, object]:
        """What a manifest records."""
        return {"sha256": self.sha256, "locally_generated": self.locally_generated}


def local_srs(logrows: int) -> Srs:
    """The cached locally generated SRS for logrows, generating it on first use."""
    path = cache_dir("srs") / f"local-k{logrows}.srs"
    if not path.is_file():
        _ezkl.gen_srs(path, logrows)
    return Srs(path, sha256_file(path), locally_generated=True)


def new_srs(logrows: int, out: str | Path) -> Srs:
    """The verifier's step: generate a fresh SRS for circuits of up to 2**logrows rows at `out`.

    Keep the file, hand a copy to the owner (`zkcert prove --srs`) and verify with it (`zkcert
    verify --srs`). The secret is drawn and discarded inside ezkl.gen_srs, so nobody can forge a
    proof against this SRS afterwards, not even the verifier who made it. An SRS for K rows also
    serves every smaller circuit (ezkl shrinks it), so issue one for the largest circuit expected.
    An existing file is never overwritten: an SRS already handed out must not change.
    """
    if isinstance(logrows, bool) or not isinstance(logrows, int) or not 1 <= logrows <= MAX_LOGROWS:
        raise InputError(f"logrows must be an integer from 1 to {MAX_LOGROWS}, got {logrows!r}")
    path = Path(out)
    if path.exists():
        raise InputError(f"{path} already exists: an SRS you have issued must not change (choose another path)")
    if not path.parent.is_dir():
        raise InputError(f"cannot write {path}: {path.parent} is not a folder")
    _ezkl.gen_srs(path, logrows)
    return Srs(path, sha256_file(path), locally_generated=False)


def resolve_srs(logrows: int, user_path: str | Path | None = None) -> Srs:
    """The user's SRS file if given (checked to exist), else the local cached one."""
    if user_path is None:
        return local_srs(logrows)
    path = Path(user_path)
    if not path.is_file():
        raise InputError(f"SRS file not found: {path}")
    generated = path.resolve().parent == cache_dir("srs").resolve()
    return Srs(path, sha256_file(path), locally_generated=generated)


def find_srs_by_hash(sha256: str) -> Srs | None:
    """A cached SRS with this hash, if this machine has one (the prover's own: never trusted on its own)."""
    for path in sorted(cache_dir("srs").glob("*.srs")):
        if sha256_file(path) == sha256:
            return Srs(path, sha256, locally_generated=True)
    return None
