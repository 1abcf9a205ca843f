"""The local cache: listing, least-recently-used pruning, clearing, and the `zkcert cache` commands."""

from __future__ import annotations

import json
import os

import pytest

from zkcert.cache import cache_entries, clear_cache, mark_used, prune_cache
from zkcert.cli import main
from zkcert.errors import InputError


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    """A cache of three circuit folders (1, 2 and 3 kB, used in that order, the middle one used again last) and one SRS file."""
    root = tmp_path / "cache"
    for i, name in enumerate(("old", "middle", "new")):
        folder = root / "circuits" / name
        folder.mkdir(parents=True)
        (folder / "pk.key").write_bytes(b"k" * 1000 * (i + 1))
        os.utime(folder, (1_000_000 + i, 1_000_000 + i))
    (root / "srs").mkdir()
    (root / "srs" / "local-k10.srs").write_bytes(b"s" * 500)
    os.utime(root / "srs" / "local-k10.srs", (900_000, 900_000))
    mark_used(root / "circuits" / "middle")
    monkeypatch.setenv("ZKCERT_CACHE", str(root))
    return root


def test_entries_are_listed_least_recently_used_first_with_sizes(cache):
    entries = cache_entries(cache)
    assert [(e.kind, e.path.name, e.size_bytes) for e in entries] == [
        ("srs", "local-k10.srs", 500), ("circuit", "old", 1000), ("circuit", "new", 3000), ("circuit", "middle", 2000)]


def test_prune_removes_least_recently_used_circuits_and_keeps_the_srs(cache):
    removed = prune_cache(3000, cache)
    assert [e.path.name for e in removed] == ["old", "new"]  # of 6,500 bytes; the SRS is older but only --srs removes it
    assert sorted(p.name for p in (cache / "circuits").iterdir()) == ["middle"]
    assert (cache / "srs" / "local-k10.srs").is_file()
    assert prune_cache(10_000, cache) == []  # already within the limit
    with pytest.raises(InputError, match="non-negative"):
        prune_cache(-1, cache)


def test_clear_removes_every_circuit_and_the_srs_only_when_asked(cache):
    assert len(clear_cache(cache)) == 3 and not any((cache / "circuits").iterdir())
    assert (cache / "srs" / "local-k10.srs").is_file()
    assert [e.kind for e in clear_cache(cache, include_srs=True)] == ["srs"]
    assert cache_entries(cache) == []


def test_keys_for_marks_its_circuit_used(cache, monkeypatch):
    """The key lookup every prove and verify makes is what keeps a circuit off the pruning list."""
    from zkcert.circuit import build

    folder = cache / "circuits" / "old"
    monkeypatch.setattr(build._ezkl, "setup", lambda *a: pytest.fail("setup must not run: keys exist"))
    srs = type("S", (), {"sha256": "ab" * 32, "path": cache / "srs" / "local-k10.srs"})()
    for name in (f"vk-{'ab' * 8}.key", f"pk-{'ab' * 8}.key"):
        (folder / name).write_bytes(b"")
    os.utime(folder, (1_000_000, 1_000_000))  # writing the keys touched it
    build.keys_for(build.CircuitFiles(folder), srs)
    assert cache_entries(cache)[-1].path == folder


def test_cache_commands(cache, capsys):
    assert main(["cache", "info", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["root"] == str(cache) and out["total_bytes"] == 6500 and len(out["entries"]) == 4
    assert main(["cache", "info"]) == 0
    assert "middle" in capsys.readouterr().out
    assert main(["cache", "prune", "--max-gb", "0.000003", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["freed_bytes"] == 4000
    assert main(["cache", "clear", "--srs"]) == 0
    assert "removed 2 entries" in capsys.readouterr().out
    assert cache_entries(cache) == []
    assert main(["cache", "prune", "--max-gb", "-1"]) == 3  # a bad limit is a one-line input error


def test_new_keys_prune_the_cache_to_its_limit_when_one_is_set(cache, monkeypatch):
    """ZKCERT_CACHE_MAX_GB: after ezkl setup writes a new key, the least recently used circuits go, never the new one."""
    from zkcert.cache import MAX_GB_ENV
    from zkcert.circuit import build

    def fake_setup(compiled, vk, pk, srs):
        vk.write_bytes(b"v" * 100)
        pk.write_bytes(b"p" * 100)

    monkeypatch.setattr(build._ezkl, "setup", fake_setup)
    srs = type("S", (), {"sha256": "ab" * 32, "path": cache / "srs" / "local-k10.srs"})()
    fresh = cache / "circuits" / "fresh"
    fresh.mkdir()
    monkeypatch.setenv(MAX_GB_ENV, "0.000003")  # 3,000 bytes of 6,700
    build.keys_for(build.CircuitFiles(fresh), srs)
    assert sorted(p.name for p in (cache / "circuits").iterdir()) == ["fresh", "middle"]
    assert (cache / "srs" / "local-k10.srs").is_file()

    build.keys_for(build.CircuitFiles(fresh), srs)  # keys exist: no setup, nothing pruned
    assert sorted(p.name for p in (cache / "circuits").iterdir()) == ["fresh", "middle"]

    # A limit below the new key itself removes every other circuit, but not the one just built.
    monkeypatch.setenv(MAX_GB_ENV, "0")
    newest = cache / "circuits" / "newest"
    newest.mkdir()
    build.keys_for(build.CircuitFiles(newest), srs)
    assert sorted(p.name for p in (cache / "circuits").iterdir()) == ["newest"]


@pytest.mark.parametrize("value,removed", [(None, []), ("", []), ("1", []), ("0", ["old", "new", "middle"])])
def test_cache_limit_is_read_from_the_environment(cache, monkeypatch, value, removed):
    from zkcert.cache import MAX_GB_ENV, enforce_cache_limit

    if value is None:
        monkeypatch.delenv(MAX_GB_ENV, raising=False)
    else:
        monkeypatch.setenv(MAX_GB_ENV, value)
    keep = cache / "circuits" / "kept"
    keep.mkdir()
    assert [e.path.name for e in enforce_cache_limit(keep, cache)] == removed
    assert keep.is_dir()


@pytest.mark.parametrize("value", ["ten", "-1", "nan", "inf"])
def test_a_bad_cache_limit_is_a_one_line_input_error(cache, monkeypatch, value):
    from zkcert.cache import MAX_GB_ENV, enforce_cache_limit

    monkeypatch.setenv(MAX_GB_ENV, value)
    with pytest.raises(InputError, match=MAX_GB_ENV):
        enforce_cache_limit(cache / "circuits" / "new", cache)
