"""A CNN as users write it (BatchNorm, MaxPool, Dropout) on graphs 6 and 7: their circuits compute graph 5's sums without shuffles, and it is certified end to end."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from certs import TINY, edit_json, rehash
from zkcert import circuit
from zkcert.certificate import MANIFEST, Manifest
from zkcert.errors import InputError
from zkcert.owner import make_spec, plan
from zkcert.spec import CNN_GRAPH, GATHER_GRAPH, LEAN_GRAPH
from zkcert.training import TrainConfig, train

CNN_NONCE = "cnn-nonce"


@pytest.fixture(scope="module")
def pooled_cnn(digits_train):
    """Conv(1->1, 3x3, no bias) -> BatchNorm2d -> ReLU -> MaxPool(2) -> Flatten -> Dropout -> Linear, trained briefly on digits.

    One channel: its certificate circuit calibrates to logrows 15 (two channels: 16, from a wider lookup range)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1, bias=False), nn.BatchNorm2d(1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Dropout(0.2), nn.Linear(16, 10))
    return train(model, digits_train.head(400), TrainConfig(epochs=10, seed=0))


@pytest.fixture(scope="module")
def cnn_cert(pooled_cnn, proof_data, tmp_path_factory):
    """(folder, salts) of one honest certificate of the CNN on 2 digits samples (the TINY statement, one proof)."""
    from zkcert import Execution, Salts, prove

    salts = Salts.fresh()
    out = tmp_path_factory.mktemp("cnn") / "cert"
    return prove(pooled_cnn, proof_data, threshold=1000.0, out=out, nonce=CNN_NONCE, salts=salts, statement=TINY,
                 execution=Execution(shard_size="all")).certificate, salts


def test_graph_6_pools_and_convolves_with_graph_5s_sums_and_no_shuffles(pooled_cnn, proof_data):
    """The same fixed-point outputs as graph 5 (ezkl's Conv and MaxPool), exactly, with no shuffle argument and no
    MaxPool or Conv node; graph 7 (the newest: graph 6's nodes with gathers for slices) the same again."""
    import onnx

    spec = make_spec(pooled_cnn, proof_data, threshold=1000.0, **TINY.statement_kwargs())
    assert spec.graph == GATHER_GRAPH and spec.folds[0] == "BatchNorm2d (layer 1) folded into Conv2d (layer 0)"
    p = plan(pooled_cnn, proof_data, spec=spec, nonce="graphs")
    found = {}
    for g in (LEAN_GRAPH, CNN_GRAPH, GATHER_GRAPH):
        s = dataclasses.replace(spec, graph=g)
        with tempfile.TemporaryDirectory() as tmp:
            calibrated, outputs = circuit.fixed_point_outputs(s, p.shard_input(0), Path(tmp))
            circuit.export_onnx(s, Path(tmp) / "g.onnx")
            ops = {node.op_type for node in onnx.load(str(Path(tmp) / "g.onnx")).graph.node}
            settings = circuit.compile_spec(calibrated).settings_json()
        found[g] = outputs, ops, settings["num_shuffles"]
    assert found[GATHER_GRAPH][0] == found[CNN_GRAPH][0] == found[LEAN_GRAPH][0]
    assert {"MaxPool", "Conv"} <= found[LEAN_GRAPH][1] and not {"MaxPool", "Conv"} & (found[CNN_GRAPH][1] | found[GATHER_GRAPH][1])
    assert found[LEAN_GRAPH][2] > 0 and found[CNN_GRAPH][2] == found[GATHER_GRAPH][2] == 0
    named = dict(zip(circuit.output_names(spec), found[GATHER_GRAPH][0]))
    assert named["labels_ok"] == 1.0 and named["flag"] == 1.0


def test_a_cnn_certificate_verifies_and_names_its_folds(cnn_cert):
    from zkcert import verify

    folder, _ = cnn_cert
    st = Manifest.load(folder).statement
    result = verify(folder, data_commitment=st.data_commitment, model_commitment=st.model_commitment, nonce=CNN_NONCE,
                    allow_untrusted_srs=True)
    assert result.anchored and result.circuit_metric is not None and st.spec.graph == GATHER_GRAPH and st.spec.logrows <= 15
    assert [layer["type"] for layer in st.spec.layers] == ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear"]
    assert st.spec.folds == ("BatchNorm2d (layer 1) folded into Conv2d (layer 0)", "Dropout (layer 5) dropped: the identity in eval mode")
    assert "model folded: BatchNorm2d (layer 1) folded into Conv2d (layer 0); Dropout" in st.describe()


def test_audit_with_the_trained_model_checks_the_named_folds(cnn_cert, pooled_cnn, proof_data, tmp_path):
    """The proof binds the folded model, not the fold list: an auditor holding the trained model catches a list edited and rehashed."""
    from zkcert import audit

    folder, salts = cnn_cert
    audit(folder, pooled_cnn, proof_data, salts=salts, nonce=CNN_NONCE, allow_untrusted_srs=True)
    forged = Path(shutil.copytree(folder, tmp_path / "forged"))
    edit_json(forged / MANIFEST, lambda m: m["statement"]["spec"].update(folds=[]))
    rehash(forged)
    with pytest.raises(InputError, match=r"the model folds \['BatchNorm2d"):
        audit(forged, pooled_cnn, proof_data, salts=salts, nonce=CNN_NONCE, allow_untrusted_srs=True)


def test_the_committed_theta_is_the_folded_models(cnn_cert, pooled_cnn, proof_data):
    """C_theta commits the folded parameters: the plan made from the trained model gives the certificate's commitment."""
    folder, salts = cnn_cert
    st = Manifest.load(folder).statement
    p = plan(pooled_cnn, proof_data, spec=st.spec, nonce=CNN_NONCE, salts=salts)
    assert p.committed.model_commitment == st.model_commitment
    assert np.asarray(p.committed.model_vec).size >= st.spec.num_params == 9 + 1 + 16 * 10 + 10


@pytest.mark.parametrize("kernel,stride,padding", [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1)), ((3, 2), (1, 2), (0, 1))])
def test_tree_pool_and_im2col_equal_torchs_layers(kernel, stride, padding):
    """Graph 6's MaxPool2d and Conv2d in float, on strided, overlapping and padded windows and odd sizes."""
    from zkcert.circuit.graph import _product, _tree_pool

    x, w = torch.randn(2, 3, 7, 9), torch.randn(4, 3, *kernel)
    torch.testing.assert_close(_tree_pool(x, kernel, stride), torch.nn.functional.max_pool2d(x, kernel, stride))
    cfg = {"type": "Conv2d", "kernel_size": list(kernel), "stride": list(stride), "padding": list(padding)}
    torch.testing.assert_close(_product(cfg, x, w, im2col=True), torch.nn.functional.conv2d(x, w, stride=stride, padding=padding))
