"""Shard size against proving time, in one run: MNIST 784-32-10 sharpness shards (graph 7, the fast statement, 4
columns) of 50 samples at logrows 17 and of 25 and 20 samples at logrows 16, alternating, each proof in its own
subprocess.

`--shard-size auto` picks the most samples per proof that fit the memory budget (50 for MNIST at 12 GiB). A proof's
time follows its domain, 2**logrows, more than its rows, and a 50-sample shard fills 2**17 rows to 81 %, so fewer
samples at half the domain may certify N samples sooner. This measures seconds per sample for each.

    python benchmarks/proving/shard_size.py --repeats 3       # about 15 minutes on 2 cores

Writes results/proving/shard_size.csv and shard_size.md.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

from gather import alternating, prepared, proof_timing, prove_once
from report import MACHINE, write_table

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "results" / "proving"
COLUMNS = ["samples", "logrows", "rows", "setup_s", "prove_s_median", "prove_s_all", "per_sample_s", "vs_50",
           "proofs_for_1000", "proving_s_for_1000", "peak_rss_mb"]
SHARDS = ((50, 17), (25, 16), (20, 16))


def jobs(tmp: Path) -> list[tuple[int, int, dict]]:
    """(samples, logrows, job) for one MNIST shard of each size."""
    import torch

    from zkcert.data import load_bundled
    from zkcert.models import mlp
    from zkcert.owner import plan, provisional_committer
    from zkcert.preset import preset
    from zkcert.training import TrainConfig, train

    train_set = load_bundled("mnist5k", "train")
    torch.manual_seed(0)
    model = train(mlp(784, [32], 10), train_set, TrainConfig(epochs=2, seed=0))
    out = []
    for samples, logrows in SHARDS:
        p = plan(model, train_set.head(2 * samples), shard_size=samples, threshold=100.0, nonce="shard-size",
                 committer=provisional_committer, **preset("fast").statement_kwargs())
        spec = p.spec.with_run_args({"num_inner_cols": 4})
        out.append((samples, logrows, prepared(spec, p.shard_input(0), tmp / f"s{samples}", logrows)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(prove_once(json.loads(args.one))))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        prepared_jobs = jobs(Path(tmp))
        runs = alternating(__file__, {samples: job for samples, _, job in prepared_jobs}, args.repeats)
    base = None
    for samples, logrows, job in prepared_jobs:
        timing, median, per = proof_timing(runs[samples], samples)
        base = base or per
        proofs = math.ceil(1000 / samples)
        rows.append({"samples": samples, "logrows": logrows, "rows": job["rows"], "setup_s": job["setup_s"], **timing,
                     "vs_50": round(per / base, 2), "proofs_for_1000": proofs, "proving_s_for_1000": round(proofs * median)})
        print(rows[-1], flush=True)
    header = ["# Sharpness shard size against proving time, same run (benchmarks/proving/shard_size.py)", "",
              MACHINE + f"MNIST 784-32-10, graph 7, the fast statement (kzg/v1, one row-sign direction, eps 1/8, scale "
              f"2**10), 4 columns; each proof (witness and proof) in its own subprocess, the sizes alternating, {args.repeats} "
              "repeats. per_sample_s is the median proof's seconds per sample, vs_50 its ratio to the 50-sample shard's, "
              "proving_s_for_1000 the shard proofs of 1,000 samples at that size (no setup, calibration or aggregation)."]
    write_table(OUT, "shard_size", COLUMNS, rows, header, [])


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
