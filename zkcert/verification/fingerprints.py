"""Verifying-key fingerprints pinned in circuits/: a verifier matches a shipped key without rebuilding it."""

from __future__ import annotations

import json
from pathlib import Path

from .._internal.io import atomic_write_json
from ..spec import CIRCUITS_DIR

__all__ = ["FINGERPRINTS", "pinned_fingerprint", "pin_fingerprint"]

FINGERPRINTS = CIRCUITS_DIR / "fingerprints.json"


def pinned_fingerprint(spec_digest: str, srs_sha256: str, path: Path | None = None) -> str | None:
    """The vk SHA-256 pinned in circuits/ for this spec and SRS, if any."""
    path = path or FINGERPRINTS
    if not path.is_file():
        return None
    return json.loads(path.read_text()).get(spec_digest, {}).get(srs_sha256)


def pin_fingerprint(spec_digest: str, srs_sha256: str, vk_sha256: str, path: Path | None = None) -> None:
    """Record a verifying-key fingerprint (maintainers run this for standard specs and ceremony SRS files)."""
    path = path or FINGERPRINTS
    table = json.loads(path.read_text()) if path.is_file() else {}
    table.setdefault(spec_digest, {})[srs_sha256] = vk_sha256
    atomic_write_json(path, table)
