"""Spot-check certificates: the challenge, its confidence bound, and a certificate that proves only the
challenged shard, with every field that matters tampered with."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest

from certs import TINY, UNTRUSTED_SRS_OK, copy_cert, edit_json, rehash
from zkcert import _ezkl, circuit
from zkcert._io import atomic_write_json
from zkcert.certificate import MANIFEST, SHARD_VK, Manifest, shard_proof_name
from zkcert.commitments import shard_root
from zkcert.errors import InputError, VerificationError
from zkcert.sampling import challenge, exceeding_bound, pass_probability
from zkcert.shards import ShardSalts, plan_shards, prove_sharded
from zkcert.srs import find_srs_by_hash
from zkcert.statement import SampledStatement
from zkcert.verifier import SAMPLED_CHECKS, verify

NONCE = "spot-check-nonce"  # conftest.SPOT_NONCE
N_SHARDS, SHARD_SIZE, SAMPLED = 4, 2, 1  # conftest.SPOT_SHARDS, SPOT_SHARD_SIZE, SPOT_SAMPLED


def test_challenge_is_the_documented_prg():
    """The challenge is a contract: reimplemented here from the module's documentation alone."""
    root, c_theta, nonce = "0x" + "11" * 32, "0x" + "22" * 32, "n"
    seed = hashlib.sha256(b"zkcert/challenge/v1" + bytes.fromhex("11" * 32) + bytes.fromhex("22" * 32) + b"n").digest()
    ranked = sorted(range(10), key=lambda i: int.from_bytes(hashlib.sha256(seed + i.to_bytes(8, "big")).digest(), "big"))
    assert challenge(root, c_theta, nonce, 10, 3) == tuple(sorted(ranked[:3]))
    assert challenge("0x01", "0x02", "n", 10, 3) == (0, 2, 8)  # pinned: a change here breaks old certificates


def test_challenge_depends_on_every_input():
    base = challenge("0x01", "0x02", "n", 64, 8)
    assert len(set(base)) == 8 and all(0 <= i < 64 for i in base) and list(base) == sorted(base)
    assert {challenge("0x03", "0x02", "n", 64, 8), challenge("0x01", "0x03", "n", 64, 8), challenge("0x01", "0x02", "m", 64, 8)} != {base}
    assert set(challenge("0x01", "0x02", "n", 64, 4)) <= set(base)  # nested: asking for more never drops one
    assert challenge("0x01", "0x02", "n", 5, 5) == (0, 1, 2, 3, 4)


@pytest.mark.parametrize("n_shards, n_sampled", [(4, 0), (4, 5), (0, 1)])
def test_bad_sample_sizes(n_shards, n_sampled):
    with pytest.raises(InputError, match="challenge"):
        challenge("0x01", "0x02", "", n_shards, n_sampled)


def test_confidence_bound():
    # C(3, 2) / C(4, 2): the one bad shard escapes a challenge of two with probability 1/2.
    assert pass_probability(4, 2, 1) == pytest.approx(0.5)
    assert pass_probability(4, 2, 0) == pytest.approx(1.0)
    assert pass_probability(4, 2, 3) == pytest.approx(0.0)
    assert exceeding_bound(4, 4) == 1  # proving every shard: none exceeds
    b = exceeding_bound(1000, 100, 0.95)
    assert pass_probability(1000, 100, b) <= 0.05 < pass_probability(1000, 100, b - 1)
    assert exceeding_bound(1000, 100, 0.99) > b
    with pytest.raises(InputError):
        exceeding_bound(10, 2, 1.0)


@pytest.fixture(scope="module")
def spot(spot_cert) -> tuple[Path, Path]:
    """(certificate, work folder) of the session's honest spot check: 1 challenged shard of 4 (conftest)."""
    return spot_cert


@pytest.fixture()
def cert(spot, tmp_path) -> Path:
    """A private copy of the honest spot-check certificate."""
    return copy_cert(spot[0], tmp_path / "cert")


def _fails(folder: Path, check: str | set[str], **kwargs) -> None:
    with pytest.raises(VerificationError) as info:
        verify(folder, **{"unanchored": True, **UNTRUSTED_SRS_OK, **kwargs})
    assert info.value.check in ({check} if isinstance(check, str) else check), str(info.value)


def _challenged(folder: Path) -> int:
    (index,) = Manifest.load(folder).statement.challenged()
    return index


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
    _fails(cert, "data-commitment", data_commitment="0x" + "00" * 32)
    _fails(cert, "model-commitment", model_commitment="0x" + "00" * 32)
    _fails(cert, "nonce", nonce="another")
    # Another nonce in the manifest: the challenge or (if it picks the same shard) the direction changes.
    edit_json(cert / MANIFEST, lambda m: m["statement"].update(nonce="another"))
    _fails(cert, {"challenge", "direction"})
    edit_json(cert / MANIFEST, lambda m: m["statement"].update(nonce=NONCE, data_commitment="0x" + "ab" * 32))
    _fails(cert, "statement")
    # Swapping the challenged shard's listed commitment for another's: against the published root the
    # challenge moves or the proof's data commitment no longer matches its entry.
    picked = _challenged(cert)
    swapped = list(st.shard_commitments)
    swapped[picked], swapped[(picked + 1) % N_SHARDS] = swapped[(picked + 1) % N_SHARDS], swapped[picked]
    edit_json(cert / MANIFEST, lambda m: m["statement"].update(data_commitment=shard_root(swapped), shard_commitments=swapped))
    _fails(cert, {"challenge", "data-commitment"}, data_commitment=st.data_commitment)


def test_proof_bytes_and_key(cert):
    name = shard_proof_name(_challenged(cert))
    edit_json(cert / name, lambda p: p.update(proof=[b ^ 1 if i == 100 else b for i, b in enumerate(p["proof"])], hex_proof=None))
    rehash(cert)
    _fails(cert, "proof")
    edit_json(cert / MANIFEST, lambda m: m["statement"]["spec"].update(threshold=1.0))
    _fails(cert, "verifying-key")


def test_shard_circuit_is_not_accepted(cert):
    edit_json(cert / MANIFEST, lambda m: m["statement"]["spec"].update(shard=True))
    _fails(cert, "certificate-format")


def test_valid_proof_of_a_false_bound_is_rejected_by_flag(cert, spot, proof_mlp, digits_train, tmp_path):
    """A malicious owner proves the challenged shard against T = 0 (flag 0) and ships key and proof."""
    manifest = Manifest.load(cert)
    st = manifest.statement
    salts = ShardSalts.from_json(json.loads((spot[1] / "salts.json").read_text()))
    plan = plan_shards(proof_mlp, digits_train.head(N_SHARDS * SHARD_SIZE), shard_size=SHARD_SIZE, threshold=0.0,
                       salts=salts, nonce=NONCE, **TINY)
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

