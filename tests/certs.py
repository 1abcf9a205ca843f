"""Helpers for certificate tests: build honest and malicious certificates, tamper with them."""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from zkcert import circuit
from zkcert._internal import ezkl as _ezkl
from zkcert._internal.io import atomic_write_json, sha256_file
from zkcert.certificate import MANIFEST, PROOF, VK, Manifest, write_certificate
from zkcert.commitments import POSEIDON
from zkcert.owner import plan
from zkcert.preset import preset
from zkcert.srs import local_srs
from zkcert.statement import Statement

# The statement most proving tests use: the "fast" preset (rds/v1, one row-sign direction, eps 1/8, scale 2**10)
# with Poseidon commitments, which keeps the 2-sample test circuits at logrows 15 (about 2 GB). The kzg/v1 tests
# (tests/verification/test_kzg.py) prove "fast" itself; the demo and the proving benchmark the default statement,
# which needs logrows 18 at 8 samples.
TINY = preset("fast", commitment=POSEIDON)
TINY_KW = TINY.statement_kwargs()  # as zkcert.owner's make_spec and plan take it
TINY_ARGS = ["--statement", "fast", "--commitment", POSEIDON]
# Sharded test certificates calibrate with this cap: ezkl's calibration moves a shard to logrows 16 when the
# direction drawn from fresh salts widens its lookup range past 2**15 (about one draw in three on 4 digits
# samples), doubling setup and proving, although the same range fits 15 in two table columns.
TEST_LOGROWS = 15
PROOF_NONCE = "verifier-issued-nonce"  # the nonce of the session's honest certificate (conftest.honest_cert)
SHARD_NONCE = "shard-nonce"  # conftest.sharded_cert's
SPOT_NONCE = "spot-check-nonce"  # conftest.spot_cert's
SPOT_SHARDS, SPOT_SHARD_SIZE, SPOT_SAMPLED = 4, 2, 1  # conftest.spot_result's spot check: 1 challenged shard of 4


def copy_cert(src: Path, dst: Path) -> Path:
    """A private copy of a certificate folder."""
    shutil.copytree(src, dst)
    return dst


def edit_json(path: Path, change: Callable[[Any], None]) -> None:
    """Apply change to the JSON document at path in place."""
    obj = json.loads(path.read_text())
    change(obj)
    path.write_text(json.dumps(obj))


def rehash(folder: Path) -> None:
    """Update the manifest's file hashes, as a careful forger would after tampering with a file."""
    edit_json(folder / MANIFEST, lambda m: m["files"].update({name: sha256_file(folder / name) for name in m["files"]}))


def relabel(spec, change: Callable[[np.ndarray], np.ndarray]) -> Callable[[list], list]:
    """An edit of a single proof's data column: the committed (N, C) label vectors replaced by change(labels)."""
    n, f, c = spec.n_samples, spec.features, spec.num_classes

    def edit(column: list) -> list:
        data = list(column)
        labels = np.asarray(data[n * f : n * f + n * c], dtype=float).reshape(n, c)
        data[n * f : n * f + n * c] = [float(v) for v in change(labels).ravel()]
        return data

    return edit


# Label vectors an owner might commit to make any model pass (issue 21): all zero (the loss becomes the
# log-sum-exp alone), twice one-hot (a negative loss), and one label split over two classes.
FORGED_LABELS = {
    "zero": lambda v: np.zeros_like(v),
    "double": lambda v: 2 * v,
    "split": lambda v: 0.5 * v + 0.5 * np.roll(v, 1, axis=1),
}


def prove_regardless(model, data, spec, out: Path, *, nonce: str = "", edit: Callable[[list], list] | None = None) -> Path:
    """A malicious prover: proves the circuit for `spec` even when its flag comes out 0, on the data column `edit`
    makes of the honest one. Like a careful forger it publishes the edited column's commitment and derives the
    direction from it, so that every check but the one the edit breaks passes."""
    from zkcert.commitments import column_committer, direction_column
    from zkcert.direction import committed_directions

    files = circuit.compile_spec(spec)
    srs = local_srs(spec.logrows)
    vk, pk = circuit.keys_for(files, srs)
    committer = _kzg_committer(spec, vk, files, srs) or column_committer(spec.commitment, spec.input_scale)
    owner = plan(model, data, spec=spec, nonce=nonce, committer=committer)
    inputs = owner.shard_input(0)
    if edit is not None:
        column = edit(inputs["input_data"][0])
        r = committed_directions(spec, owner.committed.model_commitment, committer(column), nonce)
        inputs = circuit.input_json(column, owner.committed.model_vec, direction_column(r))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        atomic_write_json(work / "input.json", inputs)
        witness = _ezkl.gen_witness(work / "input.json", files.compiled, work / "witness.json")
        _flag, metric = circuit.flag_and_value(spec, circuit.witness_outputs(witness, files.settings_json()))
        _ezkl.prove(work / "witness.json", files.compiled, pk, work / "proof.json", srs.path)
        inst = circuit.read_instances(spec, _ezkl.ProofView.from_json(json.loads((work / "proof.json").read_text())))
        statement = Statement(spec, inst.data_commitment, inst.model_commitment, nonce)
        return write_certificate(
            out, {PROOF: work / "proof.json", VK: vk},
            lambda h: Manifest(statement, {**srs.to_json(), "logrows": spec.logrows}, h, {"circuit_metric": metric}),
        )


def _kzg_committer(spec, vk, files, srs):
    """Under kzg/v1, commit with the circuit's key as the prover does; Poseidon needs no key (None)."""
    from zkcert.commitments import KZG, column_committer

    return column_committer(KZG, spec.input_scale, (vk, files.settings, srs.path)) if spec.commitment == KZG else None


def with_threshold(spec, threshold: float):
    """The same calibrated spec with another threshold."""
    return dataclasses.replace(spec, threshold=threshold)


# The test certificates are proved on a locally generated SRS (the prover's): verifying them needs the
# explicit allowance that a real verifier would not give (tests/verification/test_single.py covers the trusted paths).
UNTRUSTED_SRS_OK = {"allow_untrusted_srs": True}


def anchors(folder: Path, nonce: str) -> dict[str, str]:
    """The published values a verifier checks against, taken from an honest certificate's own statement."""
    statement = Manifest.load(folder).statement
    return {"data_commitment": statement.data_commitment, "model_commitment": statement.model_commitment, "nonce": nonce}


def fails(folder: Path, check: str | set[str], match: str | None = None, **kwargs: Any) -> Any:
    """verify fails with `check` (or one of a set); by default unanchored and allowing the test SRS, so the named check is reached."""
    import pytest

    from zkcert.errors import VerificationError
    from zkcert.verification import verify

    with pytest.raises(VerificationError, match=match) as info:
        verify(folder, **{"unanchored": True, **UNTRUSTED_SRS_OK, **kwargs})
    assert info.value.check in ({check} if isinstance(check, str) else check), str(info.value)
    return info.value
