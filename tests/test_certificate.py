"""The certificate folder as written: shareable files, and statements that cannot be built with malformed commitments."""

from __future__ import annotations

import pytest

from zkcert.errors import CertificateError
from zkcert.spec import standard_spec
from zkcert.statement import Statement


@pytest.mark.prove
def test_certificate_files_are_readable_by_others(honest_cert):
    """Atomic writes stage through private temporary files; the certificate itself is meant to be shared."""
    cert, _salts = honest_cert
    for f in cert.iterdir():
        assert f.stat().st_mode & 0o044 == 0o044, f.name


GOOD = "0x" + "ab" * 32


@pytest.mark.parametrize("field,value", [
    ("data_commitment", None), ("data_commitment", "None"), ("model_commitment", "0x1234"),
    ("model_commitment", "0X" + "AB" * 32), ("nonce", None),
])
def test_statement_rejects_malformed_commitments(field, value):
    kwargs = {"spec": standard_spec("demo"), "data_commitment": GOOD, "model_commitment": GOOD, "nonce": "n", field: value}
    with pytest.raises(CertificateError, match=field.split("_")[0]):
        Statement(**kwargs)
