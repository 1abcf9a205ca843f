import json

import pytest

import zkcert
from zkcert import Salts, audit, commit, measure
from zkcert.errors import InputError, MissingAnchors, VerificationError


def test_public_api_exports():
    for name in ("measure", "commit", "prove", "verify", "audit", "ZkcertError"):
        assert name in zkcert.__all__ and hasattr(zkcert, name)


POSEIDON_V1 = "default"  # a preset whose commitments (Poseidon) exist without a circuit


def test_measure_is_deterministic_given_salts_and_nonce(tiny_mlp, tiny_data):
    salts = Salts.fresh()
    a = measure(tiny_mlp, tiny_data, nonce="n", salts=salts, statement=POSEIDON_V1)
    assert a == measure(tiny_mlp, tiny_data, nonce="n", salts=salts, statement=POSEIDON_V1)
    assert a.value != measure(tiny_mlp, tiny_data, nonce="other", salts=salts, statement=POSEIDON_V1).value
    assert a.value > 0 and a.exact


def test_commit_matches_measure(tiny_mlp, tiny_data):
    committed = commit(tiny_mlp, tiny_data, statement=POSEIDON_V1)
    assert measure(tiny_mlp, tiny_data, salts=committed.salts, statement=POSEIDON_V1).commitments == committed.commitments
    # Measuring from the published commitments needs no hashing, and gives the same direction, so the same value.
    assert (measure(tiny_mlp, tiny_data, published=committed, statement=POSEIDON_V1).value
            == measure(tiny_mlp, tiny_data, salts=committed.salts, statement=POSEIDON_V1).value)


def test_sharded_commit_matches_measure(tiny_mlp, tiny_data):
    """Shards: C_D is the root over the shard commitments, the same in commit and measure."""
    from zkcert.commitments import shard_root

    committed = commit(tiny_mlp, tiny_data, shard_size=4, statement=POSEIDON_V1)
    assert len(committed.shard_commitments) == 4 and committed.data_commitment == shard_root(committed.shard_commitments)
    assert (measure(tiny_mlp, tiny_data, salts=committed.salts, shard_size=4, statement=POSEIDON_V1).commitments
            == committed.commitments)


def test_measure_before_kzg_commitments_reports_the_spread(tiny_mlp, tiny_data):
    """Under kzg/v1 no direction exists before `commit` (the points need the circuit's key): measure reports the
    median and 10-90 % range over draws, and says it is not exact."""
    result = measure(tiny_mlp, tiny_data, draws=12, statement="fast")
    assert not result.exact and result.draws == 12 and result.commitments is None
    low, high = result.spread
    assert low <= result.value <= high and low < high
    assert result.to_json()["p10"] == low and result.to_json()["exact"] is False
    with pytest.raises(InputError, match="draws"):
        measure(tiny_mlp, tiny_data, draws=0, statement="fast")


def test_published_folder_round_trips_and_refuses_other_commitments(tiny_mlp, tiny_data, tmp_path):
    from zkcert.owner import commit as owner_commit
    from zkcert.published import Published

    committed = commit(tiny_mlp, tiny_data, statement=POSEIDON_V1)
    assert Published.load(committed.save(tmp_path / "c")) == committed
    assert not (tmp_path / "c" / "spec.json").exists()  # poseidon/v1 needs no circuit to commit
    same = owner_commit(tiny_mlp, tiny_data, salts=committed.salts, input_scale=12)
    committed.check(same)
    other = owner_commit(tiny_mlp, tiny_data, salts=Salts.fresh(), input_scale=12)
    with pytest.raises(InputError, match="model and data commitments of this model, data and salts differ from the published ones"):
        committed.check(other)
    with pytest.raises(InputError, match="commit folder not found"):
        Published.load(tmp_path / "missing")


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
    commitments = commit(proof_mlp, proof_data, salts=salts, statement=TINY).commitments
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


def test_commit_takes_the_shard_size_from_either_place_and_refuses_two(tiny_mlp, tiny_data):
    """commit(shard_size=2, execution=Execution(...)) once dropped the 2 silently and committed one shard."""
    from zkcert.api import _with_shard_size
    from zkcert.errors import InputError
    from zkcert.proving import Execution

    assert _with_shard_size(Execution(max_logrows=15), 2) == Execution(shard_size=2, max_logrows=15)
    assert _with_shard_size(Execution(shard_size=2), 2) == _with_shard_size(Execution(shard_size=2), None) == Execution(shard_size=2)
    with pytest.raises(InputError, match="shard_size 2 and the execution's 4 differ"):
        zkcert.commit(tiny_mlp, tiny_data, statement="fast", threshold=1000.0, shard_size=2, execution=Execution(shard_size=4))
