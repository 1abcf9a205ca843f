"""Sharded certificates: an honest one verifies; a swapped, dropped or repeated shard, a broken link to
the aggregation, and a valid aggregation proof of a false bound are each rejected by the named check."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from certs import fails as _fails
from certs import UNTRUSTED_SRS_OK, anchors, copy_cert, edit_json, rehash
from zkcert import circuit
from zkcert._internal import ezkl as _ezkl
from zkcert._internal.io import atomic_write_json
from zkcert.certificate import AGGREGATE_PROOF, AGGREGATE_VK, MANIFEST, Manifest, shard_proof_name
from zkcert.commitments import shard_root
from zkcert.errors import InputError, VerificationError
from zkcert.commitments import ShardSalts
from zkcert.proving.aggregate import aggregation_inputs
from zkcert.srs import find_srs_by_hash
from zkcert.verification import SHARDED_CHECKS, verify

NONCE = "shard-nonce"  # conftest.SHARD_NONCE


@pytest.fixture(scope="module")
def sharded(sharded_cert) -> tuple[Path, Path]:
    """(certificate, work folder) of the session's honest 2-shard certificate over 4 samples (conftest)."""
    return sharded_cert


@pytest.fixture()
def cert(sharded, tmp_path) -> Path:
    """A private copy of the honest sharded certificate to tamper with."""
    return copy_cert(sharded[0], tmp_path / "cert")


def _statement(folder: Path) -> dict:
    import json

    return json.loads((folder / MANIFEST).read_text())["statement"]


def test_honest_sharded_certificate_verifies(sharded):
    folder, _work = sharded
    st = Manifest.load(folder).statement
    result = verify(folder, data_commitment=st.data_commitment, model_commitment=st.model_commitment, nonce=NONCE, **UNTRUSTED_SRS_OK)
    assert result.anchored and result.checks == tuple(c for c in SHARDED_CHECKS if c != "srs-trust") and "shard-link" in result.checks
    assert "N=4 in 2 shards" in result.statement
    assert st.data_commitment == shard_root(st.shard_commitments)
    reported = Manifest.load(folder).reported
    assert result.circuit_metric == reported["circuit_metric"]
    assert result.circuit_metric == pytest.approx(reported["float_metric"], rel=0.15)


def test_partials_stay_hidden(sharded):
    """The verifier sees one hash per shard, not its partial sum: a shard proof has exactly 4 instances."""
    import json

    folder, _ = sharded
    proof = json.loads((folder / shard_proof_name(0)).read_text())
    assert len(proof["instances"][0]) == 4
    agg = json.loads((folder / AGGREGATE_PROOF).read_text())
    # two shard hashes, the flag, labels_ok, the correct count, the revealed total numerator and (rds/v1) total loss
    assert len(agg["instances"][0]) == 2 + 5


def test_swapped_shards(cert, sharded):
    root = Manifest.load(sharded[0]).statement.data_commitment
    a, b = cert / shard_proof_name(0), cert / shard_proof_name(1)
    tmp = cert / "tmp"
    a.rename(tmp), b.rename(a), tmp.rename(b)
    rehash(cert)
    _fails(cert, "data-commitment")
    # A forger who also swaps the listed commitments changes the root the owner published.
    edit_json(cert / MANIFEST, lambda m: m["statement"]["shard_commitments"].reverse())
    edit_json(cert / MANIFEST, lambda m: m["statement"].update(data_commitment=shard_root(m["statement"]["shard_commitments"])))
    _fails(cert, "data-commitment", data_commitment=root)
    # Without a published root: the root made from the edited list yields another direction.
    _fails(cert, "direction")


def test_dropped_shard(cert):
    (cert / shard_proof_name(1)).unlink()
    _fails(cert, "certificate-format")
    edit_json(cert / MANIFEST, lambda m: m["files"].pop(shard_proof_name(1)))
    edit_json(cert / MANIFEST, lambda m: m["statement"]["shard_commitments"].pop())
    _fails(cert, "certificate-format")


def test_repeated_shard(cert, sharded):
    root = Manifest.load(sharded[0]).statement.data_commitment
    shutil.copyfile(cert / shard_proof_name(0), cert / shard_proof_name(1))
    rehash(cert)
    _fails(cert, "data-commitment")
    edit_json(cert / MANIFEST, lambda m: m["statement"]["shard_commitments"].__setitem__(1, m["statement"]["shard_commitments"][0]))
    edit_json(cert / MANIFEST, lambda m: m["statement"].update(data_commitment=shard_root(m["statement"]["shard_commitments"])))
    _fails(cert, "data-commitment", data_commitment=root)
    _fails(cert, "direction")


def test_aggregation_of_other_shards(cert, sharded):
    """An aggregation proof whose inputs are not these shards' outputs (here: in the other order)."""
    import json

    agg = json.loads((cert / AGGREGATE_PROOF).read_text())
    assert agg["instances"][0][0] != agg["instances"][0][1]
    # Reordering the aggregation's instances breaks the proof itself (they are bound by it).
    def swap(proof: dict) -> None:
        inst = proof["instances"][0]
        inst[0], inst[1] = inst[1], inst[0]

    edit_json(cert / AGGREGATE_PROOF, swap)
    rehash(cert)
    _fails(cert, "proof")


@pytest.mark.parametrize("name", [AGGREGATE_PROOF])  # a shard proof's bytes: tests/verification/test_tamper.py
def test_proof_bytes(cert, name):
    edit_json(cert / name, lambda p: p.update(proof=[b ^ 1 if i == 100 else b for i, b in enumerate(p["proof"])], hex_proof=None))
    _fails(cert, "certificate-format")
    rehash(cert)
    _fails(cert, "proof")


@pytest.mark.parametrize("change, checks", [
    (lambda st: st["aggregation"].update(bound=st["aggregation"]["bound"] * 2), {"certificate-format"}),  # checked when read
    # Either the rebuilt key differs or the explicit comparison with the shard circuit's output scale
    # stops it; both reject, and the explicit check does not depend on how ezkl lays out the circuit.
    (lambda st: st["aggregation"].update(input_scale=st["aggregation"]["input_scale"] - 1), {"verifying-key", "statement"}),
])
def test_aggregation_fields(cert, change, checks):
    edit_json(cert / MANIFEST, lambda m: change(m["statement"]))
    with pytest.raises(VerificationError) as info:
        verify(cert, unanchored=True, **UNTRUSTED_SRS_OK)
    assert info.value.check in checks, str(info.value)


def test_fresh_verifier_rebuilds_the_same_keys(sharded, tmp_path, monkeypatch):
    """A verifier with an empty cache (another process, another machine) accepts the honest certificate.

    ezkl writes lookup and range-check sets in a per-process hash order; without
    circuit.canonicalize_settings a rebuilt key differed from the prover's about half the time.
    """
    import subprocess
    import sys

    folder, _ = sharded
    srs = find_srs_by_hash(Manifest.load(folder).srs["sha256"])
    env = {**__import__("os").environ, "ZKCERT_CACHE": str(tmp_path / "empty-cache")}
    given = anchors(folder, NONCE)
    argv = ["--data-commitment", given["data_commitment"], "--model-commitment", given["model_commitment"], "--nonce", NONCE]
    done = subprocess.run([sys.executable, "-m", "zkcert.cli", "verify", str(folder), *argv, "--srs", str(srs.path), "--json"],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["ok"] is True


def test_valid_aggregation_of_a_false_bound_is_rejected_by_flag(cert, sharded, tmp_path):
    """A malicious owner claims T = 0, proves the aggregation (flag = 0, the total is above 0) and ships it: the flag check stops it.

    The shard circuit does not use T, so the shard proofs and key stay valid for the altered statement.
    """
    import json

    manifest = Manifest.load(cert)
    st = manifest.statement
    srs = find_srs_by_hash(manifest.srs["sha256"])
    shard_files = circuit.compile_spec(st.spec)
    scale = shard_files.settings_json()["model_output_scales"][0]
    outputs = [json.loads((sharded[1] / f"shard-{i:04d}.json").read_text())["outputs"] for i in range(2)]
    inputs = aggregation_inputs(outputs, scale)
    spec = dataclasses.replace(st.aggregation, bound=0.0)
    atomic_write_json(tmp_path / "in.json", inputs)
    files = circuit.compile_spec(spec)
    vk, pk = circuit.keys_for(files, srs)
    _ezkl.gen_witness(tmp_path / "in.json", files.compiled, tmp_path / "w.json")
    _ezkl.prove(tmp_path / "w.json", files.compiled, pk, cert / AGGREGATE_PROOF, srs.path)
    shutil.copyfile(vk, cert / AGGREGATE_VK)
    edit_json(cert / MANIFEST, lambda m: (m["statement"]["aggregation"].update(bound=0.0), m["statement"]["spec"].update(threshold=0.0)))
    rehash(cert)
    _fails(cert, "flag")


def test_audit_of_a_sharded_certificate(sharded, proof_mlp, digits_train):
    """An auditor with the data and the shard salts recomputes the root, C_theta and the float metric."""
    import json

    from zkcert.api import audit
    from zkcert.commitments import Salts

    folder, work = sharded
    salts = ShardSalts.from_json(json.loads((work / "salts.json").read_text()))
    result = audit(folder, proof_mlp, digits_train.head(4), salts=salts, nonce=NONCE, **UNTRUSTED_SRS_OK)
    assert result.float_metric == pytest.approx(Manifest.load(folder).reported["float_metric"])
    assert result.verification.data_commitment == Manifest.load(folder).statement.data_commitment
    with pytest.raises(VerificationError) as info:  # other data: the recomputed root differs
        audit(folder, proof_mlp, digits_train.subset(np.arange(4, 8)), salts=salts, nonce=NONCE, **UNTRUSTED_SRS_OK)
    assert info.value.check == "data-commitment"
    with pytest.raises(InputError, match="shard salts"):
        audit(folder, proof_mlp, digits_train.head(4), salts=Salts.fresh(), nonce=NONCE, **UNTRUSTED_SRS_OK)


def test_cli_audit_reads_shard_salts(sharded, proof_mlp, tmp_path, capsys):
    from zkcert.cli import main
    from zkcert.models import save_model

    folder, work = sharded
    save_model(proof_mlp, tmp_path / "m.pt")
    argv = ["audit", str(folder), "-m", str(tmp_path / "m.pt"), "-d", "digits", "-n", "4", "--salts", str(work / "salts.json"),
            "--nonce", NONCE, "--allow-untrusted-srs"]
    assert main(argv) == 0
    assert "AUDITED: loss-normalized directional sharpness <= 1000 (rds/v1, row-sign/v1" in capsys.readouterr().out
