"""kzg/v1 certificates: KZG-committed columns, commitments read from the proof's transcript, and the tampers they must catch.

One honest 2-shard certificate (logrows 15) is proved for the module; each forgery below is one more
shard proof under the same key (about 12 s each): a proof over another theta, over another data
column, along another direction, and one whose transcript carries the honest points.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from certs import TEST_LOGROWS, TINY, UNTRUSTED_SRS_OK, fails, rehash
from zkcert import circuit
from zkcert._internal import ezkl as _ezkl
from zkcert._internal.io import atomic_write_json, read_json
from zkcert.certificate import MANIFEST, Manifest, shard_proof_name
from zkcert.commitments import KZG, ShardSalts, kzg_commitment, shard_root
from zkcert.direction import committed_directions
from zkcert.api import commit
from zkcert.owner import plan
from zkcert.proving import Execution, prove
from zkcert.published import Published
from zkcert.srs import find_srs_by_hash
from zkcert.verification import verify

pytestmark = pytest.mark.prove
NONCE = "kzg-nonce"
TINY_KZG = TINY.override(commitment=KZG)


@dataclasses.dataclass(frozen=True)
class KzgCert:
    folder: Path
    salts: ShardSalts
    data: object
    float_metric: float
    published: Published


@pytest.fixture(scope="module")
def kzg_cert(proof_mlp, digits_train, tmp_path_factory) -> KzgCert:
    """The order that stops grinding: commit (calibrate, set up, commit with the key), publish, then prove with the nonce."""
    base = tmp_path_factory.mktemp("kzg")
    data = digits_train.head(4)
    published = commit(proof_mlp, data, statement=TINY_KZG, threshold=1000.0, shard_size=2,
                       execution=Execution(max_logrows=TEST_LOGROWS))
    published = Published.load(published.save(base / "committed"))
    result = prove(proof_mlp, data, threshold=1000.0, out=base / "cert", nonce=NONCE, published=published,
                   execution=Execution(work_dir=base / "work", workers=1))
    return KzgCert(result.certificate, result.salts, data, result.manifest.reported["float_metric"], published)


def test_prove_uses_the_published_commitments_and_refuses_others(kzg_cert, proof_mlp, tmp_path):
    """The certificate carries exactly the commitments published before the nonce; a model that commits to anything
    else is refused at the commit step, before any proof."""
    import copy

    import torch

    from zkcert.errors import InputError

    st = Manifest.load(kzg_cert.folder).statement
    assert (st.data_commitment, st.model_commitment, st.shard_commitments) == (
        kzg_cert.published.data_commitment, kzg_cert.published.model_commitment, kzg_cert.published.shard_commitments)
    assert kzg_cert.salts == kzg_cert.published.salts and st.spec == kzg_cert.published.spec
    other = copy.deepcopy(proof_mlp)
    with torch.no_grad():
        other[-1].bias.add_(0.5)  # another model, the same architecture
    with pytest.raises(InputError, match="model commitment of this model, data and salts differs from the published"):
        prove(other, kzg_cert.data, threshold=1000.0, out=tmp_path / "cert", nonce=NONCE, published=kzg_cert.published,
              execution=Execution(work_dir=tmp_path / "work", workers=1))
    assert not (tmp_path / "cert").exists()


def _anchored(folder: Path) -> dict:
    st = Manifest.load(folder).statement
    return {"data_commitment": st.data_commitment, "model_commitment": st.model_commitment, "nonce": NONCE, **UNTRUSTED_SRS_OK}


def _circuit_of(folder: Path):
    """(spec, files, srs, vk, pk) of a certificate's shard circuit, from the cache the prover filled."""
    manifest = Manifest.load(folder)
    spec = manifest.statement.spec
    files = circuit.compile_spec(spec)
    srs = find_srs_by_hash(manifest.srs["sha256"])
    vk, pk = circuit.keys_for(files, srs)
    return spec, files, srs, vk, pk


def _forged_shard(cert: KzgCert, model, data, *, r: np.ndarray | None = None) -> dict:
    """A valid proof of shard 0's circuit over the given model and data (same salts), optionally along signs r."""
    spec, files, srs, vk, pk = _circuit_of(cert.folder)
    p = plan(model, data, shard_size=2, salts=cert.salts, spec=spec, nonce=NONCE,
             committer=lambda col: kzg_commitment(col, spec.input_scale, vk, files.settings, srs.path))
    inputs = p.shard_input(0)
    if r is not None:
        inputs["input_data"][2] = np.asarray(r, dtype=np.float64).ravel().tolist()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        atomic_write_json(work / "input.json", inputs)
        _ezkl.gen_witness(work / "input.json", files.compiled, work / "witness.json", vk, srs.path)
        _ezkl.prove(work / "witness.json", files.compiled, pk, work / "proof.json", srs.path)
        return read_json(work / "proof.json")


def _with_shard0(cert: KzgCert, tmp_path: Path, proof: dict) -> Path:
    folder = tmp_path / "forged"
    shutil.copytree(cert.folder, folder)
    (folder / shard_proof_name(0)).write_text(json.dumps(proof))
    rehash(folder)
    return folder


def test_honest_kzg_certificate_verifies_anchored_and_tracks_the_float_metric(kzg_cert):
    result = verify(kzg_cert.folder, **_anchored(kzg_cert.folder))
    assert result.anchored and "direction" in result.checks and "shard-link" in result.checks
    st = Manifest.load(kzg_cert.folder).statement
    assert st.spec.commitment == KZG and "kzg/v1 commitments" in st.describe()
    # Points (x || y, 64 bytes) for the shards and C_theta; C_D is the SHA-256 root over the shard points.
    assert len(st.model_commitment) == 130 and all(len(c) == 130 for c in st.shard_commitments)
    assert st.data_commitment == shard_root(st.shard_commitments)
    # The direction is drawn from fresh salts: over 60 draws of this model and data (witness only, scale 2**10,
    # either graph layout) the gap had median 0.3 %, 95th percentile 1.2-1.6 % and maximum 2.8 %, so a 2 % bound
    # would fail about one run in 20.
    assert abs(result.circuit_metric - kzg_cert.float_metric) <= 0.05 * abs(kzg_cert.float_metric)


def test_every_shard_proof_carries_the_same_theta_point(kzg_cert):
    spec = Manifest.load(kzg_cert.folder).statement.spec
    found = [circuit.read_instances(spec, _ezkl.ProofView.from_json(read_json(kzg_cert.folder / shard_proof_name(i))))
             for i in range(2)]
    assert found[0].model_commitment == found[1].model_commitment
    assert found[0].data_commitment != found[1].data_commitment


def test_a_rerun_over_the_work_folder_resumes_without_proving_again(kzg_cert, proof_mlp, tmp_path, monkeypatch):
    """Resume under kzg/v1: calibration and the KZG commitments are redone from the saved salts and must land on
    the same circuit and points, or every finished shard would be proved again (or, worse, mismatched)."""
    from zkcert.proving import pipeline

    proved_again = []

    def run_jobs(jobs, **kwargs):
        proved_again.extend(job.index for job in jobs)
        return iter(())

    monkeypatch.setattr(pipeline, "run_jobs", run_jobs)
    result = prove(proof_mlp, kzg_cert.data, threshold=1000.0, out=tmp_path / "cert", nonce=NONCE, published=kzg_cert.published,
                   execution=Execution(work_dir=kzg_cert.folder.parent / "work", workers=1))
    assert proved_again == []
    before, after = Manifest.load(kzg_cert.folder).statement, result.manifest.statement
    assert after == before
    assert all((result.certificate / shard_proof_name(i)).read_bytes() == (kzg_cert.folder / shard_proof_name(i)).read_bytes()
               for i in range(2))
    assert verify(result.certificate, **_anchored(kzg_cert.folder)).anchored


def test_swapped_shards_fail_data_commitment(kzg_cert, tmp_path):
    folder = shutil.copytree(kzg_cert.folder, tmp_path / "swapped")
    a, b = folder / shard_proof_name(0), folder / shard_proof_name(1)
    a_text = a.read_text()
    a.write_text(b.read_text())
    b.write_text(a_text)
    rehash(folder)
    fails(folder, "data-commitment", **_anchored(folder), unanchored=False)


def test_a_commitment_made_with_another_srs_fails(kzg_cert, proof_mlp, tmp_path):
    spec, files, srs, vk, _pk = _circuit_of(kzg_cert.folder)
    other = tmp_path / "other.srs"
    _ezkl.gen_srs(other, spec.logrows)
    p = plan(proof_mlp, kzg_cert.data, shard_size=2, salts=kzg_cert.salts, spec=spec, nonce=NONCE,
             committer=lambda col: kzg_commitment(col, spec.input_scale, vk, files.settings, other))
    st = Manifest.load(kzg_cert.folder).statement
    assert p.committed.model_commitment != st.model_commitment  # the same column, another SRS: another point
    fails(kzg_cert.folder, "model-commitment", **{**_anchored(kzg_cert.folder), "model_commitment": p.committed.model_commitment},
          unanchored=False)
    fails(kzg_cert.folder, "data-commitment", **{**_anchored(kzg_cert.folder), "data_commitment": p.committed.data_commitment},
          unanchored=False)


def test_a_valid_proof_over_another_theta_fails_model_commitment(kzg_cert, proof_mlp, tmp_path):
    other = copy.deepcopy(proof_mlp)
    with torch.no_grad():
        other[1].weight[0, 0] += 2.0**-6
    forged = _forged_shard(kzg_cert, other, kzg_cert.data)
    folder = _with_shard0(kzg_cert, tmp_path, forged)
    fails(folder, "model-commitment", **_anchored(folder), unanchored=False)
    # Unanchored too: the two shard proofs commit to different models.
    fails(folder, "model-commitment")
    # Splicing the honest points into the forged transcript breaks the proof itself.
    honest = read_json(kzg_cert.folder / shard_proof_name(0))
    forged["proof"] = honest["proof"][: 3 * 64] + forged["proof"][3 * 64 :]
    fails(_with_shard0(kzg_cert, tmp_path / "spliced", forged), "proof")


def test_a_valid_proof_over_another_data_column_fails_data_commitment(kzg_cert, proof_mlp, tmp_path):
    changed = kzg_cert.data.subset(np.array([1, 0, 2, 3]))  # shard 0's two samples in the other order
    folder = _with_shard0(kzg_cert, tmp_path, _forged_shard(kzg_cert, proof_mlp, changed))
    fails(folder, "data-commitment")


def test_a_valid_proof_along_another_direction_fails_direction(kzg_cert, proof_mlp, tmp_path):
    st = Manifest.load(kzg_cert.folder).statement
    r = committed_directions(st.spec, st.model_commitment, st.data_commitment, "another nonce")
    folder = _with_shard0(kzg_cert, tmp_path, _forged_shard(kzg_cert, proof_mlp, kzg_cert.data, r=r))
    fails(folder, "direction")


def test_kzg_statement_rules(kzg_cert, tmp_path):
    folder = shutil.copytree(kzg_cert.folder, tmp_path / "rules")
    manifest = json.loads((folder / MANIFEST).read_text())
    # A Poseidon-length commitment in a kzg/v1 statement is refused on reading.
    manifest["statement"]["model_commitment"] = "0x" + "11" * 32
    (folder / MANIFEST).write_text(json.dumps(manifest))
    fails(folder, "certificate-format", match="64-byte")


def test_audit_recommits_under_the_verified_key(kzg_cert, proof_mlp, digits_train):
    """An auditor with the model, the data and the salts recomputes the KZG points (under the checked key and SRS) and the metric."""
    from zkcert.api import audit
    from zkcert.errors import VerificationError

    result = audit(kzg_cert.folder, proof_mlp, kzg_cert.data, salts=kzg_cert.salts, nonce=NONCE, **UNTRUSTED_SRS_OK)
    assert result.verification.anchored
    assert result.float_metric == pytest.approx(kzg_cert.float_metric)
    other_model = copy.deepcopy(proof_mlp)
    with torch.no_grad():
        other_model[1].bias[0] += 0.25
    for model, data, check in [(proof_mlp, digits_train.subset(np.arange(4, 8)), "data-commitment"),
                               (other_model, kzg_cert.data, "model-commitment")]:
        with pytest.raises(VerificationError) as info:
            audit(kzg_cert.folder, model, data, salts=kzg_cert.salts, nonce=NONCE, **UNTRUSTED_SRS_OK)
        assert info.value.check == check
