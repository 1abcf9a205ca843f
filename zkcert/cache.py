"""The local cache of compiled circuits, keys and generated SRS files: what it holds, and freeing space.

Every circuit a prove, verify or benchmark builds keeps its compiled circuit and keys under
cache_root()/circuits/<spec digest>, and a logrows-17 proving key alone is 4.4 GB: a day of MNIST and
digits benchmarks grew the cache to 44 GB. Nothing in it is needed for correctness, only for speed: a
missing key is rebuilt on demand (one ezkl setup), and a missing local SRS is regenerated (a locally
generated SRS is for demos and tests only; a ceremony SRS is passed by path and never lives here).
"""

from __future__ import annotations

import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ._internal.cache import cache_root
from .errors import InputError

__all__ = ["CacheEntry", "cache_entries", "prune_cache", "clear_cache", "mark_used", "age_days", "MAX_GB_ENV", "cache_limit_bytes",
           "enforce_cache_limit"]

# Opt-in cap on the cache, applied each time a new key is written (keys are nearly all of its size).
MAX_GB_ENV = "ZKCERT_CACHE_MAX_GB"

# Folder under the cache root -> what an entry in it is.
_KINDS = {"circuits": "circuit", "srs": "srs"}


@dataclass(frozen=True)
class CacheEntry:
    """One compiled circuit (with its keys) or one generated SRS file in the cache."""

    path: Path
    kind: str  # "circuit" or "srs"
    size_bytes: int
    last_used: float  # seconds since the epoch: the folder's or file's modification time (see mark_used)


def mark_used(path: Path) -> None:
    """Record that a cached circuit folder or SRS file was just used, so that prune_cache keeps it longest."""
    try:
        path.touch(exist_ok=True)
    except OSError:
        pass  # a read-only cache still works; it just prunes by creation time


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # removed meanwhile, e.g. by another process pruning the same cache
        return 0


def _size(path: Path) -> int:
    if path.is_file():
        return _file_size(path)
    return sum(_file_size(f) for f in path.rglob("*") if f.is_file())


def cache_entries(root: Path | None = None) -> list[CacheEntry]:
    """Every circuit folder and SRS file in the cache (default zkcert's), least recently used first."""
    base = Path(root or cache_root())
    entries = []
    for name, kind in _KINDS.items():
        folder = base / name
        if folder.is_dir():
            entries += [CacheEntry(p, kind, _size(p), p.stat().st_mtime) for p in folder.iterdir()]
    return sorted(entries, key=lambda e: (e.last_used, str(e.path)))


def prune_cache(max_bytes: int, root: Path | None = None, *, include_srs: bool = False,
                keep: tuple[Path, ...] = ()) -> list[CacheEntry]:
    """Remove the least recently used circuits (and SRS files if include_srs), never those in keep, until the
    cache holds at most max_bytes.

    Returns what was removed. Run it when no prove or verify is using the cache: a proof in flight
    whose key is removed fails with a one-line error, and its resumed run rebuilds the key.
    """
    kept = {Path(k).resolve() for k in keep}
    if max_bytes < 0:
        raise InputError(f"the cache size limit must be non-negative, got {max_bytes}")
    entries = cache_entries(root)
    total = sum(e.size_bytes for e in entries)
    removed = []
    for entry in entries:
        if total <= max_bytes:
            break
        if (entry.kind == "srs" and not include_srs) or entry.path.resolve() in kept:
            continue
        if entry.path.is_dir():
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            entry.path.unlink(missing_ok=True)
        total -= entry.size_bytes
        removed.append(entry)
    return removed


def cache_limit_bytes() -> int | None:
    """$ZKCERT_CACHE_MAX_GB in bytes (GB = 10**9, as `zkcert cache prune --max-gb`), or None when it is unset."""
    raw = os.environ.get(MAX_GB_ENV, "").strip()
    if not raw:
        return None
    try:
        gb = float(raw)
    except ValueError:
        gb = math.nan
    if not (math.isfinite(gb) and gb >= 0):
        raise InputError(f"{MAX_GB_ENV} must be a non-negative number of GB, got {raw!r}")
    return int(gb * 1e9)


def enforce_cache_limit(keep: Path, root: Path | None = None) -> list[CacheEntry]:
    """After a new key: prune to $ZKCERT_CACHE_MAX_GB if it is set, never removing keep (the circuit just built).

    With the limit set, a prove or verify can remove a key that another one running beside it on this machine
    still needs (see prune_cache): set it where runs do not overlap, or high enough to hold their circuits.
    """
    limit = cache_limit_bytes()
    return [] if limit is None else prune_cache(limit, root, keep=(keep,))


def clear_cache(root: Path | None = None, *, include_srs: bool = False) -> list[CacheEntry]:
    """Remove every cached circuit and key (and the generated SRS files if include_srs); returns what was removed."""
    return prune_cache(0, root, include_srs=include_srs)


def age_days(entry: CacheEntry, now: float | None = None) -> float:
    """Days since the entry was last used."""
    return ((now or time.time()) - entry.last_used) / 86400
