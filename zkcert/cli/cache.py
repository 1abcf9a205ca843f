"""`zkcert cache`: what the local cache of circuits, keys and generated SRS files holds, and freeing it."""

from __future__ import annotations

import typer
from rich.table import Table

from ..cache import CacheEntry, age_days, cache_entries, clear_cache, prune_cache
from .._internal.cache import cache_root
from ._common import JSON, app, console, print_json

cache_app = typer.Typer(help="The local cache of compiled circuits, keys and generated SRS files (rebuilt on demand; "
                        "set ZKCERT_CACHE_MAX_GB to cap it after each new key).",
                        no_args_is_help=True)
app.add_typer(cache_app, name="cache")
INCLUDE_SRS = typer.Option(False, "--srs", help="Also remove locally generated SRS files (regenerated on demand; never a ceremony SRS).")


def _age(days: float) -> str:
    return f"{days * 24 * 60:.0f} min ago" if days < 1 / 24 else f"{days * 24:.1f} h ago" if days < 2 else f"{days:.0f} days ago"


def _gb(size_bytes: int) -> str:
    return f"{size_bytes / 1e9:.2f} GB"


def _as_json(entries: list[CacheEntry]) -> list[dict]:
    return [{"path": str(e.path), "kind": e.kind, "size_bytes": e.size_bytes, "last_used": e.last_used} for e in entries]


def _removed(entries: list[CacheEntry], as_json: bool) -> None:
    if as_json:
        print_json({"removed": _as_json(entries), "freed_bytes": sum(e.size_bytes for e in entries)})
    else:
        typer.echo(f"removed {len(entries)} entries, freed {_gb(sum(e.size_bytes for e in entries))}")


@cache_app.command("info")
def info(as_json: bool = JSON) -> None:
    """List the cache's circuits and SRS files, least recently used first, with their sizes."""
    entries = cache_entries()
    if as_json:
        print_json({"root": str(cache_root()), "total_bytes": sum(e.size_bytes for e in entries), "entries": _as_json(entries)})
        return
    table = Table(title=f"{cache_root()}: {_gb(sum(e.size_bytes for e in entries))} in {len(entries)} entries")
    for column in ("kind", "name", "size", "last used"):
        table.add_column(column)
    for e in entries:
        table.add_row(e.kind, e.path.name, _gb(e.size_bytes), _age(age_days(e)))
    console.print(table)


@cache_app.command("prune")
def prune(max_gb: float = typer.Option(..., "--max-gb", help="Keep at most this many GB, removing the least recently used circuits first."),
          include_srs: bool = INCLUDE_SRS, as_json: bool = JSON) -> None:
    """Shrink the cache to --max-gb (run it while no prove or verify is running)."""
    _removed(prune_cache(int(max_gb * 1e9), include_srs=include_srs), as_json)


@cache_app.command("clear")
def clear(include_srs: bool = INCLUDE_SRS, as_json: bool = JSON) -> None:
    """Remove every cached circuit and key (run it while no prove or verify is running)."""
    _removed(clear_cache(include_srs=include_srs), as_json)
