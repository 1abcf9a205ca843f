"""The prover's contract: one metric computed four ways agrees; false statements yield no certificate."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from zkcert import _ezkl, circuit, prove
from zkcert._io import atomic_write_json
from zkcert.errors import ThresholdExceeded
from zkcert.models import small_cnn
from zkcert.prover import circuit_outputs, make_spec, prepare
from zkcert.training import TrainConfig, train


@pytest.fixture(scope="module")
def tiny_cnn(digits_train):
    """Conv(1->2, 3x3) -> ReLU -> AvgPool -> Linear, trained briefly."""
    torch.manual_seed(0)
    return train(small_cnn((1, 8, 8), 2, 10), digits_train.head(400), TrainConfig(epochs=10, seed=0))


@pytest.fixture(scope="module", params=["mlp", "cnn"])
def owner(request, proof_mlp, tiny_cnn, proof_data):
    """Owner inputs for K = 2 directions; eps = 1/4 keeps the CNN's numerator well above 2**-8."""
    model = proof_mlp if request.param == "mlp" else tiny_cnn
    spec = make_spec(model, proof_data, threshold=1000.0, epsilon=0.25, n_directions=2, input_scale=8)
    return prepare(model, proof_data, spec, nonce="equivalence")


def _torch_graph(owner) -> float:
    inputs = [torch.as_tensor(np.asarray(v, dtype=np.float32))[None] for v in owner.ezkl_input()["input_data"]]
    with torch.no_grad():
        return float(circuit.SharpnessGraph(owner.spec)(*inputs)[1])


def _onnxruntime(owner) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "g.onnx"
        circuit.export_onnx(owner.spec, path)
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feeds = {i.name: np.asarray(v, dtype=np.float32)[None] for i, v in zip(session.get_inputs(), owner.ezkl_input()["input_data"])}
        return float(session.run(None, feeds)[1].ravel()[0])


def _ezkl_witness(owner) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        spec = circuit.calibrate_spec(owner.spec, owner.ezkl_input(), work)
        files = circuit.compile_spec(spec)
        atomic_write_json(work / "in.json", owner.ezkl_input())
        witness = _ezkl.gen_witness(work / "in.json", files.compiled, work / "w.json")
        return circuit_outputs(witness, files.settings_json())[1]


@pytest.mark.parametrize("path,rel", [(_torch_graph, 1e-4), (_onnxruntime, 1e-4), (_ezkl_witness, 0.15)])
def test_every_path_computes_the_same_numerator(owner, path, rel):
    """torch reference (float64), the exported graph in torch and onnxruntime (float32), and ezkl's fixed point.

    The fixed-point tolerance is 15 % or 8 quantization steps of 2**-8, whichever is larger: with 2 samples
    the numerator is small, and the demo's 16 samples land within 0.3 %.
    """
    spec = owner.spec
    reference = owner.float_metric * spec.n_samples * spec.n_directions * spec.epsilon**2
    assert reference > 0.05, "the test needs a numerator well above the fixed-point resolution"
    assert path(owner) == pytest.approx(reference, rel=rel, abs=8 / 256 if path is _ezkl_witness else 0)


def test_flag_is_computed_in_the_graph(owner):
    import dataclasses

    low = dataclasses.replace(owner.spec, threshold=owner.float_metric * 0.5)
    inputs = [torch.as_tensor(np.asarray(v, dtype=np.float32))[None] for v in owner.ezkl_input()["input_data"]]
    with torch.no_grad():
        assert float(circuit.SharpnessGraph(owner.spec)(*inputs)[0]) == 1.0
        assert float(circuit.SharpnessGraph(low)(*inputs)[0]) == 0.0


def test_above_threshold_writes_nothing(proof_mlp, proof_data, tmp_path):
    out = tmp_path / "cert"
    with pytest.raises(ThresholdExceeded, match="above the threshold 0.5: no certificate written"):
        prove(proof_mlp, proof_data, threshold=0.5, out=out)
    assert not out.exists() and list(tmp_path.iterdir()) == []
