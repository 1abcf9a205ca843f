"""The prover: commit, derive the direction, check the metric, calibrate, compile, prove, write the certificate."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from torch import nn

from . import _ezkl, circuit
from ._io import atomic_write_json, read_json
from ._measure import Steps
from .certificate import PROOF, SRS_FILE, VK, Manifest, software_versions, write_certificate
from .commitments import Commitments, Salts, commit_vector, data_vector, felt_hex, model_vector
from .data import Dataset
from .direction import DEFAULT_FAMILY, committed_directions, family_directions
from .errors import CircuitError, InputError, ThresholdExceeded
from .metric import DEFAULT_METRIC, flat_params, sharpness
from .models import check_compatible, layer_configs
from .srs import resolve_srs
from .statement import DEFAULT_DIRECTIONS, DEFAULT_EPSILON, DEFAULT_INPUT_SCALE, CircuitSpec, Statement

__all__ = ["OwnerInputs", "prepare", "make_spec", "prove", "ProveResult", "float_metric", "relative_gap"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class OwnerInputs:
    """Everything the owner derives before proving: vectors, commitments, direction signs r, float metric."""

    spec: CircuitSpec
    salts: Salts
    commitments: Commitments
    nonce: str
    r: np.ndarray
    data_vec: np.ndarray
    model_vec: np.ndarray
    float_metric: float

    def ezkl_input(self) -> dict[str, Any]:
        """The witness input file's contents."""
        return circuit.input_json(self.data_vec, self.model_vec, self.r.astype(np.float64).ravel())


def make_spec(
    model: nn.Module, data: Dataset, *, threshold: float, epsilon: float, n_directions: int,
    input_scale: int, reveal_value: bool = True, metric: str = DEFAULT_METRIC, direction: str = DEFAULT_FAMILY,
) -> CircuitSpec:
    """The uncalibrated circuit spec for this model and data."""
    model = check_compatible(model, data.x, data.num_classes)
    return CircuitSpec(
        layers=layer_configs(model), input_shape=tuple(int(v) for v in data.x.shape[1:]),
        num_classes=data.num_classes, num_params=int(flat_params(model).size), n_samples=len(data),
        n_directions=n_directions, epsilon=float(epsilon), threshold=float(threshold),
        input_scale=input_scale, reveal_value=reveal_value, metric=metric, direction=direction,
    )


def float_metric(spec: CircuitSpec, model: nn.Module, data: Dataset, r: np.ndarray) -> float:
    """The spec's metric in float64 along the directions with signs r."""
    d = family_directions(spec.direction, r, flat_params(model), spec.layers)
    return sharpness(spec.metric, model, data, d, spec.epsilon)


def check_output_folder(out: str | Path) -> None:
    """Fail before minutes of proving if the certificate folder cannot be created; creates nothing."""
    existing = next(p for p in (Path(out).absolute(), *Path(out).absolute().parents) if p.exists())
    if not existing.is_dir():
        raise InputError(f"cannot create the folder {out}: {existing} is a file, not a folder")


def relative_gap(circuit_value: float | None, float_value: float) -> float | None:
    """|circuit - float| / |float|: how far the fixed-point value is from the float one."""
    return None if circuit_value is None else abs(circuit_value - float_value) / max(abs(float_value), 1e-12)


def _check_spec_fits(spec: CircuitSpec, model: nn.Module, data: Dataset) -> None:
    if tuple(spec.layers) != layer_configs(model):
        raise InputError("the model's architecture differs from the circuit spec's")
    if tuple(data.x.shape[1:]) != spec.input_shape or len(data) != spec.n_samples or data.num_classes != spec.num_classes:
        raise InputError(
            f"data of shape {tuple(data.x.shape)} with {data.num_classes} classes does not fit the spec "
            f"(N={spec.n_samples}, input {spec.input_shape}, {spec.num_classes} classes)"
        )


def prepare(model: nn.Module, data: Dataset, spec: CircuitSpec, *, nonce: str, salts: Salts | None = None) -> OwnerInputs:
    """Commitments, committed direction and the float metric for (model, data) under spec."""
    model = check_compatible(model, data.x, data.num_classes)
    _check_spec_fits(spec, model, data)
    salts = salts or (Salts.fresh() if spec.salted else Salts.none())
    theta = flat_params(model)
    data_vec = data_vector(data, salts.data, spec.input_scale)
    model_vec = model_vector(theta, salts.model, spec.input_scale)
    commitments = Commitments(commit_vector(data_vec, spec.input_scale), commit_vector(model_vec, spec.input_scale))
    r = committed_directions(spec, commitments.model, commitments.data, nonce)
    return OwnerInputs(spec, salts, commitments, nonce, r, data_vec, model_vec, float_metric(spec, model, data, r))


@dataclass(frozen=True)
class ProveResult:
    """Where the certificate went and what was measured on the way."""

    certificate: Path
    manifest: Manifest
    steps: list[dict[str, object]]


def prove(
    model: nn.Module, data: Dataset, *, threshold: float, out: str | Path, epsilon: float = DEFAULT_EPSILON,
    n_directions: int = DEFAULT_DIRECTIONS, nonce: str = "", input_scale: int = DEFAULT_INPUT_SCALE, salts: Salts | None = None,
    srs_path: str | Path | None = None, spec: CircuitSpec | None = None, include_srs: bool = False,
    max_logrows: int = 20, progress: Progress | None = None, metric: str = DEFAULT_METRIC, direction: str = DEFAULT_FAMILY,
) -> ProveResult:
    """Prove that the model's metric (directional sharpness, by default normalized) on data is at most threshold; write a certificate folder.

    Raises ThresholdExceeded (and writes nothing) when the float or the fixed-point metric is above it.
    """
    say = progress or (lambda _msg: None)
    steps = Steps()
    check_output_folder(out)
    spec = spec or make_spec(model, data, threshold=threshold, epsilon=epsilon, n_directions=n_directions,
                             input_scale=input_scale, metric=metric, direction=direction)
    with steps.step("commit"):
        say("committing to data and model")
        owner = prepare(model, data, spec, nonce=nonce, salts=salts)
    if not owner.float_metric <= spec.threshold:  # written so that a NaN fails too
        raise ThresholdExceeded(owner.float_metric, spec.threshold)
    with tempfile.TemporaryDirectory(prefix="zkcert-prove-") as tmp:
        work = Path(tmp)
        if not spec.calibrated:
            with steps.step("calibrate"):
                say("calibrating the circuit")
                spec = circuit.calibrate_spec(spec, owner.ezkl_input(), work, max_logrows=max_logrows)
        with steps.step("compile"):
            say(f"compiling the circuit (logrows {spec.logrows})")
            files = circuit.compile_spec(spec)
        input_path, witness_path, proof_path = work / "input.json", work / "witness.json", work / "proof.json"
        atomic_write_json(input_path, owner.ezkl_input())
        with steps.step("witness"):
            witness = _ezkl.gen_witness(input_path, files.compiled, witness_path)
        hashes = [felt_hex(h) for h in _ezkl.WitnessView.from_json(witness).input_hashes[:2]]
        if hashes != [owner.commitments.data, owner.commitments.model]:
            raise CircuitError("the circuit's input hashes differ from the published commitments: please report this")
        flag, circuit_metric = circuit.flag_and_value(spec, circuit.witness_outputs(witness, files.settings_json()))
        if flag != 1.0:
            raise ThresholdExceeded(circuit_metric if circuit_metric is not None else float("nan"), spec.threshold, what=f"fixed-point {spec.metric}")
        srs = resolve_srs(spec.logrows or 0, srs_path)
        with steps.step("setup"):
            say("generating keys (cached per circuit and SRS)")
            vk, pk = circuit.keys_for(files, srs)
        with steps.step("prove"):
            say("proving")
            _ezkl.prove(witness_path, files.compiled, pk, proof_path, srs.path)
        with steps.step("verify"):
            if not _ezkl.verify(proof_path, files.settings, vk, srs.path):
                raise CircuitError("the fresh proof does not verify: please report this")
        statement = Statement(spec, owner.commitments.data, owner.commitments.model, nonce)
        reported = {
            "float_metric": owner.float_metric,
            "circuit_metric": circuit_metric,
            "relative_gap": relative_gap(circuit_metric, owner.float_metric),
            "steps": steps.to_json(),
        }
        payload = {PROOF: proof_path, VK: vk, **({SRS_FILE: srs.path} if include_srs else {})}
        cert = write_certificate(
            out, payload,
            lambda hashes: Manifest(statement, {**srs.to_json(), "logrows": spec.logrows}, hashes, reported, software_versions()),
        )
    manifest = Manifest.load(cert)
    return ProveResult(cert, manifest, steps.to_json())
