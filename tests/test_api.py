import pytest

import zkcert
from zkcert import Salts, audit, commit, measure
from zkcert.errors import VerificationError


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
    commitments, salts = commit(tiny_mlp, tiny_data)
    assert measure(tiny_mlp, tiny_data, salts=salts).commitments == commitments


@pytest.mark.prove
def test_audit(proof_mlp, proof_data, honest_cert):
    cert, salts = honest_cert
    commitments, _ = commit(proof_mlp, proof_data, salts=salts)
    result = audit(cert, proof_mlp, proof_data, salts=salts)
    assert result.verification.data_commitment == commitments.data
    assert result.verification.model_commitment == commitments.model
    assert result.float_metric == pytest.approx(result.reported_float_metric)
    with pytest.raises(VerificationError) as info:
        audit(cert, proof_mlp, proof_data, salts=Salts.fresh())
    assert info.value.check == "data-commitment"
