"""Cuts tried against issue 22's 10-minute target: where a held-out block's rows and proof seconds go, one change at a time.

The held-out circuit of run.py (MNIST 784-32-10 trained 5 epochs, seed 0; kzg/v1; built at logrows 16, the
sharpness circuit's, as a kzg/v1 claim must be) with one change per variant:

- as built: layout 2, ezkl's 2 columns per row (what zkcert proves today);
- 4 columns per row: half the rows per sample, so twice the samples per proof, but more columns to commit;
- decomposition in one leg (decomp_legs 1, base 2**14): a cheaper range check per rescale and relu, which holds
  values below 2**13 at scale 2**10, i.e. |v| < 8;
- scale_rebase_multiplier 2: ezkl rescales a product only when its scale passes 2 x 2**10, so the hidden layer
  keeps scale 2**20 and is never rescaled; the logits (and the loss's exp and ln tables) are then at 2**20 too;
- without the loss: the correct count only (computes less: it prices the exp and ln lookup arguments);
- padded blocks (layout 3, what zkcert builds since 4539f88): blocks need not divide M, so the largest block that
  fits is used and the last is padded; each sample's count and loss are weighted by its label vector's sum.

Columns: rows per sample and fixed rows (gen_settings at 8 and 32 samples, a fixed lookup range), the largest
block of 1,000 that fits (zkcert.heldout.prover.blocks_that_fit) and the proofs it takes, whether ezkl calibrates
the variant on the first three blocks of the real challenge (the values of a trained model must fit its ranges),
and with --prove the seconds of one block proof (witness and proof, in turn, median of the three blocks; setup not
counted) and proofs x that median. Writes results/heldout/cuts.csv and cuts.md.

    python benchmarks/heldout/cuts.py --prove      # about 8 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import ezkl
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "proving"))

from breakdown import patched  # noqa: E402
from report import MACHINE, write_table  # noqa: E402

from zkcert import circuit  # noqa: E402
from zkcert._internal import ezkl as _ezkl  # noqa: E402
from zkcert._internal.io import atomic_write_json, read_json  # noqa: E402
from zkcert.circuit import heldout as H  # noqa: E402
from zkcert.circuit.build import batched_inputs, ezkl_run_args  # noqa: E402
from zkcert.circuit.graph import SharpnessGraph  # noqa: E402
from zkcert.commitments import KZG, Salts, model_vector  # noqa: E402
from zkcert.data import load_bundled  # noqa: E402
from zkcert.heldout.prover import block_columns, block_inputs, blocks_that_fit  # noqa: E402
from zkcert.metric import flat_params  # noqa: E402
from zkcert.models import layer_configs, mlp  # noqa: E402
from zkcert.srs import resolve_srs  # noqa: E402
from zkcert.training import TrainConfig, train  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "results" / "heldout"
LOGROWS, SCALE, CHALLENGE, BLOCKS_TIMED = 16, 10, 1000, 3
# Rows are counted at a lookup range wide enough for every variant (rows do not depend on it below 2**LOGROWS).
_COUNT_RANGE = [-32768, 32768]
COLUMNS = ["variant", "rows_per_sample", "fixed_rows", "block", "proofs", "calibrates", "prove_s_median", "projected_prove_s"]


def _label_logit_sum(z: torch.Tensor, onehot: torch.Tensor, **_: Any) -> torch.Tensor:
    """What the held-out forward gets in place of its summed loss: the label logits' sum (no exp, no ln)."""
    return (z.reshape(1, -1) @ onehot.reshape(-1, 1)).reshape(())


# name -> (run arguments over zkcert's, the graph's operations replaced: breakdown.patched, held-out layout)
VARIANTS: dict[str, tuple[dict[str, Any], list[tuple[Any, str, Any]], int]] = {
    "as built (layout 2, 2 columns)": ({}, [], 2),
    "4 columns per row": ({"num_inner_cols": 4}, [], 2),
    "decomposition in one leg": ({"decomp_legs": 1}, [], 2),
    "scale_rebase_multiplier 2": ({"scale_rebase_multiplier": 2}, [], 2),
    "without the loss (count only)": ({}, [(SharpnessGraph, "_summed_loss_dot", staticmethod(_label_logit_sum))], 2),
    "padded blocks (layout 3)": ({}, [], 3),
}


def _spec(model: torch.nn.Module, n: int, run_args: dict[str, Any], layout: int) -> H.HeldoutSpec:
    return H.HeldoutSpec(layers=layer_configs(model), input_shape=(784,), num_classes=10, num_params=len(flat_params(model)),
                         n_samples=n, input_scale=SCALE, commitment=KZG, run_args={"num_inner_cols": 2, **run_args}, layout=layout)


def _rows(spec: H.HeldoutSpec, folder: Path) -> int:
    """ezkl's rows for the spec's circuit (gen_settings only)."""
    return circuit.layout_rows(spec, folder, lookup_range=_COUNT_RANGE, logrows=LOGROWS)


def _calibrated(spec: H.HeldoutSpec, inputs: list[dict], folder: Path) -> H.HeldoutSpec | None:
    """The spec calibrated on the inputs at LOGROWS with its own rebase multiplier (zkcert pins 1), or None if ezkl cannot."""
    onnx_path, settings, data = folder / "g.onnx", folder / "settings.json", folder / "cal.json"
    spec.export_onnx(onnx_path)
    atomic_write_json(data, batched_inputs(inputs))
    _ezkl.gen_settings(onnx_path, settings, ezkl_run_args(spec))
    try:
        ok = ezkl.calibrate_settings(str(data), str(onnx_path), str(settings), "resources", lookup_safety_margin=2,
                                     scales=[SCALE], scale_rebase_multiplier=[int(spec.run_args.get("scale_rebase_multiplier", 1))],
                                     max_logrows=LOGROWS)
    except BaseException as exc:  # noqa: BLE001 - ezkl's failure to calibrate is this benchmark's finding, not an error
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return None
    got = read_json(settings)["run_args"]
    lookup = spec.lookup_range() if spec.padded else got["lookup_range"]  # layout 3 fixes its range, as zkcert does
    return spec.with_run_args({**spec.run_args, "lookup_range": lookup, "logrows": LOGROWS}) if ok else None


def _prove_seconds(spec: H.HeldoutSpec, inputs: list[dict], folder: Path) -> float:
    """Median seconds of witness + proof over the inputs, one at a time (keys made first, not counted)."""
    srs = resolve_srs(LOGROWS)
    files = circuit.compile_spec(spec, cache=folder / "cache")
    vk, pk = circuit.keys_for(files, srs)
    times = []
    for i, one in enumerate(inputs):
        path = folder / f"input-{i}.json"
        atomic_write_json(path, one)
        start = time.perf_counter()
        _ezkl.gen_witness(path, files.compiled, folder / f"w-{i}.json", vk, srs.path)
        _ezkl.prove(folder / f"w-{i}.json", files.compiled, pk, folder / f"p-{i}.json", srs.path)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(name: str, model: torch.nn.Module, column: list, prove: bool) -> dict:
    """One variant's row."""
    run_args, changes, layout = VARIANTS[name]
    padded = layout >= H.PADDED_LAYOUT
    with patched(changes), tempfile.TemporaryDirectory() as tmp:
        counted = {}
        for n in (8, 32):
            (Path(tmp) / str(n)).mkdir()
            counted[n] = _rows(_spec(model, n, run_args, layout), Path(tmp) / str(n))
        per = (counted[32] - counted[8]) / 24
        block = blocks_that_fit(CHALLENGE, counted, LOGROWS, padded=padded)[0]
        test = load_bundled("mnist5k", "test")
        inputs = [block_inputs(b, column) for b in block_columns(test, block, SCALE, KZG, padded=padded, first=BLOCKS_TIMED)]
        spec = _calibrated(_spec(model, block, run_args, layout), inputs, Path(tmp))
        seconds = _prove_seconds(spec, inputs, Path(tmp)) if prove and spec is not None else None
    proofs = -(-CHALLENGE // block)
    return {"variant": name, "rows_per_sample": round(per, 1), "fixed_rows": round(counted[8] - 8 * per), "block": block,
            "proofs": proofs, "calibrates": "yes" if spec is not None else "no",
            "prove_s_median": "" if seconds is None else round(seconds, 1),
            "projected_prove_s": "" if seconds is None else round(proofs * seconds)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prove", action="store_true", help="also time block proofs of the variants that calibrate")
    args = ap.parse_args()
    torch.manual_seed(0)
    model = train(mlp(784, [32], 10), load_bundled("mnist5k", "train"), TrainConfig(epochs=5, seed=0))
    column = model_vector(flat_params(model), Salts.fresh(KZG).model, SCALE, KZG)
    rows = []
    for name in VARIANTS:
        rows.append(measure(name, model, column, args.prove))
        print(rows[-1], file=sys.stderr, flush=True)
    write_table(OUT, "cuts", COLUMNS, rows, [
        "# Held-out block: cuts tried against the 10-minute target (benchmarks/heldout/cuts.py)", "",
        MACHINE + f"MNIST 784-32-10, kzg/v1, logrows {LOGROWS}, {CHALLENGE} challenge samples from MNIST-5k's test split. "
        "Rows from gen_settings (8 and 32 samples); block: the largest divisor of 1,000 that fits (layout 3: the largest "
        "block that fits, the last padded); calibrates: ezkl "
        f"calibrated the variant on the first {BLOCKS_TIMED} blocks; prove_s_median: witness and proof of one block, "
        f"in turn, median of {BLOCKS_TIMED} (setup not counted); projected_prove_s = proofs x median, one proof at a time.",
    ])


if __name__ == "__main__":
    main()
