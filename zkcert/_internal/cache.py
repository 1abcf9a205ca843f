"""Where generated artefacts live: SRS files, compiled circuits and keys, outside git."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_root", "cache_dir"]


def cache_root() -> Path:
    """$ZKCERT_CACHE, default ~/.cache/zkcert."""
    return Path(os.environ.get("ZKCERT_CACHE") or Path.home() / ".cache" / "zkcert")


def cache_dir(*parts: str, root: str | Path | None = None) -> Path:
    """The cache folder (root, default cache_root()) joined with parts, created on demand."""
    path = Path(root or cache_root()).joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
