"""Calibrating one circuit over many inputs: one ezkl call per input (the merge zkcert used until 2026-12-07) against
one call with the inputs as batches of one file (zkcert.circuit.calibrate_spec now), alternating, in one run.

The workload is the held-out benchmark's (results/heldout): MNIST 784-32-10, 1,000 challenge samples from MNIST-5k's
test split in 40 blocks of 25, kzg/v1, scale 2**10, 2 columns, logrows 16. Both must give the same run arguments.

    python benchmarks/proving/calibration.py --repeats 3     # about 4 minutes on 2 cores

Writes results/proving/calibration.csv and calibration.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from report import MACHINE, write_table

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "results" / "proving"
COLUMNS = ["method", "inputs", "seconds_median", "seconds_all", "lookup_range", "logrows", "vs_per_input"]
BLOCK, SAMPLES, LOGROWS = 25, 1000, 16


def workload():
    """The held-out circuit for blocks of BLOCK and its SAMPLES // BLOCK ezkl input files."""
    import torch

    from zkcert.circuit.heldout import HeldoutSpec
    from zkcert.commitments import KZG, Salts, model_vector
    from zkcert.data import load_bundled
    from zkcert.heldout.prover import block_columns, block_inputs
    from zkcert.metric import flat_params
    from zkcert.models import layer_configs, mlp
    from zkcert.training import TrainConfig, train

    train_set, test_set = load_bundled("mnist5k", "train"), load_bundled("mnist5k", "test")
    torch.manual_seed(0)
    model = train(mlp(784, [32], 10), train_set, TrainConfig(epochs=5, seed=0))
    scale = 10
    spec = HeldoutSpec(layers=layer_configs(model), input_shape=tuple(test_set.x.shape[1:]), num_classes=test_set.num_classes,
                       num_params=int(flat_params(model).size), n_samples=BLOCK, input_scale=scale, commitment=KZG,
                       run_args={"num_inner_cols": 2})
    column = model_vector(flat_params(model), Salts.fresh(KZG).model, scale, KZG)
    challenge = test_set.subset(list(range(SAMPLES)))
    return spec, [block_inputs(b, column) for b in block_columns(challenge, BLOCK, scale, KZG)]


def per_input(spec, inputs: list[dict], work: Path) -> dict:
    """The baseline: calibrate on each input alone, then take the union of ranges and the largest logrows."""
    from zkcert import circuit

    found = []
    for i, one in enumerate(inputs):
        (work / str(i)).mkdir()
        found.append(circuit.calibrate_spec(spec, one, work / str(i), max_logrows=LOGROWS).run_args)
    return circuit.merge_run_args(found)


def batched(spec, inputs: list[dict], work: Path) -> dict:
    """What zkcert does: one calibration with the inputs as batches."""
    from zkcert import circuit

    return circuit.calibrate_spec(spec, inputs, work, max_logrows=LOGROWS).run_args


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    spec, inputs = workload()
    seconds: dict[str, list[float]] = {"per input": [], "batched": []}
    found: dict[str, dict] = {}
    for _ in range(args.repeats):
        for name, fn in (("per input", per_input), ("batched", batched)):
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                found[name] = fn(spec, inputs, Path(tmp))
                seconds[name].append(round(time.perf_counter() - start, 1))
    if found["per input"] != found["batched"]:
        raise SystemExit(f"the two calibrations differ: {found}")
    base = statistics.median(seconds["per input"])
    rows = [{"method": name, "inputs": len(inputs), "seconds_median": statistics.median(s), "seconds_all": " ".join(map(str, s)),
             "lookup_range": found[name]["lookup_range"], "logrows": found[name]["logrows"],
             "vs_per_input": round(statistics.median(s) / base, 2)} for name, s in seconds.items()]
    header = ["# Calibrating the held-out circuit over 40 blocks: one ezkl call per block against one batched call",
              "", MACHINE + f"{args.repeats} repeats, alternating, in one run (benchmarks/proving/calibration.py). MNIST "
              f"784-32-10, {SAMPLES} MNIST-5k test samples in blocks of {BLOCK}, kzg/v1, scale 2**10, 2 columns, logrows {LOGROWS}."]
    footer = ["", "Both give the same run arguments (the script stops otherwise). The held-out claim, sharded sharpness "
              "statements, aggregation and the resilience claim all calibrate through zkcert.circuit.calibrate_spec."]
    write_table(OUT, "calibration", COLUMNS, rows, header, footer)
    print((OUT / "calibration.md").read_text())


if __name__ == "__main__":
    main()
