"""Where generated artefacts live: SRS files, compiled circuits and keys, outside git."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir(*parts: str) -> Path:
    """$ZKCERT_CACHE (default ~/.cache/zkcert) joined with parts, created on demand."""
    root = Path(os.environ.get("ZKCERT_CACHE") or Path.home() / ".cache" / "zkcert")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
