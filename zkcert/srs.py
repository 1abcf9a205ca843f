"""The structured reference string: a user-supplied file (a ceremony SRS) or one generated locally for tests and demos."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import _ezkl
from ._io import sha256_file
from .cache import cache_dir
from .errors import InputError

__all__ = ["Srs", "resolve_srs", "local_srs"]


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
    """A cached SRS with this hash, if this machine has one."""
    for path in sorted(cache_dir("srs").glob("*.srs")):
        if sha256_file(path) == sha256:
            return Srs(path, sha256, locally_generated=True)
    return None
