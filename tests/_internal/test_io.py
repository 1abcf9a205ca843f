"""File IO: atomic writes with an ordinary or a private mode, canonical JSON, one-line errors on bad files."""

from __future__ import annotations

import stat

import pytest

from zkcert._internal.io import atomic_write_json, canonical_json, read_json, sha256_bytes, sha256_file
from zkcert.errors import InputError


def test_atomic_write_json_is_canonical_and_leaves_no_temporary(tmp_path):
    atomic_write_json(tmp_path / "a.json", {"b": 1, "a": [1, 2]})
    assert (tmp_path / "a.json").read_text() == canonical_json({"a": [1, 2], "b": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]
    assert sha256_file(tmp_path / "a.json") == sha256_bytes((tmp_path / "a.json").read_bytes())


def test_private_files_are_owner_only(tmp_path):
    atomic_write_json(tmp_path / "salts.json", {"s": 1}, private=True)
    atomic_write_json(tmp_path / "public.json", {"s": 1})
    assert stat.S_IMODE((tmp_path / "salts.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "public.json").stat().st_mode) & 0o044  # readable by others, as a certificate is


@pytest.mark.parametrize("content, match", [(None, "not found"), ("{not json", "not valid JSON")])
def test_read_json_errors_are_one_line(tmp_path, content, match):
    path = tmp_path / "x.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError, match=match):
        read_json(path, what="thing")


def test_a_folder_is_not_overwritten(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(InputError, match="it is a folder"):
        atomic_write_json(tmp_path / "d", {})
