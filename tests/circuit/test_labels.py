"""The circuit checks what the statement assumes about its data: one-hot labels, and it counts the training samples it fits.

Forged label vectors (issue 21) are caught at witness level here, so every kind is tried without a proof;
tests/verification/test_single.py proves one forgery and checks that verification fails 'labels' by name.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import pytest

from certs import FORGED_LABELS, relabel
from zkcert import circuit
from zkcert.commitments import KZG
from zkcert.direction import ROW_SIGN
from zkcert.metric import correct_mask
from zkcert.owner import make_spec, plan, provisional_committer


@pytest.fixture(scope="module")
def calibrated(proof_mlp, proof_data):
    """The default kind of statement (row-sign, kzg/v1, rds/v1, label checks) on the 2 proof samples, calibrated once."""
    spec = make_spec(proof_mlp, proof_data, threshold=1000.0, epsilon=0.125, n_directions=1, input_scale=10, direction=ROW_SIGN,
                     commitment=KZG)
    owner = plan(proof_mlp, proof_data, spec=spec, nonce="labels", committer=provisional_committer)
    with tempfile.TemporaryDirectory() as tmp:
        spec, outputs = circuit.fixed_point_outputs(spec, owner.shard_input(0), Path(tmp))
    return spec, owner.shard_input(0), outputs


def _witness(spec, inputs) -> circuit.Outputs:
    files = circuit.compile_spec(spec)
    with tempfile.TemporaryDirectory() as tmp:
        from zkcert._internal import ezkl as _ezkl
        from zkcert._internal.io import atomic_write_json

        atomic_write_json(Path(tmp) / "in.json", inputs)
        witness = _ezkl.gen_witness(Path(tmp) / "in.json", files.compiled, Path(tmp) / "w.json")
    return circuit.read_outputs(spec, circuit.witness_outputs(witness, files.settings_json()))


def test_honest_labels_pass_and_the_count_is_the_models(calibrated, proof_mlp, proof_data):
    spec, inputs, outputs = calibrated
    read = circuit.read_outputs(spec, outputs)
    assert spec.check_labels and read.labels_ok == 1.0 and read.flag == 1.0
    assert read.correct == int(correct_mask(proof_mlp, proof_data).sum())


@pytest.mark.parametrize("kind", sorted(FORGED_LABELS))
def test_forged_labels_are_flagged_in_the_circuit(calibrated, kind):
    """Each forgery gives labels_ok = 0 whatever the flag says (zero labels pass the bound: the forgery the check stops)."""
    spec, inputs, _ = calibrated
    column = relabel(spec, FORGED_LABELS[kind])(inputs["input_data"][0])
    read = _witness(spec, {"input_data": [column, *inputs["input_data"][1:]]})
    assert read.labels_ok == 0.0, kind
    if kind == "zero":
        assert read.flag == 1.0  # the bound alone would have passed


def test_one_step_moved_between_classes_is_flagged(calibrated):
    """The smallest forgery the row sums cannot see: one fixed-point step of a label moved to another class (the row
    still sums to 1; v^2 = v fails for every value but 0 and 1)."""
    spec, inputs, _ = calibrated
    step = 2.0**-spec.input_scale

    def nudge(v):
        v = v.copy()
        label = int(v[0].argmax())
        v[0, label] -= step
        v[0, (label + 1) % v.shape[1]] += step
        return v

    column = relabel(spec, nudge)(inputs["input_data"][0])
    assert _witness(spec, {"input_data": [column, *inputs["input_data"][1:]]}).labels_ok == 0.0


def test_specs_before_label_checks_keep_their_form(calibrated):
    """Older specs (no check_labels in their JSON) read back without it, and their digest does not change."""
    spec, _, _ = calibrated
    old = dataclasses.replace(spec, check_labels=False)
    assert "check_labels" not in old.to_json() and spec.to_json()["check_labels"] is True
    assert type(spec).from_json(old.to_json()) == old and old.digest() != spec.digest()
