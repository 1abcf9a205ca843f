"""One tamper table, run over all three certificate forms (single proof, shards, spot check).

Each row changes one thing that matters and names the check that must stop it in each form. The
verification is anchored with the honest certificate's published commitments and issued nonce, so an
anchor row (a wrong published value) is a change of the verifier's inputs, not of the folder.
The forms differ only where their statements do: a sharded statement's rules (the aggregation's bound
and metric, the root over the shard commitments) are checked when the manifest is read, so edits that
break them fail 'certificate-format'; in a spot check the nonce also picks the shards ('challenge').
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import pytest

from certs import PROOF_NONCE, SHARD_NONCE, SPOT_NONCE, UNTRUSTED_SRS_OK, anchors, copy_cert, edit_json, rehash
from zkcert.certificate import MANIFEST, PROOF, SHARD_VK, VK, Manifest, shard_proof_name
from zkcert.errors import VerificationError
from zkcert.statement import SampledStatement, Statement
from zkcert.verification import verify

pytestmark = [pytest.mark.prove, pytest.mark.session_certs]  # reads them by getfixturevalue (conftest)

KINDS = ("single", "sharded", "spot")
NONCES = {"single": PROOF_NONCE, "sharded": SHARD_NONCE, "spot": SPOT_NONCE}
OTHER = "0x" + "ab" * 32


@pytest.fixture(params=KINDS)
def kind(request) -> str:
    return request.param


def _honest(request: pytest.FixtureRequest, kind: str) -> Path:
    """The session's honest certificate of this form (only that form's fixture is built)."""
    return request.getfixturevalue({"single": "honest_cert", "sharded": "sharded_cert", "spot": "spot_cert"}[kind])[0]


@pytest.fixture()
def honest(kind, request) -> Path:
    return _honest(request, kind)


def _proof(folder: Path) -> str:
    """The file name of one sharpness proof (the single proof, shard 0, or the challenged shard)."""
    st = Manifest.load(folder).statement
    if isinstance(st, Statement):
        return PROOF
    return shard_proof_name(st.challenged()[0] if isinstance(st, SampledStatement) else 0)


def _vk(folder: Path) -> str:
    return VK if isinstance(Manifest.load(folder).statement, Statement) else SHARD_VK


def _flip_byte(folder: Path, name: str) -> None:
    data = bytearray((folder / name).read_bytes())
    data[len(data) // 2] ^= 0x01
    (folder / name).write_bytes(bytes(data))


def _statement(change: Callable[[dict], Any]) -> Callable[[Path], None]:
    return lambda folder: edit_json(folder / MANIFEST, lambda m: change(m["statement"]))


def _then_rehash(tamper: Callable[[Path], None]) -> Callable[[Path], None]:
    def both(folder: Path) -> None:
        tamper(folder)
        rehash(folder)
    return both


# (row, tamper with the folder, verifier inputs to change, expected check per form)
ROWS: list[tuple[str, Callable[[Path], None] | None, dict[str, str], dict[str, str | set[str]]]] = [
    ("proof byte, not rehashed", lambda f: _flip_byte(f, _proof(f)), {}, dict.fromkeys(KINDS, "certificate-format")),
    ("proof byte, rehashed", _then_rehash(lambda f: edit_json(f / _proof(f), lambda p: p["proof"].__setitem__(100, p["proof"][100] ^ 1))),
     {}, dict.fromkeys(KINDS, "proof")),
    ("verifying key swapped", _then_rehash(lambda f: (f / _vk(f)).write_bytes(os.urandom(64))), {}, dict.fromkeys(KINDS, "verifying-key")),
    # A changed spec costs the verifier a key rebuilt from it (about 25 s at logrows 15); a spot check's spec is
    # read and rebuilt by the same steps as a single proof's (verification.steps.trusted_key), so it runs once.
    ("threshold lowered", _statement(lambda st: st["spec"].update(threshold=st["spec"]["threshold"] / 2)), {},
     {"single": "verifying-key", "sharded": "certificate-format"}),
    ("metric renamed", _statement(lambda st: st["spec"].update(metric="ds/v1")), {},
     {"single": "verifying-key", "sharded": "certificate-format"}),
    ("data commitment in manifest", _statement(lambda st: st.update(data_commitment=OTHER)), {},
     {"single": "statement", "sharded": "certificate-format", "spot": "certificate-format"}),
    ("model commitment in manifest", _statement(lambda st: st.update(model_commitment=OTHER)), {},
     {"single": "statement", "sharded": "statement", "spot": {"challenge", "statement"}}),
    ("nonce in manifest", _statement(lambda st: st.update(nonce="another")), {},
     {"single": "nonce", "sharded": "nonce", "spot": {"challenge", "nonce"}}),
    ("reported value", lambda f: edit_json(f / MANIFEST, lambda m: m["reported"].update(circuit_metric=0.001)), {},
     dict.fromkeys(KINDS, "statement")),
    ("text", _statement(lambda st: st.update(text="model is flat")), {}, dict.fromkeys(KINDS, "statement")),
    ("published data commitment", None, {"data_commitment": OTHER}, dict.fromkeys(KINDS, "data-commitment")),
    ("published model commitment", None, {"model_commitment": OTHER}, dict.fromkeys(KINDS, "model-commitment")),
    ("issued nonce", None, {"nonce": "another"}, dict.fromkeys(KINDS, "nonce")),
]


CASES = [pytest.param(kind, *row, id=f"{kind}-{row[0]}") for kind in KINDS for row in ROWS if kind in row[3]]


@pytest.mark.parametrize("kind, row, tamper, inputs, expected", CASES)
def test_tamper(kind, request, tmp_path, row, tamper, inputs, expected):
    honest = _honest(request, kind)
    folder = copy_cert(honest, tmp_path / "cert")
    given = anchors(honest, NONCES[kind])
    if tamper is not None:
        tamper(folder)
    with pytest.raises(VerificationError) as info:
        verify(folder, **{**given, **inputs}, **UNTRUSTED_SRS_OK)
    want = expected[kind]
    assert info.value.check in ({want} if isinstance(want, str) else want), f"{row}: {info.value}"


def test_the_honest_certificates_verify(kind, honest):
    """The table's baseline: untouched, each form verifies anchored."""
    assert verify(honest, **anchors(honest, NONCES[kind]), **UNTRUSTED_SRS_OK).anchored
