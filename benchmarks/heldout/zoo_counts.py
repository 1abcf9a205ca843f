"""The study's holdout_gap baseline recomputed through the certified path, at witness level, on a subset of the zoo.

For each model: the held-out circuit (zkcert.circuit.heldout, poseidon/v1, the default scale 2**12) runs over the
study's 100-sample proxy set and over its training evaluation set (the first 1,000 training samples), in blocks of
100, by ezkl gen_witness (no keys, no proof: the counts are the circuit's outputs, which a proof would reveal).
The circuit's counts must equal the float counts (zkcert.metric.correct_mask), so the circuit's holdout gap equals
the study's. Writes results/heldout/zoo_counts.{csv,md}.

    python benchmarks/heldout/zoo_counts.py --models 8
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "generalization"))

from zoo import study_zoo, trained_row  # noqa: E402

from zkcert import circuit  # noqa: E402
from zkcert._internal import ezkl as _ezkl  # noqa: E402
from zkcert._internal.io import atomic_write_json  # noqa: E402
from zkcert.circuit.heldout import HeldoutSpec  # noqa: E402
from zkcert.heldout.prover import block_columns, block_inputs  # noqa: E402
from zkcert.commitments import POSEIDON, Salts, model_vector  # noqa: E402
from zkcert.data import Dataset  # noqa: E402
from zkcert.metric import correct_mask, flat_params  # noqa: E402
from zkcert.models import layer_configs  # noqa: E402
from zkcert.spec import DEFAULT_INPUT_SCALE  # noqa: E402

BLOCK = 100


def circuit_counts(model, sets: list[Dataset], work: Path) -> list[int]:
    """The held-out circuit's correct count on each set (each a multiple of BLOCK samples), by witness."""
    first = sets[0]
    scale = DEFAULT_INPUT_SCALE
    spec = HeldoutSpec(layers=layer_configs(model), input_shape=tuple(first.x.shape[1:]), num_classes=first.num_classes,
                       num_params=int(flat_params(model).size), n_samples=BLOCK, input_scale=scale, commitment=POSEIDON)
    column = model_vector(flat_params(model), Salts.fresh().model, scale, POSEIDON)
    blocks = [[block_inputs(b, column) for b in block_columns(s, BLOCK, scale, POSEIDON)] for s in sets]
    inputs = [b for bs in blocks for b in bs]
    spec = circuit.calibrate_spec(spec, inputs, work, max_logrows=24)
    files = circuit.compile_spec(spec)
    settings, counts = files.settings_json(), []
    for bs in blocks:
        total = 0.0
        for b in bs:
            atomic_write_json(work / "in.json", b)
            w = _ezkl.gen_witness(work / "in.json", files.compiled, work / "w.json")
            total += circuit.decode_outputs([o[0] for o in _ezkl.WitnessView.from_json(w).outputs], settings)[0]
        counts.append(int(round(total)))
    return counts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=8)
    ap.add_argument("--out", type=Path, default=Path("results/heldout"))
    ap.add_argument("--cache", type=Path, default=Path("/tmp/zkcert-zoo-models"))
    args = ap.parse_args()
    specs = [s for s in study_zoo("full") if s.dataset == "digits"]
    picked = [specs[i] for i in np.linspace(0, len(specs) - 1, args.models).round().astype(int)]
    rows, data_cache = [], {}
    for spec in picked:
        start = time.perf_counter()
        model, data, proxy, head = trained_row(spec, "subset", args.cache, data_cache)
        train_eval = data.head(min(1000, len(data) // BLOCK * BLOCK))
        floats = [int(correct_mask(model, s).sum()) for s in (train_eval, proxy)]
        with tempfile.TemporaryDirectory() as tmp:
            circ = circuit_counts(model, [train_eval, proxy], Path(tmp))
        gap = lambda c: c[0] / len(train_eval) - c[1] / len(proxy)  # noqa: E731
        rows.append({"model": spec.name, "deviated": spec.deviated, "train_eval": len(train_eval), "proxy": len(proxy),
                     "float_train_correct": floats[0], "circuit_train_correct": circ[0], "float_proxy_correct": floats[1],
                     "circuit_proxy_correct": circ[1], "float_holdout_gap": round(gap(floats), 6),
                     "circuit_holdout_gap": round(gap(circ), 6), "equal": floats == circ,
                     "seconds": round(time.perf_counter() - start, 1)})
        print(rows[-1], flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "zoo_counts.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    lines = ["| model | deviated | train correct (float / circuit) | proxy correct (float / circuit) | holdout gap (float / circuit) |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['model']} | {r['deviated']} | {r['float_train_correct']} / {r['circuit_train_correct']} of {r['train_eval']} | "
              f"{r['float_proxy_correct']} / {r['circuit_proxy_correct']} of {r['proxy']} | {r['float_holdout_gap']:.4f} / "
              f"{r['circuit_holdout_gap']:.4f} |" for r in rows]
    equal = sum(r["equal"] for r in rows)
    (args.out / "zoo_counts.md").write_text(
        f"# holdout_gap through the held-out circuit (witness level), {len(rows)} digits zoo models\n\n"
        f"Counts equal on {equal} of {len(rows)} models. Generated by `python benchmarks/heldout/zoo_counts.py "
        f"--models {args.models}` (gen_witness at scale 2**12, poseidon/v1, blocks of {BLOCK}; no proof).\n\n"
        + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
