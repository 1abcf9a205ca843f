"""heldout/v1 end to end on the tiny model: a challenge issued after C_theta, the claim proved and verified, and the tampers it must catch.

To stay within the suite's time budget the claim is attached (zkcert.claims.attach) to the session's honest
Poseidon certificate (conftest.honest_cert, logrows 15) rather than proved in a second sharpness run: one held-out
proof over a block of 4, 3 challenge samples and one padding sample (layout 3), which under poseidon/v1 (the
challenge column hashed in-circuit, about 41 rows per value) is what fits that certificate's 2**15-row SRS; 8
samples need 2**16. The pipeline path
(zkcert.prove(..., claims=[job])) and the kzg/v1 binding (the held-out circuit at the sharpness circuit's logrows)
are run end to end by benchmarks/heldout/run.py. The swapped theta is one more proof under the same key, over a
perturbed model; every other tamper edits a copy of the certificate. The Poseidon binding is also checked at
witness level (no proof).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import torch

from certs import PROOF_NONCE, TINY, UNTRUSTED_SRS_OK, edit_json, rehash
from zkcert import circuit
from zkcert._internal import ezkl as _ezkl
from zkcert._internal.io import atomic_write_json
from zkcert._internal.measure import Steps
from zkcert.certificate import MANIFEST, Manifest
from zkcert.claims import ProverContext, attach, same_model_layout
from zkcert.commitments import KZG, POSEIDON, commit_vector, felt_hex, model_vector
from zkcert.errors import MissingAnchors, VerificationError
from zkcert.heldout import HELDOUT, Challenge, HeldoutJob, HeldoutStatement, float_reference
from zkcert.heldout.prover import block_inputs, challenge_columns, heldout_spec
from zkcert.metric import flat_params
from zkcert.owner import commit as owner_commit
from zkcert.owner import make_spec
from zkcert.srs import find_srs_by_hash
from zkcert.verification import verify

pytestmark = pytest.mark.prove
SAMPLES, BLOCK = 3, 4  # the block's last sample is padding, so the proof and the verifier's columns go through it


@dataclasses.dataclass(frozen=True)
class Issued:
    folder: Path
    anchors: dict
    challenge: Challenge
    salts: object


def _context(folder: Path, model, salts, work: Path) -> ProverContext:
    """What zkcert.prove hands a claim job: the model's committed column and C_theta, the sharpness spec and SRS."""
    manifest = Manifest.load(folder)
    spec = manifest.statement.spec
    column = model_vector(flat_params(model), salts.model, spec.input_scale, POSEIDON)
    return ProverContext(model, column, commit_vector(column, spec.input_scale), spec,
                         find_srs_by_hash(manifest.srs["sha256"]), None, work, Steps())


@pytest.fixture(scope="module")
def issued(honest_cert, proof_mlp, digits_train, tmp_path_factory) -> Issued:
    """The honest certificate (C_theta published before), a challenge issued after it, and the held-out claim attached."""
    source, salts = honest_cert
    base = tmp_path_factory.mktemp("heldout")
    folder = Path(shutil.copytree(source, base / "cert"))
    # The first draw the model does not get all right, so that an edit claiming one more correct is still a well-formed claim.
    pool = digits_train.subset(list(range(400, 1000)))
    draws = (Challenge.issue(pool, SAMPLES, nonce=f"issued-after-commit/{i}") for i in range(100))
    challenge = next(c for c in draws if float_reference(proof_mlp, c).correct < SAMPLES)
    attach(folder, [HeldoutJob(challenge, proof_mlp, block=BLOCK).prove(_context(folder, proof_mlp, salts, base / "work"))])
    st = Manifest.load(folder).statement
    anchors = {"data_commitment": st.data_commitment, "model_commitment": st.model_commitment, "nonce": PROOF_NONCE}
    return Issued(folder, anchors, challenge, salts)


def _verify(folder: Path, issued: Issued, **kwargs):
    return verify(folder, **{**issued.anchors, "claims": {HELDOUT: issued.challenge}, **UNTRUSTED_SRS_OK, **kwargs})


def _fails(folder: Path, issued: Issued, check: str, **kwargs) -> VerificationError:
    with pytest.raises(VerificationError) as info:
        _verify(folder, issued, **kwargs)
    assert info.value.check == check, str(info.value)
    return info.value


def _copy(issued: Issued, tmp_path: Path) -> Path:
    return Path(shutil.copytree(issued.folder, tmp_path / "cert"))


def test_the_claim_verifies_with_the_float_count(issued, proof_mlp):
    result = _verify(issued.folder, issued)
    claim = result.claim(HELDOUT)
    assert result.anchored and claim is not None and claim.anchored
    assert result.checks[-6:] == ("claims", "heldout-key", "heldout-proof", "heldout-model", "heldout-challenge", "heldout-count")
    ref = float_reference(proof_mlp, issued.challenge)
    assert claim.values["correct"] == ref.correct and claim.values["samples"] == SAMPLES
    assert claim.values["loss_sum"] == pytest.approx(ref.loss_sum, rel=0.05)
    assert claim.values["gap"] == pytest.approx(result.train_accuracy - ref.correct / SAMPLES)
    statement = HeldoutStatement.from_json(Manifest.load(issued.folder).claims[0].statement)
    assert statement.challenge_sha256 == issued.challenge.sha256
    # A Poseidon claim this small fits its logrows with one column per row, as its sharpness proof does (fewer_columns).
    assert statement.spec.run_args["num_inner_cols"] == 1 and statement.spec.logrows == 15
    # Layout 3's lookup range is the graph's bound, not calibrated: exp's inputs in [-16, 0], ln's in [1, 10], at scale 2**s.
    step = 2**statement.spec.input_scale
    assert statement.spec.padded and statement.spec.run_args["lookup_range"] == [-16 * step - 1, 10 * step + 1]


def test_without_the_challenge_it_is_not_verified(issued):
    with pytest.raises(MissingAnchors) as info:
        _verify(issued.folder, issued, claims={})
    assert info.value.missing == (HELDOUT,)
    result = _verify(issued.folder, issued, claims={}, unanchored=True)
    assert not result.anchored and "heldout-challenge" in result.not_checked


def test_another_challenge_fails(issued, digits_train):
    other = Challenge.issue(digits_train.subset(list(range(400, 1000))), SAMPLES, nonce="another")
    err = _fails(issued.folder, issued, "heldout-challenge", claims={HELDOUT: other})
    assert "you issued" in str(err)


def test_a_challenge_for_a_certificate_without_the_claim_fails(issued, tmp_path):
    folder = _copy(issued, tmp_path)

    def strip(m):
        del m["claims"]
        m["files"] = {n: h for n, h in m["files"].items() if not n.startswith("claims/")}
    edit_json(folder / MANIFEST, strip)
    _fails(folder, issued, "claims")
    assert _verify(folder, issued, claims={}).claims == ()


def test_an_edited_count_fails(issued, tmp_path):
    folder = _copy(issued, tmp_path)
    count = Manifest.load(folder).claims[0].reported["circuit_correct"]
    edit_json(folder / MANIFEST, lambda m: m["claims"][0]["statement"].update(min_correct=count + 1))
    _fails(folder, issued, "heldout-count")
    edit_json(folder / MANIFEST, lambda m: (m["claims"][0]["statement"].update(min_correct=count),
                                            m["claims"][0]["reported"].update(circuit_correct=count + 1)))
    _fails(folder, issued, "heldout-count")


def test_an_edited_block_or_padding_fails(issued, tmp_path):
    """The statement's block (spec.n_samples), layout and M fix how the verifier pads and cuts its copy: each edit fails."""
    folder = _copy(issued, tmp_path)

    def spec_edit(**fields):
        return lambda m: m["claims"][0]["statement"]["spec"].update(fields)
    edit_json(folder / MANIFEST, spec_edit(n_samples=SAMPLES))  # the block without its padding: another circuit
    _fails(folder, issued, "heldout-key")
    folder = _copy(issued, tmp_path / "layout")
    edit_json(folder / MANIFEST, spec_edit(layout=2))  # unpadded: 3 samples do not fill blocks of 4
    assert "do not split into proofs of 4" in str(_fails(folder, issued, "certificate-format"))
    folder = _copy(issued, tmp_path / "m")
    edit_json(folder / MANIFEST, lambda m: m["claims"][0]["statement"].update(n_samples=BLOCK, min_correct=0))
    err = _fails(folder, issued, "heldout-challenge")  # the padding sample claimed as a challenge sample
    assert "shape" in str(err)


def test_an_edited_count_in_the_proof_fails(issued, tmp_path):
    folder = _copy(issued, tmp_path)
    proof = folder / "claims/heldout/shard-0000.proof.json"
    felt = (int.from_bytes(bytes.fromhex(json.loads(proof.read_text())["instances"][0][0]), "little") + 2**10)
    edit_json(proof, lambda p: p["instances"][0].__setitem__(0, felt.to_bytes(32, "little").hex()))
    rehash(folder)
    _fails(folder, issued, "heldout-proof")


def test_a_proof_about_another_theta_fails(issued, proof_mlp, tmp_path):
    """A careful forger proves the held-out claim for a perturbed model, under the honest claim's circuit and key,
    and ships it with the honest sharpness proof."""
    folder = _copy(issued, tmp_path)
    other = copy.deepcopy(proof_mlp)
    with torch.no_grad():
        other[1].bias.add_(0.25)
    honest = HeldoutStatement.from_json(Manifest.load(folder).claims[0].statement)
    ctx = _context(folder, other, issued.salts, tmp_path / "work")
    attach(folder, [HeldoutJob(issued.challenge, other, spec=honest.spec).prove(ctx)])
    err = _fails(folder, issued, "heldout-model")
    assert "sharpness proofs" in str(err)


def test_a_claim_circuit_that_reads_theta_otherwise_is_named(proof_mlp, proof_data, digits_train):
    """Equal commitments are the same model only at the same scale and, under kzg/v1, the same logrows."""
    spec = make_spec(proof_mlp, proof_data, threshold=1000.0, **TINY.override(commitment=KZG).statement_kwargs())
    spec = spec.with_run_args({"logrows": 15})
    challenge = Challenge.issue(digits_train.subset(list(range(400, 1000))), 4, nonce="layout")
    same = heldout_spec(spec, challenge, 4).with_run_args({"logrows": 15})
    assert same_model_layout(spec, same) == []
    assert "input_scale" in same_model_layout(spec, dataclasses.replace(same, input_scale=12))[0]
    assert "logrows" in same_model_layout(spec, same.with_run_args({"logrows": 14}))[0]


def test_poseidon_binds_the_same_hash_at_witness_level(proof_mlp, proof_data, digits_train, tmp_path):
    """Under poseidon/v1 the held-out circuit hashes the model column to the published C_theta (gen_witness, no proof).

    13 challenge samples in a block of 16: the 3 padding samples count for nothing, in the count and in the loss
    (unmasked, they would add their log-sum-exps: about 8 to this model's loss of about 15).
    """
    committed = owner_commit(proof_mlp, proof_data, input_scale=TINY.input_scale, scheme=POSEIDON)
    spec = make_spec(proof_mlp, proof_data, threshold=1000.0, **TINY.statement_kwargs())
    challenge = Challenge.issue(digits_train.subset(list(range(400, 1000))), 13, nonce="poseidon")
    hspec = heldout_spec(spec, challenge, 16)
    inputs = block_inputs(challenge_columns(challenge, 16, spec.input_scale, POSEIDON, padded=True)[0], committed.model_vec)
    hspec = circuit.calibrate_spec(hspec, inputs, tmp_path)
    assert not same_model_layout(spec, hspec)
    files = circuit.compile_spec(hspec)
    atomic_write_json(tmp_path / "in.json", inputs)
    witness = _ezkl.gen_witness(tmp_path / "in.json", files.compiled, tmp_path / "w.json")
    view = _ezkl.WitnessView.from_json(witness)
    assert felt_hex(view.input_hashes[-1]) == committed.model_commitment
    correct, loss = circuit.decode_outputs([o[0] for o in view.outputs], files.settings_json())
    ref = float_reference(proof_mlp, challenge)
    assert correct == ref.correct and loss == pytest.approx(ref.loss_sum, abs=0.05 + 0.02 * ref.loss_sum)


def test_a_proof_over_the_issued_samples_with_other_labels_fails(issued, proof_mlp, tmp_path):
    """A forger keeps the issued samples but relabels them with the model's own predictions (every one "correct"), proves
    that, and names the issued challenge: the labels are a committed column of their own, and it is not the issued one."""
    folder = _copy(issued, tmp_path)
    with torch.no_grad():
        predicted = proof_mlp(torch.as_tensor(issued.challenge.x)).argmax(1).numpy()
    forged = dataclasses.replace(issued.challenge, y=predicted)
    honest = HeldoutStatement.from_json(Manifest.load(folder).claims[0].statement)
    attach(folder, [HeldoutJob(forged, proof_mlp, spec=honest.spec).prove(_context(folder, proof_mlp, issued.salts, tmp_path / "work"))])
    assert Manifest.load(folder).claims[0].reported["circuit_correct"] == SAMPLES > float_reference(proof_mlp, issued.challenge).correct
    edit_json(folder / MANIFEST, lambda m: m["claims"][0]["statement"].update(challenge_sha256=issued.challenge.sha256))
    rehash(folder)
    err = _fails(folder, issued, "heldout-challenge")
    assert "is not over its block of the issued challenge" in str(err)
