"""zkcert._internal.ezkl's views of ezkl's file layouts (proof instances, witness outputs and hashes, output scales)."""

from __future__ import annotations

import pytest

from zkcert._internal import ezkl as _ezkl
from zkcert.errors import InputError

FELT = "01" + "00" * 31


def test_proof_view_reads_the_one_instance_column():
    assert _ezkl.ProofView.from_json({"instances": [[FELT, "0x" + FELT]], "proof": "ab"}).instances == (FELT, "0x" + FELT)


@pytest.mark.parametrize("obj", [[], {}, {"instances": "x"}, {"instances": []}, {"instances": [[FELT], [FELT]]}])
def test_proof_view_refuses_anything_but_one_column(obj):
    with pytest.raises(InputError, match=r"^shard-0001\.proof\.json has no single instance column$"):
        _ezkl.ProofView.from_json(obj, what="shard-0001.proof.json")


@pytest.mark.parametrize("column", ["x", [FELT[:-2]], [FELT + "00"], [1], ["zz" * 32]])
def test_proof_view_refuses_instances_that_are_not_field_elements(column):
    with pytest.raises(InputError, match=r"^proof\.json's instances are not a list of 32-byte hex field elements$"):
        _ezkl.ProofView.from_json({"instances": [column]}, what="proof.json")


def test_witness_view_and_output_scales():
    witness = {"outputs": [[FELT], [FELT, FELT]], "processed_inputs": {"poseidon_hash": [FELT, FELT]}, "inputs": []}
    view = _ezkl.WitnessView.from_json(witness)
    assert view.outputs == ((FELT,), (FELT, FELT)) and view.input_hashes == (FELT, FELT)
    assert _ezkl.WitnessView.from_json({"outputs": [], "processed_inputs": None}).input_hashes == ()
    assert _ezkl.settings_output_scales({"model_output_scales": [0, 12, 12]}) == [0, 12, 12]


def test_committed_points_come_from_the_verified_proof_bytes_not_hex_proof():
    proof = {"instances": [[FELT]], "proof": list(range(192)) + [0] * 8, "hex_proof": "0x" + "ff" * 200}
    points = _ezkl.ProofView.from_json(proof).leading_points(3)
    assert points == tuple("0x" + bytes(range(64 * i, 64 * (i + 1))).hex() for i in range(3))
    # A malformed byte list reads as no transcript (ezkl.verify then fails the 'proof' check first).
    with pytest.raises(InputError, match="fewer than 3 committed points"):
        _ezkl.ProofView.from_json({**proof, "proof": "ab"}).leading_points(3)


@pytest.mark.prove
def test_verify_all_gives_each_proofs_own_answer_from_worker_processes(honest_cert, tmp_path, monkeypatch):
    """Parallel verification answers per proof, in order, as one-by-one verify() does; a worker that cannot run changes nothing."""
    import json

    from zkcert import circuit
    from zkcert.certificate import PROOF, VK, Manifest
    from zkcert.srs import find_srs_by_hash

    folder, _ = honest_cert
    manifest = Manifest.load(folder)
    settings, srs = circuit.compile_spec(manifest.statement.spec).settings, find_srs_by_hash(manifest.srs["sha256"]).path
    forged = json.loads((folder / PROOF).read_text())
    forged["proof"][200] ^= 1
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    proofs = [folder / PROOF, tmp_path / "forged.json", folder / PROOF, folder / PROOF, tmp_path / "forged.json"]
    expected = [True, False, True, True, False]
    assert [_ezkl.verify(p, settings, folder / VK, srs) for p in proofs] == expected
    assert _ezkl.verify_all(proofs, settings, folder / VK, srs, workers=2) == expected
    monkeypatch.setattr(_ezkl.sys, "executable", "/bin/false")  # workers that exit 1 and print nothing
    assert _ezkl.verify_all(proofs, settings, folder / VK, srs, workers=2) == expected
