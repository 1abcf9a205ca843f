"""The resilience circuit counts what the float side counts, at witness level (no keys, no proof).

A one-layer model whose answer is known without running it: class 0 iff x_0 > 0. A sample at x_0 = 0.9 keeps its
label under every offset of degree 0.5; one at x_0 = 0.1 flips exactly when its offset's first feature is below
-0.1; a sample labelled against the model has every neighbour misclassified. The expected counts follow from the
offsets alone; the circuit and zkcert.robustness.seeded must both give them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from certs import FORGED_LABELS
from zkcert.circuit.resilience import ResilienceSpec
from zkcert.commitments import Salts, data_vector, model_vector
from zkcert.data import Dataset
from zkcert.errors import CertificateError, InputError
from zkcert.metric import flat_params
from zkcert.models import layer_configs
from zkcert.neighbours import derive_seed, offsets
from zkcert.resilience import claim_inputs, fixed_point_counts
from zkcert.robustness.seeded import seeded_counts

E, Q, SCALE = 0.5, 6, 10


@pytest.fixture(scope="module")
def known() -> tuple[nn.Sequential, Dataset, np.ndarray, dict[str, int]]:
    """(model, data, offsets, the counts derived by hand from the offsets)."""
    model = nn.Sequential(nn.Linear(4, 2))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, 0, 0, 0], [-1.0, 0, 0, 0]]))
        model[0].bias.zero_()
    x = np.array([[0.9, 0.2, 0.3, 0.4], [0.1, 0.5, 0.5, 0.5], [0.9, 0.1, 0.1, 0.1]], dtype=np.float32)
    data = Dataset(x, np.array([0, 0, 1]), 2)
    deltas = offsets(derive_seed("0x01", "0x02", "known"), Q, 4, E, SCALE)
    flips = int(np.sum(deltas[:, 0] < -0.1))
    assert 0 < flips < Q, "the seed must give the boundary sample both kinds of neighbour"
    return model, data, deltas, {"labels_ok": 1, "pairs": flips + Q, "weak": 2}


@pytest.fixture(scope="module")
def circuit_spec(known, tmp_path_factory) -> ResilienceSpec:
    """The known model's resilience circuit, calibrated once."""
    model, data, deltas, _ = known
    spec = ResilienceSpec(layers=layer_configs(model), input_shape=(4,), num_classes=2, num_params=10, n_samples=3, neighbours=Q,
                          degree=E, input_scale=SCALE)
    from zkcert import circuit

    return circuit.calibrate_spec(spec, _inputs(model, data, deltas), tmp_path_factory.mktemp("calibrate"))


def _inputs(model: nn.Module, data: Dataset, deltas: np.ndarray, salts: Salts = Salts((1, 2, 3, 4, 5), (6, 7, 8, 9, 10))) -> dict:
    return claim_inputs(data_vector(data, salts.data, SCALE), model_vector(flat_params(model), salts.model, SCALE), deltas)


def test_circuit_and_float_counts_equal_the_known_answer(known, circuit_spec, tmp_path: Path) -> None:
    model, data, deltas, want = known
    floats = seeded_counts(model, data, deltas, degree=E)
    assert {"labels_ok": 1, "pairs": floats.pairs, "weak": floats.weak} == want
    assert floats.weak_mask.tolist() == [False, True, True]
    assert fixed_point_counts(circuit_spec, _inputs(model, data, deltas), tmp_path) == want


def test_other_offsets_change_the_count(known, circuit_spec, tmp_path: Path) -> None:
    """An owner who swapped in offsets that spare the boundary sample would lower the count: the offsets matter."""
    model, data, deltas, want = known
    spared = np.abs(deltas)  # no first feature below -0.1
    assert fixed_point_counts(circuit_spec, _inputs(model, data, spared), tmp_path) == {**want, "pairs": Q, "weak": 1}


@pytest.mark.parametrize("kind", sorted(FORGED_LABELS))
def test_forged_labels_are_flagged(known, circuit_spec, tmp_path: Path, kind: str) -> None:
    model, data, deltas, _ = known
    inputs = _inputs(model, data, deltas)
    n, f, c = 3, 4, 2
    column = inputs["input_data"][0]
    labels = FORGED_LABELS[kind](np.asarray(column[n * f : n * f + n * c]).reshape(n, c))
    column[n * f : n * f + n * c] = [float(v) for v in labels.ravel()]
    assert fixed_point_counts(circuit_spec, inputs, tmp_path)["labels_ok"] == 0


@pytest.mark.parametrize("change", [{"degree": 0.0}, {"degree": 1.5}, {"neighbours": 0}, {"generator": "mt19937/v1"},
                                    {"layers": ({"type": "ReLU"},)}, {"layout": 3}, {"layout": True}])
def test_bad_specs_are_refused(circuit_spec, change) -> None:
    with pytest.raises((InputError, CertificateError)):
        dataclasses.replace(circuit_spec, **change)


def test_spec_round_trips(circuit_spec) -> None:
    assert ResilienceSpec.from_json(circuit_spec.to_json()) == circuit_spec
    assert ResilienceSpec.from_json(circuit_spec.to_json()).digest() == circuit_spec.digest()


@pytest.mark.parametrize("layout", [1, 2])
def test_each_layout_counts_the_known_answer_part_by_part(known, layout, tmp_path: Path) -> None:
    """A proof over part p of the column takes sample p (layout 2 gathers it, layout 1 slices it); the parts sum to the answer."""
    model, data, deltas, want = known
    inputs, got = _inputs(model, data, deltas), {"pairs": 0, "weak": 0}
    for part in range(3):
        spec = ResilienceSpec(layers=layer_configs(model), input_shape=(4,), num_classes=2, num_params=10, n_samples=3,
                              neighbours=Q, degree=E, input_scale=SCALE, part=part, parts=3, layout=layout)
        (tmp_path / str(part)).mkdir()
        counts = fixed_point_counts(spec, inputs, tmp_path / str(part))
        assert counts["labels_ok"] == 1
        got = {k: got[k] + counts[k] for k in got}
    assert got == {"pairs": want["pairs"], "weak": want["weak"]}


def test_a_spec_without_a_layout_is_the_first_releases(circuit_spec) -> None:
    assert circuit_spec.layout == 2
    old = {k: v for k, v in circuit_spec.to_json().items() if k != "layout"}
    assert ResilienceSpec.from_json(old).layout == 1 and ResilienceSpec.from_json(old).digest() != circuit_spec.digest()
