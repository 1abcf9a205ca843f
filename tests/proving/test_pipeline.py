"""The proving pipeline: nothing is written when the metric is above T."""

from __future__ import annotations

import dataclasses

import pytest

from certs import TEST_LOGROWS, TINY
from zkcert import prove
from zkcert.errors import ThresholdExceeded
from zkcert.proving import Execution


def test_above_threshold_writes_nothing(proof_mlp, proof_data, tmp_path):
    out = tmp_path / "cert"
    with pytest.raises(ThresholdExceeded, match="above the threshold 0.5: no certificate written"):
        prove(proof_mlp, proof_data, threshold=0.5, out=out, statement=TINY, execution=Execution(shard_size="all"))
    assert not out.exists() and list(tmp_path.iterdir()) == []


class _Stop(Exception):
    """Raised by a stand-in for key generation: the test has what it came for."""


def _stop_at_setup(monkeypatch: pytest.MonkeyPatch) -> list:
    """Make prove stop when it would generate keys; returns the list that collects (spec, files) of each compiled circuit.

    It stops as the SRS is looked up, just before: a circuit above logrows 15 would otherwise generate a test SRS
    first (about 20 s at 16)."""
    from zkcert import circuit
    from zkcert.proving import pipeline

    seen, compile_spec = [], circuit.compile_spec

    def compiled(spec, *args):
        files = compile_spec(spec, *args)
        seen.append((spec, files))
        return files

    def stop(*_args):
        raise _Stop

    monkeypatch.setattr(circuit, "compile_spec", compiled)
    monkeypatch.setattr(circuit, "keys_for", stop)
    monkeypatch.setattr(pipeline, "resolve_srs", stop)
    return seen


@pytest.mark.parametrize("commitment", ["poseidon/v1", "kzg/v1"])
def test_inner_cols_reach_the_compiled_circuit_and_its_spec(commitment, proof_mlp, proof_data, tmp_path, monkeypatch):
    """--inner-cols N: the circuit that is set up lays out N columns per row, and its spec (hence its digest and key) says so."""
    from certs import TINY

    seen = _stop_at_setup(monkeypatch)
    with pytest.raises(_Stop):
        prove(proof_mlp, proof_data, threshold=1000.0, out=tmp_path / "cert", statement=TINY.override(commitment=commitment),
              execution=Execution(shard_size="all", inner_cols=3))
    assert [(spec.run_args["num_inner_cols"], files.settings_json()["run_args"]["num_inner_cols"]) for spec, files in seen] == [(3, 3)]


def test_inner_cols_must_agree_with_a_pinned_spec(proof_mlp, proof_data, tmp_path):
    from certs import TINY
    from zkcert.errors import InputError
    from zkcert.owner import make_spec

    spec = make_spec(proof_mlp, proof_data, threshold=1000.0, **TINY.statement_kwargs())
    pinned = spec.with_run_args({"num_inner_cols": 2, "logrows": 15, "lookup_range": spec.lookup_bound()})
    with pytest.raises(InputError, match="lays out 2 columns per row, not 4"):
        prove(proof_mlp, proof_data, threshold=1000.0, out=tmp_path / "cert", spec=pinned, execution=Execution(inner_cols=4))


def test_auto_shard_size_sets_up_the_circuit_it_sized(proof_mlp, digits_train, tmp_path, monkeypatch):
    """--shard-size auto: the circuit set up has the chosen shard size and column count, within the budget's logrows."""
    from certs import TINY
    from zkcert.commitments import KZG
    from zkcert.proving import sizing

    seen = _stop_at_setup(monkeypatch)
    budget = sizing.peak_gb(16, KZG, 4)
    with pytest.raises(_Stop):
        prove(proof_mlp, digits_train.head(48), threshold=1000.0, out=tmp_path / "cert", statement=TINY.override(commitment=KZG),
              execution=Execution(shard_size="auto", max_memory_gb=budget, work_dir=tmp_path / "work"))
    size, cols = sizing.choose_shard_size(proof_mlp, digits_train.head(48), max_memory_gb=budget, threshold=1000.0,
                                          **TINY.override(commitment=KZG).statement_kwargs())
    spec, _files = seen[0]
    assert (spec.n_samples, spec.run_args["num_inner_cols"]) == (size, cols) and spec.logrows <= 16


def test_a_poseidon_commit_folder_fixes_how_prove_shards(proof_mlp, digits_train, tmp_path, monkeypatch):
    """Data committed in shards is proved in those shards (its commitments are per shard), and whole data in one proof,
    whatever the memory budget would choose; both before any key is made."""
    from zkcert.api import commit

    data = digits_train.head(4)
    for shard_size, shard in ((2, True), (None, False)):
        seen = _stop_at_setup(monkeypatch)
        published = commit(proof_mlp, data, statement=TINY, shard_size=shard_size)
        with pytest.raises(_Stop):
            prove(proof_mlp, data, threshold=1000.0, out=tmp_path / f"cert-{shard}", statement=TINY, published=published,
                  execution=Execution(work_dir=tmp_path / f"work-{shard}"))
        spec, _files = seen[0]
        assert (spec.shard, spec.n_samples) == (shard, 2 if shard else 4)


def test_a_small_circuit_is_laid_out_in_one_column_when_that_fits_the_same_logrows(honest_cert, sharded_cert):
    """The session's tiny Poseidon circuits (rows mostly their hashes) fit their logrows with one column: prove chose it,
    for a single proof, for shards and for their aggregation."""
    from zkcert.certificate import Manifest

    spec = Manifest.load(honest_cert[0]).statement.spec
    assert spec.run_args["num_inner_cols"] == 1 and spec.logrows <= TEST_LOGROWS
    sharded = Manifest.load(sharded_cert[0]).statement
    assert sharded.spec.run_args["num_inner_cols"] == 1 and sharded.aggregation.run_args["num_inner_cols"] == 1


@pytest.mark.parametrize("one_column", ["more logrows", "does not calibrate", "same logrows"])
def test_one_column_only_where_it_keeps_the_logrows(one_column, proof_mlp, proof_data, monkeypatch, tmp_path):
    """fewer_columns keeps the calibrated spec unless one column calibrates to at most its logrows."""
    from zkcert import circuit
    from zkcert.errors import CircuitError
    from zkcert.owner import make_spec
    from zkcert.circuit import build

    # A spec before fixed ranges: fewer_columns asks calibrate_spec either way (a fixed range answers from rows alone).
    calibrated = dataclasses.replace(make_spec(proof_mlp, proof_data, threshold=1.0, **TINY.statement_kwargs()),
                                     fixed_range=False).with_run_args({"num_inner_cols": 2, "logrows": 15, "lookup_range": [-8, 8]})

    def calibrate(spec, _inputs, _workdir, *, max_logrows):
        assert spec.run_args == {"num_inner_cols": 1} and max_logrows == 15
        if one_column == "does not calibrate":
            raise CircuitError("too many rows")
        return spec.with_run_args({"num_inner_cols": 1, "logrows": 16 if one_column == "more logrows" else 15, "lookup_range": [-8, 8]})

    monkeypatch.setattr(build, "calibrate_spec", calibrate)
    got = circuit.fewer_columns(calibrated, [{}], tmp_path)
    assert got.run_args["num_inner_cols"] == (1 if one_column == "same logrows" else 2)
