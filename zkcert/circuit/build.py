"""Building the circuit with ezkl: run arguments, calibration, compile and keys (cached by spec digest), and reading its outputs."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .._internal import ezkl as _ezkl
from .._internal.cache import cache_dir
from .._internal.io import atomic_write_json, read_json, sha256_file
from ..cache import enforce_cache_limit, mark_used
from ..commitments import KZG, Column
from ..errors import CircuitError
from ..metric import value_from_sums
from ..spec import RUN_ARGS, AggregationSpec, AnySpec, CircuitSpec
from ..srs import Srs
from .graph import export_onnx, output_names

__all__ = [
    "BASE_RUN_ARGS", "CircuitFiles", "ezkl_run_args", "calibrate_spec", "fitting_logrows", "fewer_columns", "merge_run_args", "compile_spec", "keys_for",
    "vk_fingerprint", "decode_outputs", "witness_outputs", "Outputs", "read_outputs", "flag_and_value", "input_json", "fixed_point_outputs",
]

# Visibility is zkcert's design, not a tunable: hashed inputs give the commitments as instances, the
# fixed parameters (eps, the bound) go into the key, and the flag is a public output. A shard's only
# output, (partial numerator, salt), leaves as a Poseidon hash so the verifier never sees the partial.
# Under kzg/v1 the inputs are KZG-committed columns instead (no rows per element), and ezkl's input range
# checks are off because the salts are full field elements (zkcert.commitments says what that gives up).
_VISIBILITY = {"input_visibility": "hashed", "output_visibility": "public", "param_visibility": "fixed"}
_SHARD_VISIBILITY = {**_VISIBILITY, "output_visibility": "hashed"}
_KZG = {"input_visibility": "polycommit", "ignore_range_check_inputs_outputs": True}
# The aggregation of kzg/v1 shards hashes partials that carry field-element salts: no range check on them either.
_KZG_AGGREGATION = {"ignore_range_check_inputs_outputs": True}
BASE_RUN_ARGS: dict[str, Any] = {"num_inner_cols": 2, "scale_rebase_multiplier": 1}




def _export(spec: Any, path: Path) -> None:
    """The spec's graph as ONNX: a claim's spec exports its own graph (zkcert.claims), the others the sharpness graph's."""
    own = getattr(spec, "export_onnx", None)
    if own is not None:
        own(path)
    else:
        export_onnx(spec, path)


def decode_outputs(felts: Sequence[str], settings: dict[str, Any]) -> list[float]:
    """The output field elements (witness outputs or a proof's output instances) as floats at their scales."""
    scales = _ezkl.settings_output_scales(settings)
    if len(felts) != len(scales):
        raise CircuitError(f"expected {len(scales)} outputs, got {len(felts)}")
    return [_ezkl.felt_to_float(f, scale) for f, scale in zip(felts, scales)]


def witness_outputs(witness: dict[str, Any], settings: dict[str, Any]) -> list[float]:
    """A witness's outputs as floats: [flag, numerator, loss sum (rds/v1)] as far as the spec reveals them."""
    return decode_outputs([out[0] for out in _ezkl.WitnessView.from_json(witness).outputs], settings)


@dataclass(frozen=True)
class Outputs:
    """A final circuit's decoded public outputs by name (zkcert.circuit.graph.output_names).

    labels_ok and correct are None for specs without label checks; value is None where no sum is revealed.
    """

    flag: float
    value: float | None
    labels_ok: float | None
    correct: float | None


def read_outputs(spec: CircuitSpec, outputs: list[float], n_samples: int | None = None, *, of: AnySpec | None = None) -> Outputs:
    """The decoded outputs of the circuit `of` (default: spec's own) by name, with the metric's fixed-point value
    where its sums are revealed.

    spec is the statement's circuit spec (for eps and K); `of` is the aggregation spec when the outputs are an
    aggregation's, and n_samples is then the statement's total N.
    """
    if len(outputs) != len(names := output_names(of or spec)):
        raise CircuitError(f"expected {len(names)} outputs ({', '.join(names)}), got {len(outputs)}")
    named = dict(zip(names, outputs))
    value = None
    if "numerator" in named:
        value = value_from_sums(spec.metric, named["numerator"], named.get("loss_sum"), n_samples or spec.n_samples,
                                spec.n_directions, spec.epsilon)
    return Outputs(named["flag"], value, named.get("labels_ok"), named.get("correct"))


def flag_and_value(spec: CircuitSpec, outputs: list[float], n_samples: int | None = None, *, of: AnySpec | None = None) -> tuple[float, float | None]:
    """(flag, the metric's fixed-point value or None if not revealed) from decoded outputs (read_outputs)."""
    read = read_outputs(spec, outputs, n_samples, of=of)
    return read.flag, read.value


def input_json(data_col: Column, model_col: Column, direction_col: Column) -> dict[str, Any]:
    """ezkl's input file contents for the three columns."""
    return {"input_data": [list(data_col), list(model_col), list(direction_col)]}


def ezkl_run_args(spec: AnySpec) -> dict[str, Any]:
    """ezkl's run arguments for a spec: the base ones, both scales at the spec's input scale, the spec's own
    (lookup range, logrows) and the visibility (hashed or KZG-committed inputs; shards also hash their outputs)."""
    visibility = _SHARD_VISIBILITY if getattr(spec, "shard", False) else _VISIBILITY
    if spec.commitment == KZG:
        visibility = {**visibility, **(_KZG_AGGREGATION if isinstance(spec, AggregationSpec) else _KZG)}
    return {**BASE_RUN_ARGS, "input_scale": spec.input_scale, "param_scale": spec.input_scale, **spec.run_args, **visibility}


def calibrate_spec(
    spec: AnySpec, inputs: dict[str, Any] | list[dict[str, Any]], workdir: Path, *, max_logrows: int = 20,
) -> AnySpec:
    """Fix lookup ranges and logrows on the owner's inputs at the spec's scale; returns the pinned spec.

    A spec whose range is the graph's bound (CircuitSpec.fixed_range) is pinned without its inputs (_fixed_range).

    With several inputs (the shards or blocks of one circuit) the circuit must hold every one of them: they go
    to ezkl as the batches of one input file, and ezkl calibrates on their union (no single shard's range
    covered all the others' on 8 digits shards). One call instead of one per input: ezkl lays the circuit out
    once, so 40 held-out blocks of MNIST calibrate in 0.38x the time, to the same run arguments
    (results/proving/calibration.md; tests/circuit/test_build.py compares with calibrating each input alone).
    """
    if getattr(spec, "fixed_range", False):
        return _fixed_range(spec, workdir, max_logrows)
    onnx_path, input_path, settings_path = workdir / "model.onnx", workdir / "calibration.json", workdir / "settings.json"
    _export(spec, onnx_path)
    atomic_write_json(input_path, batched_inputs(inputs if isinstance(inputs, list) else [inputs]))
    _ezkl.gen_settings(onnx_path, settings_path, ezkl_run_args(spec))
    _ezkl.calibrate(input_path, onnx_path, settings_path, scale=spec.input_scale, max_logrows=max_logrows)
    got = read_json(settings_path)["run_args"]
    return spec.with_run_args({k: got[k] for k in sorted(RUN_ARGS)})


# Rows ezkl keeps free at the end of the domain for blinding: its calc_min_logrows adds them to the rows and to the
# lookup table's length (5 assumed blinding factors and 3 rows of pad in ezkl 23; tests/circuit/test_build.py checks
# that fitting_logrows gives calibration's logrows for calibration's range).
_RESERVED_ROWS = 8


def _bits(n: float) -> int:
    """The smallest k with 2**k >= n."""
    return max(int(n - 1).bit_length(), 1)


def fitting_logrows(settings: dict[str, Any], lookup_range: Sequence[int], max_logrows: int | None = None) -> int:
    """ezkl's calibrate rule for logrows, applied to a lookup range not taken from data: the fewest that hold the
    settings' rows, constants and instances and a table over lookup_range in one column each; capped at max_logrows
    (ezkl then spreads rows and table over more columns), but never below the rows of the Poseidon hashes, which
    ezkl cannot spread."""
    lo, hi = lookup_range
    instances = max((math.prod(shape) for shape in settings.get("model_instance_shapes") or [[1]]), default=1)
    need = max(_bits(hi - lo + _RESERVED_ROWS + 1), _bits(settings["num_rows"] + _RESERVED_ROWS),
               _bits(settings.get("total_const_size") or 1), _bits(instances + _RESERVED_ROWS))
    if max_logrows is None:
        return need
    poseidon = (settings.get("module_sizes") or {}).get("poseidon") or [0]
    return max(min(need, max_logrows), _bits(poseidon[0] + _RESERVED_ROWS))


def _fixed_range(spec: CircuitSpec, workdir: Path, max_logrows: int) -> CircuitSpec:
    """The spec with the graph's lookup range and the fewest logrows that hold it and the circuit, capped at max_logrows
    as ezkl's calibrate caps (fitting_logrows). No data: nothing in its run arguments depends on the owner's samples.

    fewer_columns relies on the cap (one column per row at the same logrows, its rows spread over more columns: faster
    on the Poseidon circuits, results/proving/proving.md); zkcert.proving.sizing asks with a cap it never reaches."""
    onnx_path, settings_path = workdir / "model.onnx", workdir / "settings.json"
    _export(spec, onnx_path)
    bound = spec.lookup_bound()
    args = {**ezkl_run_args(spec), "lookup_range": bound}
    logrows = min(fitting_logrows({"num_rows": 0}, bound), max_logrows)
    while True:  # the rows ezkl lays out at a logrows may need more: lay out again there (logrows only grows)
        _ezkl.gen_settings(onnx_path, settings_path, {**args, "logrows": logrows})
        settings = read_json(settings_path)
        need = fitting_logrows(settings, bound, max_logrows)
        if need <= logrows:
            break
        logrows = need
    got = settings["run_args"]
    return spec.with_run_args({k: got[k] for k in sorted(RUN_ARGS)})


def layout_rows(spec: AnySpec, workdir: Path, **run_args: Any) -> int:
    """ezkl's rows for the spec's circuit (with these run arguments over its own), from gen_settings alone.

    No data and no calibration: the layout's rows depend on the graph and the columns per row, not on the values
    or (below 2**logrows) the lookup range (held-out rows at 8 samples were 28,144 either way).
    """
    onnx_path, settings_path = workdir / "rows.onnx", workdir / "rows-settings.json"
    _export(spec, onnx_path)
    _ezkl.gen_settings(onnx_path, settings_path, {**ezkl_run_args(spec), **run_args})
    return int(read_json(settings_path)["num_rows"])


def fewer_columns(spec: AnySpec, inputs: list[dict[str, Any]], workdir: Path) -> AnySpec:
    """The calibrated spec laid out one column per row instead, when that fits the same logrows; else spec itself.

    A small circuit whose rows are mostly Poseidon hashes (which do not spread over columns) fits the same
    domain with one column, and then has fewer columns to commit: on the tests' 64-4-10 digits circuit (2
    samples, logrows 15) setup and proof each took about 30 % less. A larger circuit needs more logrows with
    one column and keeps its columns. Used where neither the caller nor sizing chose the columns.
    """
    logrows = spec.logrows or 0
    try:
        one = calibrate_spec(spec.with_run_args({"num_inner_cols": 1}), inputs, workdir, max_logrows=logrows)
    except CircuitError:
        return spec
    return one if (one.logrows or 0) <= logrows else spec


def batched_inputs(inputs: list[dict[str, Any]]) -> dict[str, Any]:
    """ezkl input files of one circuit as one file whose every input is theirs concatenated (ezkl's batches)."""
    columns = [one["input_data"] for one in inputs]
    if any([len(c) for c in col] != [len(c) for c in columns[0]] for col in columns):
        raise CircuitError("calibration inputs of one circuit differ in shape; please report this")
    return {"input_data": [[v for col in columns for v in col[i]] for i in range(len(columns[0]))]}


def fixed_point_outputs(spec: CircuitSpec, inputs: dict[str, Any], workdir: Path) -> tuple[CircuitSpec, list[float]]:
    """The calibrated spec and its circuit's decoded outputs on one input, by witness only (no keys, no proof)."""
    spec = calibrate_spec(spec, inputs, workdir)
    files = compile_spec(spec)
    atomic_write_json(workdir / "witness-input.json", inputs)
    witness = _ezkl.gen_witness(workdir / "witness-input.json", files.compiled, workdir / "witness.json")
    return spec, witness_outputs(witness, files.settings_json())


def merge_run_args(found: list[dict[str, Any]]) -> dict[str, Any]:
    """One set of run arguments that holds every calibrated input: union of lookup ranges, largest logrows."""
    def fixed(args: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in args.items() if k not in ("lookup_range", "logrows")}

    merged = dict(found[0])
    for other in found[1:]:
        if fixed(other) != fixed(merged):
            raise CircuitError("calibration chose different circuit settings for different shards; please report this")
        lo, hi = merged["lookup_range"]
        merged["lookup_range"] = [min(lo, other["lookup_range"][0]), max(hi, other["lookup_range"][1])]
        merged["logrows"] = max(merged["logrows"], other["logrows"])
    # No extra logrow for the wider merged range: ezkl splits a lookup table over as many columns as
    # it needs at the given logrows (an earlier "one logrow of slack" doubled the cost of small shards).
    return merged


@dataclass(frozen=True)
class CircuitFiles:
    """The compiled circuit of a spec and (once set up) its keys, in the cache."""

    folder: Path

    onnx = property(lambda self: self.folder / "model.onnx")
    settings = property(lambda self: self.folder / "settings.json")
    compiled = property(lambda self: self.folder / "model.ezkl")

    def vk(self, srs: Srs) -> Path:
        """Verifying key for this SRS."""
        return self.folder / f"vk-{srs.sha256[:16]}.key"

    def pk(self, srs: Srs) -> Path:
        """Proving key for this SRS."""
        return self.folder / f"pk-{srs.sha256[:16]}.key"

    def settings_json(self) -> dict[str, Any]:
        """The compiled circuit's settings."""
        return json.loads(self.settings.read_text())


# ezkl 23.0.5 writes these sets in a hash-map order that changes from process to process, and the
# circuit's column layout (so its verifying key) follows that order: a verifier rebuilding the key in
# a fresh process got another key for an honest certificate. Sorting them makes the key a function of
# the spec alone.
_UNORDERED_SETTINGS = ("required_lookups", "required_range_checks")


def canonicalize_settings(path: Path) -> None:
    """Sort the settings' order-free lists so that compile and setup are deterministic."""
    settings = read_json(path)
    for key in _UNORDERED_SETTINGS:
        if isinstance(settings.get(key), list):
            settings[key] = sorted(settings[key], key=lambda v: json.dumps(v, sort_keys=True))
    atomic_write_json(path, settings)


def compile_spec(spec: AnySpec, cache: str | Path | None = None) -> CircuitFiles:
    """ONNX export, settings and compiled circuit for a calibrated spec, cached by the spec's digest (in cache, default zkcert's)."""
    if not spec.calibrated:
        raise CircuitError("the circuit spec has no calibrated run arguments")
    files = CircuitFiles(cache_dir("circuits", spec.digest()[:24], root=cache))
    if not files.compiled.is_file():
        _compile_into(spec, files)
    return files


def _compile_into(spec: AnySpec, files: CircuitFiles) -> None:
    """Export, settings and compiled circuit under this process's names, then moved in with the compiled circuit last.

    The compiled file is what marks a cached circuit as complete, so a worker that races another on the same
    spec (shards on one node, claim proofs) or dies half way never leaves one that looks complete and is not.
    """
    pid = os.getpid()
    final = (files.onnx, files.settings, files.compiled)
    onnx, settings, compiled = tmp = [p.with_name(f"{p.stem}.tmp{pid}{p.suffix}") for p in final]
    try:
        _export(spec, onnx)
        _ezkl.gen_settings(onnx, settings, ezkl_run_args(spec))
        canonicalize_settings(settings)
        _ezkl.compile_circuit(onnx, compiled, settings)
        for made, name in zip(tmp, final):
            made.replace(name)
    finally:
        for made in tmp:
            made.unlink(missing_ok=True)


def keys_for(files: CircuitFiles, srs: Srs) -> tuple[Path, Path]:
    """(vk, pk) for the circuit and SRS, running ezkl setup once and caching the result."""
    vk, pk = files.vk(srs), files.pk(srs)
    mark_used(files.folder)  # zkcert.cache prunes the least recently used circuits first
    if not (vk.is_file() and pk.is_file()):
        # Per-process temporary names: shard workers on one node may race to set up the same circuit.
        tmp_vk, tmp_pk = vk.with_suffix(f".tmp{os.getpid()}"), pk.with_suffix(f".tmp{os.getpid()}")
        _ezkl.setup(files.compiled, tmp_vk, tmp_pk, srs.path)
        tmp_pk.replace(pk)
        tmp_vk.replace(vk)
        enforce_cache_limit(files.folder)  # only where the cache grew, and never this circuit
    return vk, pk


def vk_fingerprint(vk_path: Path) -> str:
    """SHA-256 of a verifying key file."""
    return sha256_file(vk_path)
