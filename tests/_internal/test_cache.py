"""The artefact cache: $ZKCERT_CACHE by default, or a root the caller passes (shard workers get theirs this way)."""

from __future__ import annotations

from zkcert._internal.cache import cache_dir, cache_root


def test_cache_root_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ZKCERT_CACHE", str(tmp_path / "env"))
    assert cache_root() == tmp_path / "env"
    assert cache_dir("circuits", "x") == tmp_path / "env" / "circuits" / "x" and (tmp_path / "env" / "circuits" / "x").is_dir()


def test_an_explicit_root_wins_and_the_environment_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("ZKCERT_CACHE", str(tmp_path / "env"))
    assert cache_dir("srs", root=tmp_path / "given") == tmp_path / "given" / "srs"
    assert cache_root() == tmp_path / "env"
