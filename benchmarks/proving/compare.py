"""Today's circuit against the kzg/v1 row-sign circuit on one digits 64-16-10 MLP, in one run: certified samples per second of proving.

Rows (single-proof certificates, each in its own subprocess so peak memory is its own):
- "default": zkcert's default statement (poseidon/v1 commitments, rds/v1, K = 4 rademacher-abs/v1
  directions, eps 2**-6, scale 2**12) at N = 4, which stays within logrows 18 on this machine;
- "v1": the original statement (poseidon/v1, ds/v1, one rademacher-abs/v1 direction, eps 1/8, scale 2**8);
- "v2": kzg/v1 commitments, rds/v1 along one row-sign/v1 direction, eps 1/8, scale 2**10 (the MNIST
  benchmark's statement, graph 2), at N = 16 and 48 with ezkl's default 2 columns per row, and at N = 64
  with 4 columns per row, the layout the MNIST benchmark proves with (same cells, half the rows: 64 samples
  calibrate to logrows 17).
samples_per_prove_s is N / proving time; vs_v1 divides it by the v1 row's (the default row was killed
for memory at 24 GB, see CONFIGS). Writes
results/proving/compare.csv, compare.md and compare.png.

    python benchmarks/proving/compare.py     # about 15 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from report import MACHINE, V1, run_configs, write_table

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "results" / "proving"
V2 = {"metric": "rds/v1", "direction": "row-sign/v1", "n_directions": 1, "epsilon": 0.125, "input_scale": 10, "commitment": "kzg/v1"}
STATEMENTS = {"default": {}, "v1": V1, "v2": V2}
# The default statement is not run: at N = 4 on this model it was killed for memory (24 GB) on 2026-11-24.
CONFIGS = [{"statement": "v1", "samples": 8},
           {"statement": "v2", "samples": 16}, {"statement": "v2", "samples": 48},
           {"statement": "v2", "samples": 64, "inner_cols": 4}]
COLUMNS = ["statement", "commitment", "direction", "scale", "samples", "inner_cols", "logrows", "rows", "float_metric", "circuit_metric",
           "relative_gap", "setup_s", "prove_s", "samples_per_prove_s", "vs_v1", "peak_rss_mb"]


def run_one(config: dict) -> dict:
    """Train the 64-16-10 MLP (seeded), prove one configuration, return its row."""
    import torch

    from zkcert import circuit, prove
    from zkcert.data import load_bundled
    from zkcert.models import mlp
    from zkcert.training import TrainConfig, train

    train_set = load_bundled("digits", "train")
    torch.manual_seed(0)
    model = train(mlp(64, [16], 10), train_set, TrainConfig(epochs=20, seed=0))
    with tempfile.TemporaryDirectory() as tmp:
        result = prove(model, train_set.head(config["samples"]), threshold=1e6, out=Path(tmp) / "cert", nonce="bench",
                       inner_cols=config.get("inner_cols"), **STATEMENTS[config["statement"]])
    spec = result.manifest.statement.spec
    steps = {s["step"]: s for s in result.steps}
    rep = result.manifest.reported
    return {
        "statement": config["statement"], "commitment": spec.commitment, "direction": spec.direction, "scale": spec.input_scale,
        "samples": config["samples"], "inner_cols": circuit.ezkl_run_args(spec)["num_inner_cols"], "logrows": spec.logrows, "rows": circuit.compile_spec(spec).settings_json()["num_rows"],
        "float_metric": round(rep["float_metric"], 5), "circuit_metric": round(rep["circuit_metric"], 5),
        "relative_gap": round(rep["relative_gap"], 5), "setup_s": round(steps["setup"]["seconds"], 1),
        "prove_s": round(steps["prove"]["seconds"], 1),
        "samples_per_prove_s": round(config["samples"] / steps["prove"]["seconds"], 4),
        "peak_rss_mb": round(max(s["peak_rss_mb"] for s in result.steps)),
    }


def plot(rows: list[dict], path: Path) -> None:
    """Certified samples per second of proving and peak memory, a bar per row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['statement']}\nN={r['samples']}, {r['inner_cols']} cols" for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    a.bar(labels, [r["samples_per_prove_s"] for r in rows], color=[f"C{list(STATEMENTS).index(r['statement'])}" for r in rows])
    a.set(ylabel="certified samples per second of proving")
    b.bar(labels, [r["peak_rss_mb"] / 1024 for r in rows], color=[f"C{list(STATEMENTS).index(r['statement'])}" for r in rows])
    b.set(ylabel="peak memory (GB)")
    fig.suptitle("digits 64-16-10: today's circuits against kzg/v1 row-sign (same run)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(json.loads(args.one))))
        return
    rows = run_configs(__file__, CONFIGS)
    base = next(r for r in rows if r["statement"] == "v1")["samples_per_prove_s"]
    for r in rows:
        r["vs_v1"] = round(r["samples_per_prove_s"] / base, 2)
    header = [
        "# Today's circuit against the kzg/v1 row-sign circuit (digits 64-16-10)", "",
        MACHINE + "one subprocess per row, single-proof certificates, fresh keys. Times in seconds, memory in MB "
        "(peak RSS of the proving process). vs_v1 is samples per second of proving against the v1 row of "
        "this run. relative_gap is |circuit - float| / |float|. zkcert's default statement (K = 4 rademacher-abs, "
        "scale 2**12) is not in the table: on this model at N = 4 it was killed for memory at 24 GB (run of 2026-11-24), "
        "so today's default certifies no 64-16-10 digits model on this machine.",
    ]
    write_table(OUT, "compare", COLUMNS, rows, header, ["", "![samples per second and memory](compare.png)"])
    plot(rows, OUT / "compare.png")


if __name__ == "__main__":
    main()
