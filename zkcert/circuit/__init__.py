"""The circuit builder: the sharpness computation as a graph (graph.py) and its ezkl circuit and keys (build.py).

The graph's inputs are the three committed vectors of zkcert.commitments (data, model, direction
signs), all with ezkl's "hashed" visibility so their Poseidon hashes are the proof's first public
instances (layout.py names every instance). See graph.py for what it computes.
"""

from .build import (
    BASE_RUN_ARGS, CircuitFiles, Outputs, calibrate_spec, fitting_logrows, compile_spec, fewer_columns, decode_outputs, ezkl_run_args, fixed_point_outputs,
    flag_and_value, read_outputs,
    input_json,
    keys_for, layout_rows, merge_run_args, vk_fingerprint, witness_outputs,
)
from .layout import HASHED_INPUTS, Instances, instance_names, read_instances
from .graph import AggregationGraph, SharpnessGraph, export_onnx, input_lengths, output_names, shard_output_len, sum_count, sum_names

__all__ = [
    "SharpnessGraph", "AggregationGraph", "CircuitFiles", "export_onnx", "calibrate_spec", "fitting_logrows", "fewer_columns", "compile_spec", "keys_for", "layout_rows",
    "BASE_RUN_ARGS", "ezkl_run_args", "merge_run_args", "output_names", "shard_output_len", "sum_count", "sum_names", "input_lengths",
    "decode_outputs", "witness_outputs", "fixed_point_outputs", "Outputs", "read_outputs", "flag_and_value", "input_json", "vk_fingerprint",
    "HASHED_INPUTS", "Instances", "instance_names", "read_instances",
]
