"""Benchmark of heldout/v1 on MNIST 784-32-10: commit (kzg/v1, the "fast" statement), issue M challenge samples from
MNIST-5k's test split, prove the sharpness statement on N committed samples and the held-out claim, verify.

Usage (2 cores, one heavy job at a time):
    flock /tmp/zkcert-heavy.lock python benchmarks/heldout/run.py --challenge-samples 1000 --out results/heldout
Writes OUT/mnist-M<M>.json and appends a row (naming M) to OUT/runs.csv; results/heldout/README.md reads them.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import torch

from zkcert._internal.io import atomic_write_bytes
from zkcert.api import commit
from zkcert.circuit.heldout import HeldoutSpec
from zkcert.claims import proof_workers
from zkcert.data import load_bundled
from zkcert.heldout import HELDOUT, Challenge, HeldoutJob
from zkcert.models import mlp
from zkcert.preset import preset
from zkcert.proving import Execution, prove
from zkcert.published import Published
from zkcert.training import TrainConfig, train
from zkcert.verification import verify


def peak_rss_gib() -> float:
    """The largest peak resident memory of this process and of any worker it ran (the held-out blocks' proofs), GiB."""
    return max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--challenge-samples", type=int, default=1000)
    ap.add_argument("--committed", type=int, default=8, help="training samples in the sharpness statement (one proof)")
    ap.add_argument("--block", type=int, default=None, help="challenge samples per held-out proof (default: sized)")
    ap.add_argument("--workers", type=int, default=None, help="held-out proofs at once (default: as zkcert chooses)")
    ap.add_argument("--out", type=Path, default=Path("results/heldout"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    train_set, test_set = load_bundled("mnist5k", "train"), load_bundled("mnist5k", "test")
    torch.manual_seed(0)
    model = train(mlp(784, [32], 10), train_set, TrainConfig(epochs=5, seed=0))
    data = train_set.head(args.committed)
    st = preset("fast")
    log = lambda m: print(f"[{time.strftime('%H:%M:%S')}] {m}", flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.time()
        published = Published.load(commit(model, data, statement=st, threshold=1e6, execution=Execution(shard_size="all"),
                                          say=log).save(Path(tmp) / "committed"))
        t_commit = time.time() - t0
        challenge = Challenge.issue(test_set, args.challenge_samples)  # issued after C_theta exists
        job = HeldoutJob(challenge, model, block=args.block)
        ref = job.reference()
        t0 = time.time()
        result = prove(model, data, threshold=1e6, out=Path(tmp) / "cert", nonce="bench", published=published,
                       execution=Execution(shard_size="all", workers=args.workers), claims=[job], say=log,
                       tick=lambda d, t: log(f"{d}/{t}"))
        t_prove = time.time() - t0
        t0 = time.time()
        verified = verify(result.certificate, data_commitment=published.data_commitment, model_commitment=published.model_commitment,
                          nonce="bench", allow_untrusted_srs=True, claims={HELDOUT: challenge})
        t_verify = time.time() - t0
    claim = verified.claim(HELDOUT)
    steps = {s["step"]: s["seconds"] for s in result.steps}
    entry = result.manifest.claims[0]
    heldout_s = sum(v for k, v in steps.items() if k.startswith("heldout"))
    hspec = HeldoutSpec.from_json(entry.statement["spec"])
    proofs = -(-args.challenge_samples // hspec.n_samples)  # layout 3 pads the last block
    row = {
        "challenge_samples": args.challenge_samples, "committed_samples": args.committed,
        "date": time.strftime("%Y-%m-%d"), "commit": _commit(),
        "sharpness_graph": result.manifest.statement.spec.graph, "heldout_layout": hspec.layout,
        "logrows": hspec.logrows, "block": hspec.n_samples,
        "proofs": proofs, "padding": proofs * hspec.n_samples - args.challenge_samples, "workers": proof_workers(hspec, proofs, args.workers, Execution().max_memory_gb),
        "commit_s": round(t_commit, 1), "prove_total_s": round(t_prove, 1), "heldout_s": round(heldout_s, 1),
        **{f"{k}_s": v for k, v in steps.items() if k.startswith("heldout")},
        "verify_s": round(t_verify, 2), "peak_rss_gib": round(peak_rss_gib(), 2),
        "circuit_correct": claim.values["correct"], "float_correct": ref.correct,
        "circuit_loss_sum": round(claim.values["loss_sum"], 4), "float_loss_sum": round(ref.loss_sum, 4),
        "train_accuracy": verified.train_accuracy, "gap": claim.values.get("gap"),
    }
    log(json.dumps(row))
    (args.out / f"mnist-M{args.challenge_samples}.json").write_text(json.dumps({**row, "steps": result.steps}, indent=2) + "\n")
    _append_run(args.out / "runs.csv", row)


def _append_run(runs: Path, row: dict) -> None:
    """Add row to runs.csv; a column new in this row is added to the header, blank in the older rows."""
    old = list(csv.DictReader(runs.open(newline=""))) if runs.exists() else []
    fields = list(dict.fromkeys([*(old[0] if old else {}), *row]))
    text = io.StringIO(newline="")
    w = csv.DictWriter(text, fieldnames=fields)
    w.writeheader()
    w.writerows([*old, row])
    atomic_write_bytes(runs, text.getvalue().encode())


def _commit() -> str:
    """The checkout's short commit, so a row says what code it measured ("" outside a git checkout)."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


if __name__ == "__main__":
    main()
