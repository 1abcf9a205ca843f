"""MNIST benchmark of the resilience claim (resilience/v1): a 784-32-10 MLP, Q neighbours at one degree, beside sharpness.

One zkcert.proving.prove call certifies the fast statement (kzg/v1, row-sign/v1, scale 2**10, the model and
training of benchmarks/proving/mnist.py) in shards and the resilience claim over the same committed shards, then
verifies the certificate (keys cached, as a verifier who rebuilt them once). Records the sharpness and the
resilience steps separately, the parts per shard, the circuit's and the float counts, and the peak RSS of the
resilience steps (their largest process: the claim's proofs run in workers, as many at once as zkcert chooses
unless --workers says). Writes results/resilience/mnist-<N>-s<shard size>.csv and .md.

    flock /tmp/zkcert-heavy.lock python benchmarks/resilience/mnist.py --samples 100 --shard-size 50
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "results" / "resilience"
sys.path.insert(0, str(ROOT / "benchmarks" / "proving"))


def run(samples: int, shard_size: int, degree: float, neighbours: int, workers: int | None) -> dict:
    """Train, prove both claims, verify; one result row."""
    import torch

    from report import execution_of, statement_of
    from mnist import STATEMENT

    from zkcert import circuit, prove, verify
    from zkcert.claims import proof_workers
    from zkcert.data import load_bundled
    from zkcert.models import mlp
    from zkcert.proving import Execution
    from zkcert.resilience import ResilienceJob, ResilienceStatement
    from zkcert.training import TrainConfig, train

    train_set = load_bundled("mnist5k", "train")
    torch.manual_seed(0)
    model = train(mlp(784, [32], 10), train_set, TrainConfig(epochs=2, seed=0))
    data = train_set.head(samples)
    base = Path(tempfile.gettempdir()) / f"zkcert-resilience-mnist-{samples}"
    shutil.rmtree(base, ignore_errors=True)
    start = time.perf_counter()
    result = prove(model, data, threshold=100.0, out=base / "cert", nonce="bench", statement=statement_of(STATEMENT),
                   execution=execution_of({"samples": samples, "shard_size": shard_size, "inner_cols": 4, "workers": workers,
                                           "work_dir": base / "work"}),
                   claims=[ResilienceJob(degree, neighbours, data)], say=_log, tick=lambda d, t: _log(f"{d}/{t}"))
    wall = time.perf_counter() - start
    st = result.manifest.statement
    t = time.perf_counter()
    checked = verify(result.certificate, data_commitment=st.data_commitment, model_commitment=st.model_commitment, nonce="bench",
                     allow_untrusted_srs=True)
    verifier = time.perf_counter() - t
    (entry,) = [c for c in result.manifest.claims if c.name == "resilience/v1"]
    claim = ResilienceStatement.from_json(entry.statement)
    steps = {s["step"]: s for s in result.steps}
    spec = claim.spec
    proofs = claim.shards * spec.parts
    return {
        "samples": samples, "shard_size": st.spec.n_samples, "Q": neighbours, "degree": degree, "logrows": spec.logrows,
        "parts_per_shard": spec.parts, "resilience_proofs": proofs,
        "claim_workers": proof_workers(spec, proofs, workers, Execution().max_memory_gb),
        "resilience_rows": circuit.compile_spec(spec).settings_json()["num_rows"],
        "weak": claim.weak, "float_weak": entry.reported["float_weak"], "pairs": claim.pairs, "float_pairs": entry.reported["float_pairs"],
        "resilience_setup_s": round(steps["resilience setup"]["seconds"], 1),
        "resilience_prove_s": round(steps["resilience prove"]["seconds"], 1),
        "resilience_prove_per_proof_s": round(steps["resilience prove"]["seconds"] / proofs, 1),
        "resilience_peak_mb": round(max(steps[k]["peak_rss_mb"] for k in ("resilience setup", "resilience prove"))),
        "sharpness_prove_s": round(steps["prove"]["seconds"], 1), "verify_s": round(verifier, 2),
        "verified_claims": ",".join(c.name for c in checked.claims), "wall_s": round(wall, 1),
    }


def _log(message: str) -> None:
    """A timestamped progress line on stderr (the row goes to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main() -> None:
    """Parse, run, write the CSV and markdown."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--shard-size", type=int, default=50)
    ap.add_argument("--degree", type=float, default=0.1)
    ap.add_argument("--neighbours", type=int, default=4)
    ap.add_argument("--workers", type=int, default=None, help="proofs at once (default: as zkcert chooses, per step)")
    args = ap.parse_args()
    row = run(args.samples, args.shard_size, args.degree, args.neighbours, args.workers)
    print(row, flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    stem = OUT / f"mnist-{args.samples}-s{args.shard_size}"
    with open(stem.with_suffix(".csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
    lines = ["| " + " | ".join(row) + " |", "|" + "---|" * len(row), "| " + " | ".join(str(v) for v in row.values()) + " |"]
    stem.with_suffix(".md").write_text(
        f"# resilience/v1 on MNIST 784-32-10, {args.samples} samples, Q = {args.neighbours}, e = {args.degree:g}\n\n"
        f"`python benchmarks/resilience/mnist.py --samples {args.samples} --shard-size {args.shard_size}` on 2 shared cores "
        f"({time.strftime('%Y-%m-%d')}); one prove call (sharpness, fast statement, kzg/v1, then the claim), verify with "
        "keys cached.\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
