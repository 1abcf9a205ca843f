"""A real certificate on a tiny model, and every field that matters tampered with (check named each time);
anchored verification (missing, wrong and absent published values) and the SRS's trust."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import shutil

from certs import fails as _fails
from certs import (
    FORGED_LABELS, PROOF_NONCE, UNTRUSTED_SRS_OK, anchors, copy_cert, edit_json, prove_regardless, rehash, relabel, with_threshold,
)
from zkcert import verify
from zkcert.certificate import MANIFEST, PROOF, SRS_FILE, VK, Manifest
from zkcert.errors import MissingAnchors, UntrustedSrs, VerificationError
from zkcert.srs import find_srs_by_hash, local_srs
from zkcert.verification import ANCHOR_CHECKS, CHECKS

pytestmark = pytest.mark.prove
NONCE = PROOF_NONCE


@pytest.fixture(scope="module")
def honest(honest_cert) -> Path:
    """The session's honest certificate."""
    return honest_cert[0]


@pytest.fixture(scope="module")
def false_statement(proof_mlp, proof_data, honest, tmp_path_factory) -> Path:
    """A valid proof of a false statement (flag 0): T far below the metric, proved by a malicious prover."""
    spec = with_threshold(Manifest.load(honest).statement.spec, 0.001)
    return prove_regardless(proof_mlp, proof_data, spec, tmp_path_factory.mktemp("certs") / "false", nonce=NONCE)


@pytest.fixture(scope="module")
def zero_labels(proof_mlp, proof_data, honest, tmp_path_factory) -> Path:
    """A forged certificate: all-zero label vectors committed, everything else consistent (commitments, direction)."""
    spec = Manifest.load(honest).statement.spec
    return prove_regardless(proof_mlp, proof_data, spec, tmp_path_factory.mktemp("certs") / "zero-labels", nonce=NONCE,
                            edit=relabel(spec, FORGED_LABELS["zero"]))


@pytest.fixture()
def cert(honest, tmp_path) -> Path:
    """A private copy of the honest certificate to tamper with."""
    return copy_cert(honest, tmp_path / "cert")


@pytest.fixture()
def verifier_srs(honest, tmp_path) -> Path:
    """The SRS as the verifier holds it: its own file, passed with --srs (here a copy of the test SRS)."""
    path = tmp_path / "verifier.srs"
    shutil.copyfile(find_srs_by_hash(Manifest.load(honest).srs["sha256"]).path, path)
    return path


def test_honest_certificate_verifies(honest, proof_mlp, proof_data):
    from zkcert.metric import correct_mask

    manifest = Manifest.load(honest)
    result = verify(honest, **anchors(honest, NONCE), **UNTRUSTED_SRS_OK)
    # The certified training accuracy is the model's on the committed samples, and the manifest reports it.
    assert result.train_correct == int(correct_mask(proof_mlp, proof_data).sum()) == manifest.reported["circuit_correct"]
    assert result.n_samples == len(proof_data) and result.to_json()["train_accuracy"] == result.train_accuracy
    assert result.threshold == 1000.0 and "directional sharpness <= 1000" in result.statement
    assert result.anchored and not result.srs_trusted and result.not_checked == ("srs-trust",)
    assert result.checks == tuple(c for c in CHECKS if c != "srs-trust")
    assert any("untrusted SRS allowed" in w for w in result.warnings)
    assert result.circuit_metric == pytest.approx(manifest.reported["float_metric"], rel=0.15)
    assert manifest.reported["circuit_metric"] == result.circuit_metric


def test_anchors_are_required(honest):
    """Without the published commitments and the issued nonce, verify refuses and names what is missing."""
    with pytest.raises(MissingAnchors, match="published data commitment, the published model commitment, the nonce you issued") as info:
        verify(honest, **UNTRUSTED_SRS_OK)
    assert info.value.missing == ANCHOR_CHECKS and info.value.exit_code == 5 and info.value.check == "anchors"
    given = anchors(honest, NONCE)
    del given["nonce"]
    with pytest.raises(MissingAnchors, match="missing the nonce you issued to") as info:
        verify(honest, **given, **UNTRUSTED_SRS_OK)
    assert info.value.missing == ("nonce",)


def test_unanchored_is_consistent_not_verified(honest):
    result = verify(honest, unanchored=True, **UNTRUSTED_SRS_OK)
    assert not result.anchored and result.status == "consistent (unanchored)"
    assert result.not_checked == ("srs-trust", *ANCHOR_CHECKS)
    assert not set(ANCHOR_CHECKS) & set(result.checks)
    out = result.to_json()
    assert out["ok"] is False and out["not_checked"] == ["srs-trust", *ANCHOR_CHECKS]
    # The values that are given are checked, even in an unanchored run.
    partial = verify(honest, unanchored=True, nonce=NONCE, **UNTRUSTED_SRS_OK)
    assert "nonce" in partial.checks and partial.not_checked == ("srs-trust", "data-commitment", "model-commitment")
    _fails(honest, "nonce", nonce="not-issued")


def test_verifier_given_srs_is_trusted(honest, verifier_srs):
    result = verify(honest, **anchors(honest, NONCE), srs_path=verifier_srs)
    assert result.anchored and result.srs_trusted and result.checks == CHECKS and result.not_checked == ()
    # The test SRS was made by the prover, and the manifest says so: trusted only because the verifier passed it.
    assert any("trusted only because you passed it" in w for w in result.warnings)


def test_prover_srs_is_refused(honest):
    """The only SRS at hand is the one the prover generated (in this machine's cache): 'srs-trust', exit 4."""
    with pytest.raises(UntrustedSrs, match="prover's locally generated SRS") as info:
        verify(honest, **anchors(honest, NONCE))
    assert info.value.check == "srs-trust" and info.value.exit_code == 4


def test_shipped_srs_is_refused_unless_allowed(cert, monkeypatch):
    """An SRS that comes with the certificate is the prover's: refused, or used with a warning when allowed."""
    from zkcert._internal.io import sha256_file
    from zkcert.verification import steps

    shutil.copyfile(find_srs_by_hash(Manifest.load(cert).srs["sha256"]).path, cert / SRS_FILE)
    edit_json(cert / MANIFEST, lambda m: m["files"].update({SRS_FILE: sha256_file(cert / SRS_FILE)}))
    monkeypatch.setattr(steps, "find_srs_by_hash", lambda _sha: None)  # a verifier machine without the prover's cache
    with pytest.raises(UntrustedSrs, match="the SRS the certificate ships"):
        verify(cert, **anchors(cert, NONCE))
    result = verify(cert, **anchors(cert, NONCE), **UNTRUSTED_SRS_OK)
    assert not result.srs_trusted and any("the SRS the certificate ships" in w for w in result.warnings)


def test_flag_instance_altered(false_statement, tmp_path):
    forged = copy_cert(false_statement, tmp_path / "forged")
    edit_json(forged / PROOF, lambda p: p["instances"][0].__setitem__(3, "01" + "00" * 31))
    rehash(forged)
    _fails(forged, "proof")


def test_valid_proof_of_false_statement_rejected_by_flag(false_statement):
    _fails(false_statement, "flag", "bound does not hold")


def test_forged_labels_rejected_by_name(zero_labels):
    """Zero label vectors make the loss the log-sum-exp alone and pass any T (issue 21); the circuit's label check
    says so in a valid proof, and verification fails 'labels', though the bound itself holds."""
    from zkcert import circuit
    from zkcert._internal import ezkl as _ezkl
    from zkcert.verification.forms import form_of

    manifest = Manifest.load(zero_labels)
    spec = manifest.statement.spec
    files = circuit.compile_spec(spec)
    outputs = circuit.read_instances(spec, _ezkl.ProofView.from_json(json.loads((zero_labels / PROOF).read_text()))).outputs
    read = circuit.read_outputs(spec, circuit.decode_outputs(outputs, files.settings_json()))
    assert (read.flag, read.labels_ok, read.correct) == (1.0, 0.0, 0.0) and form_of(manifest).flag_proofs == (PROOF,)
    _fails(zero_labels, "labels", "not all one-hot", **anchors(zero_labels, NONCE))


def test_verifying_key_swapped(cert, false_statement):
    (cert / VK).write_bytes((false_statement / VK).read_bytes())
    rehash(cert)
    _fails(cert, "verifying-key")


def test_nonce_altered_breaks_direction(cert):
    edit_json(cert / MANIFEST, lambda m: m["statement"].update(nonce="ground-nonce"))
    _fails(cert, "direction")


def test_pretty_public_inputs_are_ignored(false_statement, tmp_path):
    """A forger who edits the pretty copy (flag 1, other commitment) gains nothing: instances decide."""
    forged = copy_cert(false_statement, tmp_path / "forged")

    def lie(p):
        pretty = p["pretty_public_inputs"]
        pretty["outputs"][0][0] = "0x" + "00" * 31 + "01"
        pretty["rescaled_outputs"][0][0] = "1"
        pretty["processed_inputs"][0][0] = "0x" + "12" * 32

    edit_json(forged / PROOF, lie)
    rehash(forged)
    _fails(forged, "flag")


@pytest.mark.parametrize(
    "change,match",
    [
        (lambda m: m.update(schema="zkcert-certificate/v99"), "upgrade zkcert"),
        (lambda m: m.update(extra=1), "unknown fields"),
        (lambda m: m["files"].pop("proof.json"), "lists no proof.json"),
        (lambda m: m["statement"]["spec"].update(schema="zkcert-circuit/v0"), "upgrade zkcert"),
    ],
)
def test_malformed_manifest(cert, change, match):
    edit_json(cert / MANIFEST, change)
    _fails(cert, "certificate-format", match)


def test_missing_or_truncated_files(cert):
    (cert / VK).unlink()
    _fails(cert, "certificate-format", "vk.key is missing")
    (cert / MANIFEST).write_text((cert / MANIFEST).read_text()[:50])
    _fails(cert, "certificate-format", "not valid JSON")


def test_srs_must_match(cert, tmp_path):
    other = tmp_path / "other.srs"
    data = local_srs(Manifest.load(cert).statement.spec.logrows).path.read_bytes()
    other.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # always a different file (a fixed byte was not)
    _fails(cert, "srs", "the SRS you gave", srs_path=other)
    edit_json(cert / MANIFEST, lambda m: m["srs"].update(sha256="ab" * 32))
    _fails(cert, "srs", "no SRS with hash")
    _fails(cert, "srs-trust", "no SRS given", allow_untrusted_srs=False)


def test_pinned_fingerprint_is_used(cert, tmp_path, monkeypatch):
    from zkcert import verification as verifier
    from zkcert._internal.io import sha256_file
    from zkcert.verification import fingerprints

    table = tmp_path / "fingerprints.json"
    monkeypatch.setattr(fingerprints, "FINGERPRINTS", table)
    spec = Manifest.load(cert).statement.spec
    srs_hash = Manifest.load(cert).srs["sha256"]
    verifier.pin_fingerprint(spec.digest(), srs_hash, "00" * 32, table)
    _fails(cert, "verifying-key", "not the one pinned")
    verifier.pin_fingerprint(spec.digest(), srs_hash, sha256_file(cert / VK), table)
    assert verifier.verify(cert, **anchors(cert, NONCE), **UNTRUSTED_SRS_OK).checks[0] == "certificate-format"


@pytest.mark.parametrize(
    "change,check,match",
    [
        (lambda s: s["run_args"].update(ignore_range_check_inputs_outputs=True), "certificate-format", "may not set"),
        (lambda s: s["run_args"].update(param_scale=1), "certificate-format", "differs from the spec"),
        # A fixed-range spec whose range is not the graph's bound: say, one calibrated on the data after all.
        (lambda s: s["run_args"].update(lookup_range=[-32768, 3428]), "certificate-format", "graph's bound"),
        (lambda s: s.update(epsilon=2**-12), "certificate-format", "not a multiple"),
        (lambda s: s.update(epsilon=0.375), "certificate-format", "graph 8 needs epsilon = 2"),  # exact, but not 2**-k
        (lambda s: s["run_args"].update(logrows=26), "verifying-key", "above this verifier's limit"),
        (lambda s: s["layers"].append({"type": "Sigmoid"}), "verifying-key", "cannot build"),
    ],
)
def test_hostile_spec_rejected(cert, change, check, match):
    edit_json(cert / MANIFEST, lambda m: change(m["statement"]["spec"]))
    _fails(cert, check, match)


@pytest.mark.parametrize("field,value", [("metric", "ds/v1"), ("direction", "rademacher-abs/v1")])
def test_a_certificate_of_one_metric_never_verifies_as_another(cert, field, value):
    """The metric and the direction family are compiled into the circuit: renaming them in the manifest fails.

    A row-sign spec names graph 2, which no rademacher-abs spec may: that rename fails as the statement is read.
    """
    assert Manifest.load(cert).statement.spec.to_json()[field] != value
    given = anchors(cert, PROOF_NONCE)
    edit_json(cert / MANIFEST, lambda m: m["statement"]["spec"].update({field: value}))
    rehash(cert)
    with pytest.raises(VerificationError) as info:
        verify(cert, **given, **UNTRUSTED_SRS_OK)
    assert info.value.check in {"instances", "verifying-key", "certificate-format"}, info.value
