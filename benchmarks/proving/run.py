"""Proving benchmark: the single-proof certificate for a grid of model sizes (64-h-10 MLPs on digits) and N.

Each configuration runs in its own subprocess so that peak memory is that configuration's alone.
Per step it records wall time and peak RSS (zkcert._measure: /proc sampling plus the kernel's
ru_maxrss), and per configuration rows, logrows, proving-key/verifying-key/proof sizes and the gap
between the circuit's fixed-point value and the float metric. Writes results/proving/proving.csv and
results/proving/proving.md, and proving.png (time and memory against N, a line per model size).
`--quick` runs the tiny test statement only (for CI).

    python benchmarks/proving/run.py            # hidden 4, 8, 16 x N = 4, 8, 16 (about 30 minutes on 2 idle cores)
    python benchmarks/proving/run.py --quick    # N = 2 with a 64-4-10 MLP (about a minute)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from report import MACHINE, run_configs, write_table

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "results" / "proving"
FULL = [{"hidden": [h], "samples": n} for h in (4, 8, 16) for n in (4, 8, 16)]
QUICK = [{"hidden": [4], "samples": 2}]
COLUMNS = ["hidden", "samples", "params", "logrows", "rows", "float_metric", "circuit_metric", "relative_gap",
           "calibrate_s", "setup_s", "witness_s", "prove_s", "verify_s", "prove_vs_smallest_n", "samples_per_prove_s",
           "peak_rss_mb", "pk_mb", "vk_kb", "proof_kb"]


def run_one(config: dict) -> dict:
    """Prove one configuration in this process (called in a subprocess) and return its row."""
    import torch

    from zkcert import circuit, prove
    from zkcert.data import load_bundled
    from zkcert.models import mlp
    from zkcert.srs import local_srs
    from zkcert.training import TrainConfig, train

    train_set = load_bundled("digits", "train")
    torch.manual_seed(0)
    model = train(mlp(64, config["hidden"], 10), train_set, TrainConfig(epochs=20, seed=0))
    with tempfile.TemporaryDirectory() as tmp:
        result = prove(model, train_set.head(config["samples"]), threshold=1000.0, out=Path(tmp) / "cert", nonce="bench")
        spec = result.manifest.statement.spec
        files = circuit.compile_spec(spec)
        srs = local_srs(spec.logrows)
        steps = {s["step"]: s for s in result.steps}
        rep = result.manifest.reported
        return {
            "hidden": "-".join(map(str, config["hidden"])), "samples": config["samples"], "params": spec.num_params,
            "logrows": spec.logrows, "rows": files.settings_json()["num_rows"],
            "float_metric": round(rep["float_metric"], 5), "circuit_metric": round(rep["circuit_metric"], 5),
            "relative_gap": round(rep["relative_gap"], 5),
            **{f"{k}_s": steps[k]["seconds"] if k in steps else "" for k in ("calibrate", "setup", "witness", "prove", "verify")},
            "peak_rss_mb": max(s["peak_rss_mb"] for s in result.steps),
            "pk_mb": round(files.pk(srs).stat().st_size / 2**20, 1), "vk_kb": round(files.vk(srs).stat().st_size / 2**10, 1),
            "proof_kb": round((result.certificate / "proof.json").stat().st_size / 2**10, 1),
        }


def plot(rows: list[dict], path: Path) -> None:
    """Setup and proving time, and peak memory, against N: a line per model size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    for i, hidden in enumerate(dict.fromkeys(r["hidden"] for r in rows)):
        mine, color = [r for r in rows if r["hidden"] == hidden], f"C{i}"
        n = [r["samples"] for r in mine]
        a.plot(n, [r["prove_s"] for r in mine], "o-", color=color, label=f"64-{hidden}-10 prove")
        a.plot(n, [r["setup_s"] for r in mine], "x--", color=color, label=f"64-{hidden}-10 setup")
        b.plot(n, [r["peak_rss_mb"] / 1024 for r in mine], "o-", color=color, label=f"64-{hidden}-10")
    a.set(xlabel="samples N", ylabel="seconds")
    b.set(xlabel="samples N", ylabel="peak memory (GB)")
    a.legend(fontsize=7)
    b.legend(fontsize=7)
    fig.suptitle("single-proof certificate: time and memory against N (same run)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write(rows: list[dict], quick: bool) -> None:
    """CSV, markdown and plot under results/proving/."""
    stem = "proving-quick" if quick else "proving"
    header = [
        f"# Proving benchmark{' (quick)' if quick else ''}", "",
        MACHINE + "one subprocess per row; times in seconds, memory in MB (peak RSS of the proving process). "
        "Setup is cached per circuit and SRS in real use; here every row is a fresh circuit. "
        "Absolute times are noisy on a shared machine: compare rows of the same run. prove_vs_smallest_n is "
        "proving time against the smallest N of the same model size in this run.",
    ]
    write_table(OUT, stem, COLUMNS, rows, header, ["", f"![time and memory against N]({stem}.png)"])
    plot(rows, OUT / f"{stem}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the tiny CI statement")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(json.loads(args.one))))
        return
    rows = run_configs(__file__, QUICK if args.quick else FULL)
    for row in rows:  # ratios against the smallest N of the same model size, in this same run
        first = min((r for r in rows if r["hidden"] == row["hidden"]), key=lambda r: r["samples"])
        row["prove_vs_smallest_n"] = round(row["prove_s"] / first["prove_s"], 2)
        row["samples_per_prove_s"] = round(row["samples"] / row["prove_s"], 4)
    write(rows, args.quick)
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
