import json

import pytest

import zkcert
from zkcert import Salts, audit, commit, measure
from zkcert.errors import InputError, MissingAnchors, VerificationError


def test_public_api_exports():
    for name in ("measure", "commit", "prove", "verify", "audit", "ZkcertError"):
        assert name in zkcert.__all__ and hasattr(zkcert, name)


def test_measure_is_deterministic_given_salts_and_nonce(tiny_mlp, tiny_data):
    salts = Salts.fresh()
    a = measure(tiny_mlp, tiny_data, nonce="n", salts=salts)
    assert a == measure(tiny_mlp, tiny_data, nonce="n", salts=salts)
    assert a.value != measure(tiny_mlp, tiny_data, nonce="other", salts=salts).value
    assert a.value > 0


def test_commit_matches_measure(tiny_mlp, tiny_data):
    committed = commit(tiny_mlp, tiny_data)
    assert measure(tiny_mlp, tiny_data, salts=committed.saved_salts()).commitments == committed.commitments


def test_sharded_commit_matches_measure(tiny_mlp, tiny_data):
    """Shards: C_D is the root over the shard commitments, the same in commit and measure."""
    from zkcert.commitments import shard_root

    committed = commit(tiny_mlp, tiny_data, shard_size=4)
    assert committed.n_shards == 4 and committed.data_commitment == shard_root(committed.shard_commitments)
    assert measure(tiny_mlp, tiny_data, salts=committed.saved_salts(), shard_size=4).commitments == committed.commitments


def test_read_published(tmp_path):
    from zkcert.api import published_json, read_published
    from zkcert.commitments import shard_root

    path = tmp_path / "commitments.json"
    path.write_text(json.dumps(published_json("0x01", "0x02")))
    assert read_published(path) == {"data_commitment": "0x01", "model_commitment": "0x02"}
    shards = ["0x0a", "0x0b"]
    path.write_text(json.dumps(published_json(shard_root(shards), "0x02", shards)))
    assert read_published(path)["data_commitment"] == shard_root(shards)
    for bad, match in [
        ({"data_commitment": "0x01"}, "lacks a 0x-hex model_commitment"),
        ({**published_json("0x01", "0x02"), "schema": "zkcert-commitments/v9"}, "upgrade zkcert"),
        ({**published_json("0x01", "0x02"), "nonce": "n"}, "unknown fields"),
        (published_json("0x01", "0x02", shards), "not the root"),
        ([1, 2], "JSON object"),
    ]:
        path.write_text(json.dumps(bad))
        with pytest.raises(InputError, match=match):
            read_published(path)


@pytest.mark.prove
def test_audit(proof_mlp, proof_data, honest_cert):
    from certs import PROOF_NONCE, TINY

    cert, salts = honest_cert
    # The commitments quantize at the statement's scale: commit at the scale the certificate was proved at.
    commitments = commit(proof_mlp, proof_data, salts=salts, input_scale=TINY["input_scale"]).commitments
    result = audit(cert, proof_mlp, proof_data, salts=salts, nonce=PROOF_NONCE, allow_untrusted_srs=True)
    assert result.verification.data_commitment == commitments.data
    assert result.verification.model_commitment == commitments.model
    assert result.verification.anchored
    assert result.float_metric == pytest.approx(result.reported_float_metric)
    with pytest.raises(MissingAnchors, match="nonce"):  # the auditor recomputes the commitments, not the nonce
        audit(cert, proof_mlp, proof_data, salts=salts, allow_untrusted_srs=True)
    with pytest.raises(VerificationError) as info:
        audit(cert, proof_mlp, proof_data, salts=Salts.fresh(), nonce=PROOF_NONCE, allow_untrusted_srs=True)
    assert info.value.check == "data-commitment"
