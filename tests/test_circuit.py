"""The circuit builder: output layout per metric, and the fixed-point gap where it is weakest (tiny training loss)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import torch

from zkcert import _ezkl, circuit
from zkcert._io import atomic_write_json
from zkcert.commitments import SALT_LEN, Salts
from zkcert.direction import ROW_SIGN
from zkcert.metric import DS, RDS, mean_loss
from zkcert.models import mlp
from zkcert.prover import make_spec, prepare
from zkcert.statement import AggregationSpec
from zkcert.training import TrainConfig, train


@pytest.mark.parametrize("metric,reveal,names", [
    (DS, True, ["flag", "numerator"]), (RDS, True, ["flag", "numerator", "loss_sum"]), (RDS, False, ["flag"]),
])
def test_output_layout_per_metric(metric, reveal, names, tiny_mlp, tiny_data):
    spec = make_spec(tiny_mlp, tiny_data, threshold=1.0, epsilon=0.125, n_directions=1, input_scale=10, metric=metric, reveal_value=reveal)
    assert circuit.output_names(spec) == names
    assert circuit.output_names(AggregationSpec(3, 1.0, 10, reveal_value=reveal, metric=metric)) == names
    assert circuit.shard_output_len(metric) == (1 if metric == DS else 2) + SALT_LEN  # sums and the data salt


@pytest.fixture(scope="module")
def memorizing_mlp(digits_train):
    """A 64-8-10 MLP trained to a mean training loss below 0.01 on the 16 samples it is certified on."""
    torch.manual_seed(0)
    data = digits_train.head(16)
    model = train(mlp(64, [8], 10), data, TrainConfig(epochs=300, seed=0))
    assert mean_loss(model, data) < 0.01
    return model, data


@pytest.mark.parametrize("epsilon,scale", [(0.125, 10), (0.125, 12)])
def test_fixed_point_gap_below_2_percent_at_tiny_training_loss(memorizing_mlp, epsilon, scale):
    """rds/v1 divides by the summed loss, which is smallest exactly here; one row-sign direction keeps the gap < 2 %.

    At 2**8 this model's gap was 7 %: one quantization step of a per-sample loss is then about the loss
    itself. The default statement (K = 4 rademacher-abs directions at eps 2**-6, scale 2**12) was 5-9 %
    off on this model (README, "What a certificate proves"): its numerator shrinks with eps^2.
    """
    model, data = memorizing_mlp
    spec = make_spec(model, data, threshold=1e6, epsilon=epsilon, n_directions=1, input_scale=scale, metric=RDS, direction=ROW_SIGN)
    owner = prepare(model, data, spec, nonce="low-loss", salts=Salts.fresh())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        spec = circuit.calibrate_spec(spec, owner.ezkl_input(), work)
        files = circuit.compile_spec(spec)
        atomic_write_json(work / "in.json", owner.ezkl_input())
        witness = _ezkl.gen_witness(work / "in.json", files.compiled, work / "w.json")
    flag, value = circuit.flag_and_value(spec, circuit.witness_outputs(witness, files.settings_json()))
    assert flag == 1.0
    assert value == pytest.approx(owner.float_metric, rel=0.02)
    assert spec.logrows <= 18
