"""Scale benchmark: the straightforward single-proof certificate against sharded certificates, in one run.

For each configuration (MLP on digits, N samples) it proves the single-proof statement (the baseline)
and the sharded statement at each shard size, each in its own subprocess so peak memory is its own.
Records end-to-end wall time (commit, calibration, setup, shard proofs, aggregation), the summed
proving time, peak RSS of the parent and of the largest shard worker (the kernel's accounting),
logrows, verification time of the finished certificate, and certified samples per second of total
wall time, with the ratio against the baseline of the same configuration. Writes
results/proving/scale.csv, scale.md and scale.png.

Every row proves the original statement (ds/v1, one rademacher-abs/v1 direction, eps 1/8, scale 2**8)
unless it names another under "statement": the recorded results are for it, and zkcert's default
statement needs logrows 18 already at 8 samples of the 64-8-10 MLP (results/proving/proving.md), so a
single 16-sample proof of it would not fit this machine.

Spot-check rows (`sampled` > 0) prove only that many challenged shards: a weaker claim (how many
shards may exceed T, at 95 % confidence, in `claim`), whose cost should not grow with N. They have no
throughput ratio, since they do not certify the mean over all N samples.

    python benchmarks/proving/scale.py            # 64-8-10 MLP: N = 16 single vs shards of 8 and 4; N = 32 in shards of 4; spot checks at N = 16, 64
    python benchmarks/proving/scale.py --quick    # 64-4-10 MLP, N = 4: single vs shards of 2; spot checks at N = 8, 32
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from report import MACHINE, V1, execution_of, run_configs, statement_of, write_table

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "results" / "proving"
FULL = [{"hidden": [8], "samples": 16, "shard_size": s} for s in (None, 8, 4)] + [
    {"hidden": [8], "samples": 32, "shard_size": 4}] + [
    {"hidden": [8], "samples": n, "shard_size": 4, "sample": 1} for n in (16, 64)]
QUICK = [{"hidden": [4], "samples": 4, "shard_size": s} for s in (None, 2)] + [
    {"hidden": [4], "samples": n, "shard_size": 2, "sample": 1} for n in (8, 32)]
COLUMNS = ["hidden", "samples", "shard_size", "shards", "sampled", "logrows", "wall_s", "setup_s", "prove_s", "aggregate_s",
           "verify_s", "peak_rss_mb", "samples_per_s", "throughput_vs_single", "relative_gap", "claim"]


def run_one(config: dict) -> dict:
    """Train the configuration's MLP on digits, prove it in this process and return its row."""
    import torch

    from zkcert.data import load_bundled
    from zkcert.models import mlp
    from zkcert.training import TrainConfig, train

    train_set = load_bundled("digits", "train")
    torch.manual_seed(0)
    model = train(mlp(64, config["hidden"], 10), train_set, TrainConfig(epochs=20, seed=0))
    return prove_row(model, train_set.head(config["samples"]), config)


def prove_row(model, data, config: dict) -> dict:
    """Prove, verify and time one configuration of `model` on `data` (the row's own numbers, nothing else)."""
    from zkcert import prove

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        statement = config.get("statement", V1)
        # One pipeline: shard_size None is a single proof, a sample a spot check.
        result = prove(model, data, threshold=1000.0, out=Path(tmp) / "cert", nonce="bench", statement=statement_of(statement),
                       execution=execution_of({"shard_size": config["shard_size"] or "all", "sample": config.get("sample"),
                                               "workers": 1 if config["shard_size"] else None}))
        wall = time.perf_counter() - start
        return row_of(result, config, wall, timed_verify(result, "bench"))


def timed_verify(result, nonce: str) -> float:
    """Seconds to verify a fresh certificate, anchored on the owner's own commitments (one machine plays both parties)."""
    from zkcert import verify

    t0 = time.perf_counter()
    published = result.manifest.statement
    verify(result.certificate, data_commitment=published.data_commitment, model_commitment=published.model_commitment,
           nonce=nonce, allow_untrusted_srs=True)
    return time.perf_counter() - t0


def row_of(result, config: dict, wall: float, verify_s: float) -> dict:
    """The table's row for one proved configuration (zkcert.prove's result) and its wall and verify seconds."""
    from zkcert.challenge import exceeding_bound

    steps = {s["step"]: s for s in result.steps}
    rep = result.manifest.reported
    shard_peaks = [s["peak_rss_mb"] for s in rep.get("shards", [])]
    st = result.manifest.statement
    n_shards = config["samples"] // (config["shard_size"] or config["samples"])
    claim = "mean <= T"
    if config.get("sample"):
        claim = f"< {exceeding_bound(n_shards, config['sample'])} of {n_shards} shards > T (95 %)"
    return {
        "hidden": "-".join(map(str, config["hidden"])), "samples": config["samples"],
        "shard_size": config["shard_size"] or config["samples"], "shards": n_shards,
        "sampled": config.get("sample") or "", "claim": claim,
        "logrows": st.spec.logrows, "wall_s": round(wall, 1), "setup_s": steps["setup"]["seconds"],
        "prove_s": steps["prove"]["seconds"],
        "aggregate_s": steps.get("aggregate", {}).get("seconds", ""), "verify_s": round(verify_s, 2),
        "peak_rss_mb": max([s["peak_rss_mb"] for s in result.steps] + shard_peaks),
        "relative_gap": "" if rep["relative_gap"] is None else round(rep["relative_gap"], 4),
    }


def plot(rows: list[dict], path: Path) -> None:
    """Wall time and peak memory per configuration, single proof against shards."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def label(r: dict) -> str:
        kind = "single" if r["shards"] == 1 else f"{r['shards']} x {r['shard_size']}"
        return f"N={r['samples']}\n{kind}" + (f"\nspot {r['sampled']}" if r["sampled"] else "")

    labels = [label(r) for r in rows]
    colors = ["tab:gray" if r["shards"] == 1 else "tab:orange" if r["sampled"] else "tab:blue" for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.8))
    a.bar(labels, [r["wall_s"] for r in rows], color=colors)
    a.set_ylabel("end-to-end wall time (s)")
    b.bar(labels, [r["peak_rss_mb"] / 1024 for r in rows], color=colors)
    b.set_ylabel("peak memory (GB)")
    for ax in (a, b):
        ax.tick_params(axis="x", labelsize=7)
    fig.suptitle("single proof (gray), sharded certificate (blue), spot check of challenged shards (orange); same run")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write(rows: list[dict], quick: bool) -> None:
    """CSV, markdown and plot under results/proving/."""
    stem = "scale-quick" if quick else "scale"
    header = [
        f"# Scale benchmark{' (quick)' if quick else ''}: single proof vs sharded certificate", "",
        MACHINE + "one subprocess per row, fresh circuits and keys (setup included in wall time); shards proved one "
        "at a time (workers=1). samples_per_s = certified samples per second of end-to-end wall time; "
        "throughput_vs_single is that against the single proof of the same N in this run (N = 32: against N = 16's).",
    ]
    write_table(OUT, stem, COLUMNS, rows, header, ["", f"![wall time and memory]({stem}.png)"])
    plot(rows, OUT / f"{stem}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the tiny CI configuration only")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(json.loads(args.one))))
        return
    with tempfile.TemporaryDirectory() as cache:
        # Fresh keys for every configuration of this run.
        rows = run_configs(__file__, QUICK if args.quick else FULL, {**os.environ, "ZKCERT_CACHE": cache})
    for row in rows:
        if row["sampled"]:
            row["samples_per_s"] = row["throughput_vs_single"] = ""  # it does not certify all N samples
            continue
        row["samples_per_s"] = round(row["samples"] / row["wall_s"], 4)
        # Against the single proof of the same N, or of the largest N that has one (a single proof at
        # N = 32 would need logrows 18 and about 12 GB).
        singles = [r for r in rows if r["shards"] == 1 and r["samples"] <= row["samples"]]
        base = max(singles, key=lambda r: r["samples"])
        row["throughput_vs_single"] = round(row["samples_per_s"] / base["samples_per_s"], 2)
    write(rows, args.quick)
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
