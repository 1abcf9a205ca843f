"""The verifier-issued SRS: `zkcert srs new` writes a fresh file once, and bad requests are bad input."""

from __future__ import annotations

import pytest

from zkcert._internal.io import sha256_file
from zkcert.cli import main
from zkcert.errors import InputError
from zkcert.srs import new_srs, resolve_srs


def test_new_srs_is_the_verifiers_own(tmp_path):
    made = new_srs(2, tmp_path / "verifier.srs")
    assert made.path.is_file() and made.sha256 == sha256_file(made.path) and not made.locally_generated
    # A second draw has another secret, hence another file.
    assert new_srs(2, tmp_path / "again.srs").sha256 != made.sha256
    # Passed back by path (the owner's `prove --srs`), it is not taken for the prover's cached one.
    assert resolve_srs(2, made.path) == made


def test_new_srs_never_overwrites(tmp_path):
    made = new_srs(2, tmp_path / "verifier.srs")
    with pytest.raises(InputError, match="already exists"):
        new_srs(2, made.path)
    assert sha256_file(made.path) == made.sha256


@pytest.mark.parametrize("logrows", [0, 27, -1, True, 2.5])
def test_new_srs_bad_logrows(tmp_path, logrows):
    with pytest.raises(InputError, match="logrows must be an integer"):
        new_srs(logrows, tmp_path / "x.srs")
    assert not (tmp_path / "x.srs").exists()


def test_cli_srs_new(tmp_path, capsys):
    out = tmp_path / "verifier.srs"
    assert main(["srs", "new", "--logrows", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert sha256_file(out) in printed and "zkcert prove --srs" in printed
    assert main(["srs", "new", "--logrows", "2", "--out", str(out)]) == 3
    assert "already exists" in capsys.readouterr().err
    assert main(["srs", "new", "--logrows", "0", "--out", str(tmp_path / "y.srs")]) == 3
    assert main(["srs", "new", "--out", str(tmp_path / "z.srs")]) == 2
    assert main(["srs", "new", "--logrows", "2", "--out", str(tmp_path / "no" / "such" / "z.srs")]) == 3
