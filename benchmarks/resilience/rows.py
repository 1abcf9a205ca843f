"""Rows per sample of the resilience circuit (resilience/v1), offsets shared by the samples or drawn per sample.

Only ezkl.gen_settings runs (no calibration, setup or proof), under kzg/v1 (KZG-committed inputs: no rows per
input element), with the run arguments the MNIST sharpness benchmark uses (scale 2**10, 4 columns per row).
Rows are fitted between N = 8 and N = 20 samples, as results/proving/rows.md fits the sharpness circuit.
"Per sample" is the design zkcert did not take: Q offsets for every sample (a Q N d column), so each
neighbour pays the first layer's product; it is built here only to measure it. Writes
results/resilience/rows.csv and rows.md, and the claim's section of results/proving/rows.md (next to the
sharpness circuit's rows; rerun this after benchmarks/proving/rows.py, which rewrites that file without it).

    python benchmarks/resilience/rows.py
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import torch

from zkcert import circuit
from zkcert._internal import ezkl as _ezkl
from zkcert.circuit.graph import _affine, _other_layer, export_module
from zkcert.circuit.resilience import INPUTS, OUTPUTS, ResilienceGraph, ResilienceSpec

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "results" / "resilience"
PROVING_ROWS = ROOT / "results" / "proving" / "rows.md"
SECTION = "## Claims beside the sharpness circuit: resilience/v1"
MODELS = {"digits 64-16-10": (64, 16, (1, 8, 8)), "mnist 784-32-10": (784, 32, (1, 28, 28))}
FIT = (8, 20)
Q = 4
RUN_ARGS = {"num_inner_cols": 4}


class PerSampleGraph(ResilienceGraph):
    """The rejected design: Q offsets per sample, each neighbour through the whole model."""

    def _neighbour_logits(self, x: torch.Tensor, deltas: torch.Tensor, params: list[torch.Tensor]) -> torch.Tensor:
        n = x.shape[0]
        q = self.spec.neighbours
        h = x.unsqueeze(0).expand(q, *x.shape) + deltas.reshape(q, *x.shape)
        h, it = h.reshape(q * n, *x.shape[1:]), iter(params)
        for cfg in self.spec.layers:
            h = _affine(cfg, h, next(it), next(it)) if cfg["type"] in ("Linear", "Conv2d") else _other_layer(cfg, h)
        return h


def spec_for(features: int, hidden: int, shape: tuple[int, ...], n: int, layout: int = 2) -> ResilienceSpec:
    """The resilience circuit of a one-hidden-layer MLP on n samples, Q neighbours at e = 0.1, kzg/v1 (layout 2 gathers, 1 slices)."""
    layers = ({"type": "Flatten"}, {"type": "Linear", "in_features": features, "out_features": hidden}, {"type": "ReLU"},
              {"type": "Linear", "in_features": hidden, "out_features": 10})
    params = features * hidden + hidden + hidden * 10 + 10
    return ResilienceSpec(layers=layers, input_shape=shape, num_classes=10, num_params=params, n_samples=n, neighbours=Q,
                          degree=0.1, input_scale=10, commitment="kzg/v1", run_args=RUN_ARGS, layout=layout)


def rows(spec: ResilienceSpec, per_sample: bool) -> int:
    """ezkl's row count for the spec's graph (shared offsets) or the per-sample variant."""
    lengths = list(spec.input_lengths())
    if per_sample:
        lengths[2] *= spec.n_samples
    with tempfile.TemporaryDirectory() as tmp:
        onnx, settings = Path(tmp) / "g.onnx", Path(tmp) / "settings.json"
        module = PerSampleGraph(spec) if per_sample else ResilienceGraph(spec)
        export_module(module, tuple(torch.zeros(1, n) for n in lengths), list(INPUTS), list(OUTPUTS), onnx)
        _ezkl.gen_settings(onnx, settings, circuit.ezkl_run_args(spec))
        import json

        return int(json.loads(settings.read_text())["num_rows"])


def main() -> None:
    """Measure, write the CSV and the markdown table."""
    table = []
    for name, (features, hidden, shape) in MODELS.items():
        # Layout 1 (slices, the first release) only with shared offsets, to show what the gathers of layout 2 save.
        for per_sample, layout in ((False, 1), (False, 2), (True, 2)):
            lo, hi = (rows(spec_for(features, hidden, shape, n, layout), per_sample) for n in FIT)
            slope = (hi - lo) / (FIT[1] - FIT[0])
            table.append({"model": name, "offsets": "per sample" if per_sample else "shared", "layout": layout, "Q": Q, f"rows_n{FIT[0]}": lo,
                          f"rows_n{FIT[1]}": hi, "rows_per_sample": round(slope), "fixed_rows": round(lo - slope * FIT[0])})
            print(table[-1], flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "rows.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    head = list(table[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(str(r[k]) for k in head) + " |" for r in table]
    (OUT / "rows.md").write_text("# Rows of the resilience circuit (resilience/v1, kzg/v1, scale 2**10, 4 columns per row)\n\n"
                                 + "\n".join(lines) + "\n")
    splice_section(lines)


def splice_section(table: list[str]) -> None:
    """Replace (or add) the resilience section at the end of results/proving/rows.md with this run's table."""
    text = PROVING_ROWS.read_text()
    head = text.split(SECTION)[0].rstrip("\n")
    note = ["Rows per committed training sample of the resilience claim's circuit, Q neighbours each, fitted as above",
            "(kzg/v1, scale 2**10, 4 columns per row; benchmarks/resilience/rows.py). 'shared' at layout 2 (gathers) is what",
            "zkcert builds; layout 1 (slices) is the first release's."]
    PROVING_ROWS.write_text("\n".join([head, "", SECTION, "", *note, "", *table]) + "\n")


if __name__ == "__main__":
    main()
