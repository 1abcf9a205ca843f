"""The circuit builder: calibration over every shard, and the fixed-point gap where it is weakest (tiny training loss)."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import pytest
import torch

from certs import TINY_KW
from zkcert import circuit, owner
from zkcert.commitments import KZG, POSEIDON, Salts
from zkcert.direction import ROW_SIGN
from zkcert.metric import RDS, mean_loss
from zkcert.models import mlp
from zkcert.owner import make_spec, plan
from zkcert.training import TrainConfig, train


@pytest.fixture(scope="module")
def memorizing_mlp(digits_train):
    """A 64-8-10 MLP trained to a mean training loss below 0.01 on the 16 samples it is certified on."""
    torch.manual_seed(0)
    data = digits_train.head(16)
    model = train(mlp(64, [8], 10), data, TrainConfig(epochs=300, seed=0))
    assert mean_loss(model, data) < 0.01
    return model, data


# The direction comes from fresh salts, so the gap is drawn anew each run (results/proving/gap.md: 60 draws per
# scale and graph layout): at 2**12 it stayed below 1.2 %; at 2**10 its median was 1.0-1.1 % but 1 or 2 draws in
# 60 passed 2 % (2.7 % at worst over three runs; CI once drew 2.02 %), so 2**10 is held to 5 %. A bound on a
# random draw must hold for its tail.
@pytest.mark.parametrize("scale,bound", [(10, 0.05), (12, 0.02)])
def test_fixed_point_gap_at_tiny_training_loss(memorizing_mlp, scale, bound):
    """rds/v1 divides by the summed loss, which is smallest exactly here; one row-sign direction keeps the gap small.

    At 2**8 this model's gap was 7 %: one quantization step of a per-sample loss is then about the loss
    itself. The default statement (K = 4 rademacher-abs directions at eps 2**-6, scale 2**12) was 5-9 %
    off on this model (README, "What a certificate proves"): its numerator shrinks with eps^2.
    """
    model, data = memorizing_mlp
    spec = make_spec(model, data, threshold=1e6, epsilon=0.125, n_directions=1, input_scale=scale, metric=RDS, direction=ROW_SIGN)
    owner = plan(model, data, spec=spec, nonce="low-loss", salts=Salts.fresh())
    with tempfile.TemporaryDirectory() as tmp:
        spec, outputs = circuit.fixed_point_outputs(spec, owner.shard_input(0), Path(tmp))
    flag, value = circuit.flag_and_value(spec, outputs)
    assert flag == 1.0
    assert value == pytest.approx(owner.float_metric, rel=bound)
    assert spec.logrows <= 18


def test_calibration_holds_every_shard(proof_mlp, digits_train, tmp_path):
    """One calibrated shard circuit (a spec before fixed ranges) must hold all shards: its lookup range covers each
    shard's own calibration."""
    plan = owner.plan(proof_mlp, digits_train.head(8), shard_size=2, threshold=1000.0, nonce="calibration", **TINY_KW)
    spec = dataclasses.replace(plan.spec, fixed_range=False)
    inputs = [plan.shard_input(i) for i in range(plan.committed.n_shards)]
    alone = []
    for i, one in enumerate(inputs):
        (tmp_path / str(i)).mkdir()
        alone.append(circuit.calibrate_spec(spec, one, tmp_path / str(i)).run_args)
    (tmp_path / "all").mkdir()
    merged = circuit.calibrate_spec(spec, inputs, tmp_path / "all").run_args
    for own in alone:
        assert merged["lookup_range"][0] <= own["lookup_range"][0] and own["lookup_range"][1] <= merged["lookup_range"][1]
        assert merged["logrows"] >= own["logrows"]
    assert merged["lookup_range"] == [min(a["lookup_range"][0] for a in alone), max(a["lookup_range"][1] for a in alone)]


def test_a_fixed_range_is_the_graphs_bound_whatever_the_data(proof_mlp, digits_train, tmp_path):
    """New specs fix their run arguments without data: two shards of other samples pin the same range (the bound) and
    logrows, and the circuit holds both (their witnesses build and the first passes ezkl's mock)."""
    import ezkl

    from zkcert._internal import ezkl as _ezkl
    from zkcert._internal.io import atomic_write_json

    p = owner.plan(proof_mlp, digits_train.head(4), shard_size=2, threshold=1000.0, nonce="fixed", **TINY_KW)
    assert p.spec.fixed_range
    pinned = [circuit.calibrate_spec(p.spec, p.shard_input(i), tmp_path).run_args for i in (0, 1)]
    assert pinned[0] == pinned[1] and pinned[0]["lookup_range"] == p.spec.lookup_bound()
    files = circuit.compile_spec(p.spec.with_run_args(pinned[0]), cache=tmp_path / "cache")
    assert pinned[0]["logrows"] == circuit.fitting_logrows(files.settings_json(), p.spec.lookup_bound()) <= 15
    for i in (0, 1):
        atomic_write_json(tmp_path / f"in-{i}.json", p.shard_input(i))
        _ezkl.gen_witness(tmp_path / f"in-{i}.json", files.compiled, tmp_path / f"w-{i}.json")
    assert ezkl.mock(str(tmp_path / "w-0.json"), str(files.compiled))


@pytest.mark.parametrize("samples,decides", [(2, "range"), (16, "rows")])
def test_fitting_logrows_is_calibrations_rule(memorizing_mlp, tmp_path, samples, decides):
    """For the range calibration chose, fitting_logrows gives calibration's logrows, both where the lookup range
    decides (2 samples of the memorizing MLP: its logits far apart, exp floored at -16) and where the rows do (16)."""
    from zkcert._internal.io import read_json

    model, data = memorizing_mlp
    p = owner.plan(model, data.head(samples), threshold=1000.0, nonce="rule", **TINY_KW)
    calibrated = circuit.calibrate_spec(dataclasses.replace(p.spec, fixed_range=False), p.shard_input(0), tmp_path)
    settings, found = read_json(tmp_path / "settings.json"), calibrated.run_args["lookup_range"]
    assert circuit.fitting_logrows(settings, found) == calibrated.logrows
    by_range, by_rows = circuit.fitting_logrows({"num_rows": 0}, found), circuit.fitting_logrows(settings, [0, 0])
    assert (by_range > by_rows) if decides == "range" else (by_rows > by_range)


@pytest.mark.parametrize("scheme,samples,cap,capped_at,uncapped", [(POSEIDON, 2, 14, 15, 15), (KZG, 16, 15, 15, 16)])
def test_a_fixed_range_is_capped_as_calibration_caps(memorizing_mlp, tmp_path, scheme, samples, cap, capped_at, uncapped):
    """Below what it needs, both paths stop where ezkl's calibrate stops: at the cap, with the rows spread over more
    columns (kzg/v1, 16 samples: 2**16 uncapped, 2**15 capped), but not below the Poseidon hashes' rows (poseidon/v1,
    which ezkl cannot spread: 2 samples, 2**15 for a cap of 14). The capped circuit holds the shard (ezkl's mock)."""
    import ezkl

    from zkcert._internal import ezkl as _ezkl
    from zkcert._internal.io import atomic_write_json
    from zkcert.owner import provisional_committer

    model, data = memorizing_mlp
    p = owner.plan(model, data.head(samples), threshold=1000.0, nonce="cap", committer=provisional_committer if scheme == KZG else None,
                   **{**TINY_KW, "commitment": scheme})
    (tmp_path / "calibrated").mkdir()
    capped = circuit.calibrate_spec(p.spec, p.shard_input(0), tmp_path, max_logrows=cap)
    calibrated = circuit.calibrate_spec(dataclasses.replace(p.spec, fixed_range=False), p.shard_input(0), tmp_path / "calibrated",
                                        max_logrows=cap)
    assert (capped.logrows, calibrated.logrows) == (capped_at, capped_at)
    assert circuit.calibrate_spec(p.spec, p.shard_input(0), tmp_path).logrows == uncapped
    files = circuit.compile_spec(capped, cache=tmp_path / "cache")
    atomic_write_json(tmp_path / "in.json", p.shard_input(0))
    _ezkl.gen_witness(tmp_path / "in.json", files.compiled, tmp_path / "w.json")
    assert ezkl.mock(str(tmp_path / "w.json"), str(files.compiled))


def test_a_circuit_that_fails_half_way_is_not_cached(proof_mlp, digits_train, tmp_path, monkeypatch):
    """A compile that dies half way leaves nothing in the cache, so the next call compiles afresh, not a partial file."""
    from zkcert._internal import ezkl as _ezkl
    from zkcert.errors import CircuitError

    p = owner.plan(proof_mlp, digits_train.head(2), shard_size=2, threshold=1000.0, nonce="atomic", **TINY_KW)
    spec = circuit.calibrate_spec(p.spec, p.shard_input(0), tmp_path)
    compile_circuit = _ezkl.compile_circuit

    def dies_half_way(onnx: Path, compiled: Path, settings: Path) -> None:
        Path(compiled).write_bytes(b"half a circuit")
        raise CircuitError("killed")

    monkeypatch.setattr(_ezkl, "compile_circuit", dies_half_way)
    with pytest.raises(CircuitError):
        circuit.compile_spec(spec, cache=tmp_path / "cache")
    (folder,) = (tmp_path / "cache" / "circuits").iterdir()
    assert list(folder.iterdir()) == []
    monkeypatch.setattr(_ezkl, "compile_circuit", compile_circuit)
    files = circuit.compile_spec(spec, cache=tmp_path / "cache")
    assert sorted(f.name for f in folder.iterdir()) == ["model.ezkl", "model.onnx", "settings.json"]
    assert files.settings_json()["run_args"]["logrows"] == spec.logrows


def test_merge_run_args_refuses_different_settings():
    from zkcert.circuit import merge_run_args
    from zkcert.errors import CircuitError

    base = {"lookup_range": [-10, 10], "logrows": 15, "input_scale": 8}
    assert merge_run_args([base, {**base, "lookup_range": [-20, 5], "logrows": 16}]) == \
        {"lookup_range": [-20, 10], "logrows": 16, "input_scale": 8}
    # A wider range alone does not add logrows: ezkl spreads a table over more columns.
    assert merge_run_args([base, {**base, "lookup_range": [-2**16, 0]}])["logrows"] == 15
    with pytest.raises(CircuitError, match="different circuit settings"):
        merge_run_args([base, {**base, "input_scale": 7}])
