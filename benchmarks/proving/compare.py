"""Today's circuit against the kzg/v1 row-sign circuit on one digits 64-16-10 MLP, in one run: certified samples per second of proving.

Rows (single-proof certificates, each in its own subprocess so peak memory is its own):
- "default": zkcert's default statement (poseidon/v1 commitments, rds/v1, K = 4 rademacher-abs/v1
  directions, eps 2**-6, scale 2**12) at N = 4, which stays within logrows 18 on this machine;
- "v1": the original statement (poseidon/v1, ds/v1, one rademacher-abs/v1 direction, eps 1/8, scale 2**8);
- "v2": kzg/v1 commitments, rds/v1 along one row-sign/v1 direction, eps 1/8, scale 2**10 (the MNIST
  benchmark's statement) in graph 5 (what row-sign specs with eps = 2**-k get now): at N = 16 with ezkl's
  default 2 columns per row; filled to about 95 % of the largest circuit each layout proves in about 12 GB:
  N = 100 with 2 columns (logrows 18) and N = 92 with 4 (logrows 17; same cells, half the rows); and
  graph 4 at N = 92 with 4 columns, the best row of the run before graph 5 (results/proving/rows.md: 2,388
  and 1,318 rows per sample in graph 4 at 2 and 4 columns; graph 5 lays out the same arithmetic in about
  the same rows with two lookup arguments fewer; compare-graph4.md, compare-graph3*.md).
samples_per_prove_s is N / proving time; vs_v1 divides it by the v1 row's (the default row was killed
for memory at 24 GB, see CONFIGS). Writes
results/proving/compare.csv, compare.md and compare.png (or --stem's names).

    python benchmarks/proving/compare.py                          # about 15 minutes on 2 cores
    python benchmarks/proving/compare.py --stem compare-repeat    # the same, written beside the first run
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from pathlib import Path

from report import MACHINE, V1, execution_of, read_table, run_configs, statement_of, write_table

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "results" / "proving"
V2 = {"metric": "rds/v1", "direction": "row-sign/v1", "n_directions": 1, "epsilon": 0.125, "input_scale": 10, "commitment": "kzg/v1"}
STATEMENTS = {"default": {}, "v1": V1, "v2": V2}
# The default statement is not run: at N = 4 on this model it was killed for memory (24 GB) on 2026-11-24.
CONFIGS = [{"statement": "v1", "samples": 8},
           {"statement": "v2", "samples": 92, "inner_cols": 4, "graph": 4},
           {"statement": "v2", "samples": 16}, {"statement": "v2", "samples": 100},
           {"statement": "v2", "samples": 92, "inner_cols": 4}]
COLUMNS = ["statement", "commitment", "direction", "graph", "scale", "samples", "inner_cols", "logrows", "rows", "float_metric", "circuit_metric",
           "relative_gap", "setup_s", "prove_s", "samples_per_prove_s", "vs_v1", "peak_rss_mb"]


def run_one(config: dict) -> dict:
    """Train the 64-16-10 MLP (seeded), prove one configuration, return its row."""
    import torch

    from zkcert import circuit, prove
    from zkcert.data import load_bundled
    from zkcert.models import mlp
    from zkcert.owner import make_spec
    from zkcert.training import TrainConfig, train

    train_set = load_bundled("digits", "train")
    torch.manual_seed(0)
    model = train(mlp(64, [16], 10), train_set, TrainConfig(epochs=20, seed=0))
    data, statement = train_set.head(config["samples"]), STATEMENTS[config["statement"]]
    spec = None
    if "graph" in config:  # an older layout than the one make_spec picks
        spec = dataclasses.replace(make_spec(model, data, threshold=1e6, **statement), graph=config["graph"])
    with tempfile.TemporaryDirectory() as tmp:
        result = prove(model, data, threshold=1e6, out=Path(tmp) / "cert", nonce="bench", spec=spec,
                       statement=statement_of(statement), execution=execution_of({"shard_size": "all", **config}))
    spec = result.manifest.statement.spec
    steps = {s["step"]: s for s in result.steps}
    rep = result.manifest.reported
    return {
        "statement": config["statement"], "commitment": spec.commitment, "direction": spec.direction, "graph": spec.graph, "scale": spec.input_scale,
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

    labels = [f"{r['statement']}" + (f" graph {r['graph']}" if r["statement"] == "v2" else "") + f"\nN={r['samples']}, {r['inner_cols']} cols"
              for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4))
    a.bar(labels, [r["samples_per_prove_s"] for r in rows], color=[f"C{list(STATEMENTS).index(r['statement'])}" for r in rows])
    a.set(ylabel="certified samples per second of proving")
    for ax in (a, b):
        ax.tick_params(axis="x", labelsize=7)
    b.bar(labels, [r["peak_rss_mb"] / 1024 for r in rows], color=[f"C{list(STATEMENTS).index(r['statement'])}" for r in rows])
    b.set(ylabel="peak memory (GiB)")
    fig.suptitle("digits 64-16-10: today's circuits against kzg/v1 row-sign (same run)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def render(rows: list[dict], stem: str) -> None:
    """vs_v1 against the v1 row, then stem.csv, stem.md and stem.png under results/proving."""
    base = next(r for r in rows if r["statement"] == "v1")["samples_per_prove_s"]
    for r in rows:
        r["vs_v1"] = round(r["samples_per_prove_s"] / base, 2)
    header = [
        "# Today's circuit against the kzg/v1 row-sign circuit (digits 64-16-10)", "",
        MACHINE + "one subprocess per row, single-proof certificates, fresh keys. Times in seconds, memory in MB (MiB) "
        "(peak RSS of the proving process). vs_v1 is samples per second of proving against the v1 row of "
        "this run. relative_gap is |circuit - float| / |float|. zkcert's default statement (K = 4 rademacher-abs, "
        "scale 2**12) is not in the table: on this model at N = 4 it was killed for memory at 24 GB (run of 2026-11-24), "
        "so today's default certifies no 64-16-10 digits model on this machine.",
    ]
    write_table(OUT, stem, COLUMNS, rows, header, ["", f"![samples per second and memory]({stem}.png)"])
    plot(rows, OUT / f"{stem}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--stem", default="compare", help="output file names under results/proving (a repeat run: compare-repeat)")
    parser.add_argument("--render-only", action="store_true", help="only rewrite the table and plot from <stem>.csv")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(json.loads(args.one))))
        return
    if args.render_only:
        render(read_table(OUT, args.stem), args.stem)
        return
    render(run_configs(__file__, CONFIGS), args.stem)


if __name__ == "__main__":
    main()
