"""Proving benchmark: the single-proof certificate for model sizes (64-h-10 MLPs on digits), N and statement.

Each model size and N is proved three times in the same run: with the original statement (ds/v1,
one rademacher-abs/v1 direction, eps 1/8, scale 2**8: "v1"), with zkcert's default (what the
pre-registered study chose: rds/v1, K = 4 rademacher-abs/v1 directions, eps 2**-6, scale 2**12) and
with the cheapest rds/v1 statement (one row-sign/v1 direction, eps 1/8: "row-sign", the fallback the
README suggests where the default's fixed-point gap is large), so their time, memory and fixed-point
gap compare within one run.

Each configuration runs in its own subprocess so that peak memory is that configuration's alone.
Per step it records wall time and peak RSS (zkcert._internal.measure: /proc sampling plus the kernel's
ru_maxrss), and per configuration rows, logrows, proving-key/verifying-key/proof sizes and the gap
between the circuit's fixed-point value and the float metric. Writes results/proving/proving.csv and
results/proving/proving.md, and proving.png (time and memory against N, a line per model size).
`--quick` runs the tiny test statement only (for CI).

    python benchmarks/proving/run.py            # hidden 4, 8 x N = 8, three statements (about 25 minutes on 2 cores)
    python benchmarks/proving/run.py --quick    # N = 2 with a 64-4-10 MLP, three statements (a few minutes)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from report import MACHINE, V1, execution_of, run_configs, statement_of, write_table

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "results" / "proving"
ROW_SIGN = {"direction": "row-sign/v1", "n_directions": 1, "epsilon": 0.125, "commitment": "poseidon/v1"}
STATEMENTS = {"v1": V1, "default": {}, "row-sign": ROW_SIGN}  # {} = zkcert's default statement
# N = 8: the default statement at N = 16 needs logrows 19 (about 24 GB), beyond this machine.
FULL = [{"hidden": [h], "samples": 8, "statement": s} for h in (4, 8) for s in STATEMENTS]
QUICK = [{"hidden": [4], "samples": 2, "statement": s} for s in STATEMENTS]
COLUMNS = ["statement", "metric", "direction", "scale", "hidden", "samples", "params", "logrows", "rows", "float_metric",
           "circuit_metric", "relative_gap", "calibrate_s", "setup_s", "prove_s", "verify_s",
           "prove_vs_v1", "samples_per_prove_s", "peak_rss_mb", "pk_mb", "vk_kb", "proof_kb"]


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
        result = prove(model, train_set.head(config["samples"]), threshold=1e6, out=Path(tmp) / "cert", nonce="bench",
                       statement=statement_of(STATEMENTS[config["statement"]]), execution=execution_of({"shard_size": "all"}))
        spec = result.manifest.statement.spec
        files = circuit.compile_spec(spec)
        srs = local_srs(spec.logrows)
        steps = {s["step"]: s for s in result.steps}
        rep = result.manifest.reported
        return {
            "statement": config["statement"], "metric": spec.metric, "direction": spec.direction, "scale": spec.input_scale,
            "hidden": "-".join(map(str, config["hidden"])), "samples": config["samples"], "params": spec.num_params,
            "logrows": spec.logrows, "rows": files.settings_json()["num_rows"],
            "float_metric": round(rep["float_metric"], 5), "circuit_metric": round(rep["circuit_metric"], 5),
            "relative_gap": round(rep["relative_gap"], 5),
            # "prove" includes the witness; "setup" includes compiling the circuit.
            **{f"{k}_s": steps[k]["seconds"] if k in steps else "" for k in ("calibrate", "setup", "prove", "verify")},
            "peak_rss_mb": max(s["peak_rss_mb"] for s in result.steps),
            "pk_mb": round(files.pk(srs).stat().st_size / 2**20, 1), "vk_kb": round(files.vk(srs).stat().st_size / 2**10, 1),
            "proof_kb": round((result.certificate / "proof.json").stat().st_size / 2**10, 1),
        }


def plot(rows: list[dict], path: Path) -> None:
    """Proving time and peak memory against model size: a line per statement."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    for i, name in enumerate(STATEMENTS):
        mine, color = [r for r in rows if r["statement"] == name], f"C{i}"
        label = f"{name}: {mine[0]['metric']}, {mine[0]['direction']}, 2**{mine[0]['scale']}" if mine else name
        x = [r["params"] for r in mine]
        a.plot(x, [r["prove_s"] for r in mine], "o-", color=color, label=f"{label} prove")
        a.plot(x, [r["setup_s"] for r in mine], "x--", color=color, label=f"{name} setup")
        b.plot(x, [r["peak_rss_mb"] / 1024 for r in mine], "o-", color=color, label=label)
    a.set(xlabel="parameters (64-h-10 MLP)", ylabel="seconds")
    b.set(xlabel="parameters (64-h-10 MLP)", ylabel="peak memory (GB)")
    a.legend(fontsize=6)
    b.legend(fontsize=6)
    fig.suptitle(f"single-proof certificate, N = {rows[0]['samples']}: time and memory (same run)")
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
        "Absolute times are noisy on a shared machine: compare rows of the same run. prove_vs_v1 is "
        "proving time against the v1 statement's row of the same model size and N in this run. relative_gap is "
        "|circuit - float| / |float| of the certified metric.",
    ]
    write_table(OUT, stem, COLUMNS, rows, header, ["", f"![time and memory against model size]({stem}.png)"])
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
    for row in rows:  # ratios against the v1 statement of the same model size and N, in this same run
        base = next(r for r in rows if r["statement"] == "v1" and (r["hidden"], r["samples"]) == (row["hidden"], row["samples"]))
        row["prove_vs_v1"] = round(row["prove_s"] / base["prove_s"], 2)
        row["samples_per_prove_s"] = round(row["samples"] / row["prove_s"], 4)
    write(rows, args.quick)
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
