"""The resilience claim end to end on one shared tiny certificate, and tampering with it (each fails by check name).

The fixture adds resilience/v1 (Q = 2, e = 0.5) to a copy of the session's honest certificate (tests/conftest.py),
proving one resilience proof; the forged variants below cost one more proof each.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from certs import PROOF_NONCE, UNTRUSTED_SRS_OK, anchors, copy_cert, edit_json, fails, rehash
from zkcert._internal.measure import Steps
from zkcert.certificate import Manifest
from zkcert.claims import ProverContext, attach
from zkcert.errors import InputError
from zkcert.owner import commit
from zkcert.resilience import ResilienceJob, ResilienceStatement
from zkcert.robustness.seeded import seeded_resilience
from zkcert.srs import local_srs
from zkcert.verification import verify

E, Q = 0.5, 2
FOLDER = "claims/resilience"


def _context(model, data, folder: Path, salts, nonce: str, tmp: Path) -> ProverContext:
    """What zkcert.proving.prove hands a claim, rebuilt from a finished certificate and its salts."""
    spec = Manifest.load(folder).statement.spec
    committed = commit(model, data, salts=salts, input_scale=spec.input_scale, scheme=spec.commitment)
    return ProverContext(model, committed.model_vec, committed.model_commitment, spec, local_srs(spec.logrows), None, tmp, Steps(),
                         committed=committed, nonce=nonce)


@pytest.fixture(scope="module")
def claimed(honest_cert, proof_mlp, proof_data, tmp_path_factory) -> Path:
    """A copy of the honest certificate carrying a resilience claim."""
    folder, salts = honest_cert
    out = copy_cert(folder, tmp_path_factory.mktemp("resilience") / "cert")
    with tempfile.TemporaryDirectory() as tmp:
        proof = ResilienceJob(E, Q, proof_data).prove(_context(proof_mlp, proof_data, folder, salts, PROOF_NONCE, Path(tmp)))
        attach(out, [proof])
    return out


def _statement(folder: Path) -> dict:
    return next(c for c in json.loads((folder / "manifest.json").read_text())["claims"] if c["name"] == "resilience/v1")["statement"]


def test_certificate_carries_the_float_counts(claimed, honest_cert, proof_mlp, proof_data) -> None:
    result = verify(claimed, **anchors(claimed, PROOF_NONCE), **UNTRUSTED_SRS_OK)
    st = ResilienceStatement.from_json(_statement(claimed))
    floats = seeded_resilience(proof_mlp, proof_data, model_commitment=st_anchor(claimed, "model"),
                               data_commitment=st_anchor(claimed, "data"), nonce=PROOF_NONCE, degree=E, neighbours=Q,
                               input_scale=st.spec.input_scale)
    (claim,) = [c for c in result.claims if c.name == "resilience/v1"]
    assert (claim.values["resilience_weak"], claim.values["resilience_pairs"]) == (floats.weak, floats.pairs) == (st.weak, st.pairs)
    assert claim.text.startswith(f"at most {floats.weak} of 2 committed training samples have a misclassified neighbour at e = 0.5 (Q = 2)")
    assert claim.checks[-1] == "resilience-count" and claim.anchored


def st_anchor(folder: Path, which: str) -> str:
    """C_theta or C_D as the certificate's statement has them."""
    statement = Manifest.load(folder).statement
    return statement.model_commitment if which == "model" else statement.data_commitment


def _tampered(claimed: Path, tmp_path: Path, change) -> Path:
    folder = copy_cert(claimed, tmp_path / "t")
    edit_json(folder / "manifest.json", lambda m: change(next(c for c in m["claims"] if c["name"] == "resilience/v1")["statement"]))
    return folder


def _text(st: dict) -> str:
    from zkcert.circuit.resilience import ResilienceSpec

    obj = ResilienceStatement(float(st["degree"]), st["neighbours"], st["n_samples"], st["pairs"], st["weak"],
                              ResilienceSpec.from_json(st["spec"]))
    return obj.describe()


def test_a_lower_count_fails_count(claimed, tmp_path) -> None:
    def lower(st: dict) -> None:
        st["weak"], st["pairs"] = max(st["weak"] - 1, 0), max(st["pairs"] - 1, 0)
        if (st["weak"], st["pairs"]) == tuple(_statement(claimed)[k] for k in ("weak", "pairs")):
            st["pairs"] += 3  # nothing to lower: a different count is as much a lie
        st["text"] = _text(st)

    fails(_tampered(claimed, tmp_path, lower), "resilience-count")


def test_another_degree_fails_statement_or_offsets(claimed, tmp_path) -> None:
    """e is not in the graph (the offsets are an input), so a spec with another e rebuilds the same key: the offsets
    derived at that e are what no longer match the proof's."""
    def degree_only(st: dict) -> None:
        st["degree"] = 0.25
        st["text"] = _text(st)

    fails(_tampered(claimed, tmp_path / "a", degree_only), "resilience-statement")

    def both(st: dict) -> None:
        st["degree"] = st["spec"]["degree"] = 0.25
        st["text"] = _text(st)

    fails(_tampered(claimed, tmp_path / "b", both), "resilience-offsets")


@pytest.mark.parametrize("index, check", [(0, "resilience-proof"), (2, "resilience-proof")])
def test_edited_instances_fail_proof(claimed, tmp_path, index, check) -> None:
    """The data commitment (instance 0) or the offsets' hash (instance 2) edited in the proof file."""
    folder = copy_cert(claimed, tmp_path / "t")
    proof = folder / FOLDER / "proof.json"
    edit_json(proof, lambda p: p["instances"][0].__setitem__(index, "01" + p["instances"][0][index][2:]))
    rehash(folder)
    fails(folder, check)


def test_bad_degree_or_neighbours_refused_before_proving(proof_data) -> None:
    for e, q in ((0.0, 2), (1.5, 2), (0.5, 0)):
        with pytest.raises(InputError):
            ResilienceJob(e, q, proof_data)
