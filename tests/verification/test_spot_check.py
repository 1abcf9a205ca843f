"""Spot-check certificates: an honest one verifies; a proof of another shard, fewer challenged shards, altered commitments or a valid proof of a false bound are rejected by the named check."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from certs import fails as _fails
from certs import SPOT_SAMPLED, SPOT_SHARD_SIZE, SPOT_SHARDS, TINY_KW, UNTRUSTED_SRS_OK, copy_cert, edit_json, rehash
from zkcert import circuit
from zkcert._internal import ezkl as _ezkl
from zkcert._internal.io import atomic_write_json
from zkcert.certificate import MANIFEST, SHARD_VK, Manifest, shard_proof_name
from zkcert.commitments import shard_root
from zkcert.challenge import exceeding_bound
from zkcert import owner
from zkcert.commitments import ShardSalts
from zkcert.srs import find_srs_by_hash
from zkcert.statement import SampledStatement
from zkcert.verification import SAMPLED_CHECKS, verify

NONCE = "spot-check-nonce"  # conftest.SPOT_NONCE


@pytest.fixture(scope="module")
def spot(spot_cert) -> tuple[Path, Path]:
    """(certificate, work folder) of the session's honest spot check: 1 challenged shard of 4 (conftest)."""
    return spot_cert


@pytest.fixture()
def cert(spot, tmp_path) -> Path:
    """A private copy of the honest spot-check certificate."""
    return copy_cert(spot[0], tmp_path / "cert")


def _challenged(folder: Path) -> int:
    (index,) = Manifest.load(folder).statement.challenged()
    return index


N_SHARDS, SHARD_SIZE, SAMPLED = SPOT_SHARDS, SPOT_SHARD_SIZE, SPOT_SAMPLED


def test_honest_spot_check_verifies(spot):
    folder, _ = spot
    st = Manifest.load(folder).statement
    assert isinstance(st, SampledStatement)
    result = verify(folder, data_commitment=st.data_commitment, model_commitment=st.model_commitment, nonce=NONCE, **UNTRUSTED_SRS_OK)
    assert result.anchored and result.checks == tuple(c for c in SAMPLED_CHECKS if c != "srs-trust")
    bound = exceeding_bound(N_SHARDS, SAMPLED, 0.95)
    assert f"fewer than {bound} of the {N_SHARDS} shards exceed 1000" in result.statement
    assert st.data_commitment == shard_root(st.shard_commitments) and len(st.shard_commitments) == N_SHARDS
    proofs = sorted(p.name for p in folder.glob("shard-*.proof.json"))
    assert proofs == [shard_proof_name(_challenged(folder))]  # only the challenged shard is proved
    reported = Manifest.load(folder).reported
    assert [s["index"] for s in reported["shards"]] == [_challenged(folder)]
    assert reported["challenged_float_max"] <= 1000.0


def test_proof_of_another_shard_is_refused(cert):
    """The owner proves a shard of their choosing instead of the challenged one."""
    picked = _challenged(cert)
    other = (picked + 1) % N_SHARDS
    (cert / shard_proof_name(picked)).rename(cert / shard_proof_name(other))
    edit_json(cert / MANIFEST, lambda m: m["files"].update({shard_proof_name(other): m["files"].pop(shard_proof_name(picked))}))
    _fails(cert, "challenge")


def test_fewer_challenged_shards_than_stated(cert):
    # Raising n_sampled adds shards to the (nested) challenge that the folder has no proof for.
    edit_json(cert / MANIFEST, lambda m: m["statement"].update(n_sampled=2))
    _fails(cert, "challenge")
    edit_json(cert / MANIFEST, lambda m: m["statement"].update(n_sampled=N_SHARDS + 1))
    _fails(cert, "certificate-format")


def test_listed_commitments_and_nonce(cert, spot):
    st = Manifest.load(spot[0]).statement
    # Wrong published values and issued nonce: tests/verification/test_tamper.py.
    # Another nonce in the manifest: the challenge or (if it picks the same shard) the direction changes.
    edit_json(cert / MANIFEST, lambda m: m["statement"].update(nonce="another"))
    _fails(cert, {"challenge", "direction"})
    edit_json(cert / MANIFEST, lambda m: m["statement"].update(nonce=NONCE, data_commitment="0x" + "ab" * 32))
    _fails(cert, "certificate-format")  # not the root of the listed shards: refused when read
    # Swapping the challenged shard's listed commitment for another's: against the published root the
    # challenge moves or the proof's data commitment no longer matches its entry.
    (picked,) = st.challenged()  # of the honest statement (the copy now holds a malformed one)
    swapped = list(st.shard_commitments)
    swapped[picked], swapped[(picked + 1) % N_SHARDS] = swapped[(picked + 1) % N_SHARDS], swapped[picked]
    edit_json(cert / MANIFEST, lambda m: m["statement"].update(data_commitment=shard_root(swapped), shard_commitments=swapped))
    _fails(cert, {"challenge", "data-commitment"}, data_commitment=st.data_commitment)


def test_shard_circuit_is_not_accepted(cert):
    edit_json(cert / MANIFEST, lambda m: m["statement"]["spec"].update(shard=True))
    _fails(cert, "certificate-format")


def test_valid_proof_of_a_false_bound_is_rejected_by_flag(cert, spot, proof_mlp, digits_train, tmp_path):
    """A malicious owner proves the challenged shard against T = 0 (flag 0) and ships key and proof."""
    manifest = Manifest.load(cert)
    st = manifest.statement
    salts = ShardSalts.from_json(json.loads((spot[1] / "salts.json").read_text()))
    plan = owner.plan(proof_mlp, digits_train.head(N_SHARDS * SHARD_SIZE), shard_size=SHARD_SIZE, threshold=0.0,
                       salts=salts, nonce=NONCE, **TINY_KW)
    spec = dataclasses.replace(st.spec, threshold=0.0)
    srs = find_srs_by_hash(manifest.srs["sha256"])
    files = circuit.compile_spec(spec)
    vk, pk = circuit.keys_for(files, srs)
    picked = _challenged(cert)
    atomic_write_json(tmp_path / "in.json", plan.shard_input(picked))
    _ezkl.gen_witness(tmp_path / "in.json", files.compiled, tmp_path / "w.json")
    _ezkl.prove(tmp_path / "w.json", files.compiled, pk, cert / shard_proof_name(picked), srs.path)
    (cert / SHARD_VK).write_bytes(vk.read_bytes())
    edit_json(cert / MANIFEST, lambda m: m["statement"]["spec"].update(threshold=0.0))
    rehash(cert)
    _fails(cert, "flag")


def test_audit_of_a_spot_check(spot, proof_mlp, digits_train):
    from zkcert.api import audit

    folder, work = spot
    salts = ShardSalts.from_json(json.loads((work / "salts.json").read_text()))
    result = audit(folder, proof_mlp, digits_train.head(N_SHARDS * SHARD_SIZE), salts=salts, nonce=NONCE, **UNTRUSTED_SRS_OK)
    assert result.float_metric == pytest.approx(Manifest.load(folder).reported["challenged_float_max"])
    assert "challenged shards" in result.verification.statement
