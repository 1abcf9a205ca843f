"""Two proofs at once against two in turn, in one run: does a second concurrent prover buy throughput on 2 cores?

ezkl's prover is multi-threaded, but its witness generation and parts of its layout run on one thread. If those
parts are a large share of a proof, two provers side by side finish two proofs sooner than one prover does them in
turn, at twice the memory. This measures it on the two circuits that are proved many times over:

- held-out: the challenge circuit at logrows 16, 2 columns, 25 challenge samples (results/heldout: 40 such proofs
  make the 1,000-sample claim);
- sharpness: one MNIST 784-32-10 shard of --shard samples under the `fast` statement at logrows 16 (graph 7, 4 columns).

Each repeat times a pair of proofs both ways, alternating which way goes first. Each proof runs in its own
subprocess (witness and proof), as the process pool runs shards.

    python benchmarks/proving/concurrency.py --repeats 3      # about 12 minutes on 2 cores

Writes results/proving/concurrency.csv and concurrency.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gather import prepared, prove_once
from report import MACHINE, write_table

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "results" / "proving"
COLUMNS = ["circuit", "samples", "logrows", "rows", "in_turn_s_median", "at_once_s_median", "in_turn_s_all", "at_once_s_all",
           "at_once_vs_in_turn", "peak_rss_mb"]


def _spawn(job: dict, tag: str) -> subprocess.Popen:
    """One proof of job in a subprocess of its own (its own witness and proof files, by tag)."""
    work = Path(job["work"]) / tag
    work.mkdir(exist_ok=True)
    return subprocess.Popen([sys.executable, __file__, "--one", json.dumps({**job, "work": str(work)})],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> dict:
    """The proof's row, or stop with its error."""
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"a proof failed:\n{err[-2000:]}")
    return json.loads(out.strip().splitlines()[-1])


def pair(job: dict, at_once: bool) -> tuple[float, float]:
    """Wall seconds for two proofs of job (at once or in turn) and the larger peak RSS (MB) of the two."""
    start = time.perf_counter()
    if at_once:
        rows = [_finish(p) for p in [_spawn(job, "a"), _spawn(job, "b")]]
    else:
        rows = [_finish(_spawn(job, "a")), _finish(_spawn(job, "b"))]
    return time.perf_counter() - start, max(r["peak_rss_mb"] for r in rows)


def heldout_job(tmp: Path) -> tuple[str, int, int, dict]:
    """The held-out circuit at logrows 16 with a 25-sample block (layout 2)."""
    import numpy as np

    from zkcert.circuit.heldout import HeldoutSpec
    from zkcert.commitments import KZG, Salts, model_vector
    from zkcert.data import load_bundled
    from zkcert.heldout import Challenge
    from zkcert.heldout.prover import block_inputs, challenge_columns
    from zkcert.models import layer_configs, mlp

    model = mlp(784, [32], 10)
    theta = np.concatenate([t.detach().numpy().ravel() for t in model.parameters()])
    column = model_vector(theta, Salts.fresh(KZG).model, 10, KZG)
    challenge = Challenge.issue(load_bundled("mnist5k", "test"), 25, nonce="concurrency")
    spec = HeldoutSpec(layers=layer_configs(model), input_shape=(784,), num_classes=10, num_params=len(theta), n_samples=25,
                       input_scale=10, commitment=KZG, layout=2, run_args={"num_inner_cols": 2})
    inputs = block_inputs(challenge_columns(challenge, 25, 10, KZG, first=1)[0], column)
    return "held-out block", 25, 16, prepared(spec, inputs, tmp / "heldout", 16)


def sharpness_job(shard: int, tmp: Path) -> tuple[str, int, int, dict]:
    """One MNIST sharpness shard under the fast statement at logrows 16 (graph 7, 4 columns)."""
    import torch

    from zkcert.data import load_bundled
    from zkcert.models import mlp
    from zkcert.owner import plan, provisional_committer
    from zkcert.preset import preset
    from zkcert.spec import GATHER_GRAPH
    from zkcert.training import TrainConfig, train

    train_set = load_bundled("mnist5k", "train")
    torch.manual_seed(0)
    model = train(mlp(784, [32], 10), train_set, TrainConfig(epochs=2, seed=0))
    p = plan(model, train_set.head(2 * shard), shard_size=shard, threshold=100.0, nonce="concurrency",
             committer=provisional_committer, **preset("fast").statement_kwargs())
    spec = dataclasses.replace(p.spec.with_run_args({"num_inner_cols": 4}), graph=GATHER_GRAPH)
    return "sharpness shard", shard, 16, prepared(spec, p.shard_input(0), tmp / "sharpness", 16)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--shard", type=int, default=20, help="samples in the sharpness shard (20 fit logrows 16)")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(prove_once(json.loads(args.one))))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, samples, logrows, job in [heldout_job(Path(tmp)), sharpness_job(args.shard, Path(tmp))]:
            times: dict[bool, list[float]] = {False: [], True: []}
            peak = 0.0
            for r in range(args.repeats):
                for at_once in ((False, True) if r % 2 == 0 else (True, False)):
                    wall, rss = pair(job, at_once)
                    times[at_once].append(wall)
                    peak = max(peak, rss)
                    print(name, "at once" if at_once else "in turn", round(wall, 1), file=sys.stderr, flush=True)
            med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
            rows.append({"circuit": name, "samples": samples, "logrows": logrows, "rows": job["rows"],
                         "in_turn_s_median": round(med[False], 1), "at_once_s_median": round(med[True], 1),
                         "in_turn_s_all": " ".join(f"{t:.1f}" for t in sorted(times[False])),
                         "at_once_s_all": " ".join(f"{t:.1f}" for t in sorted(times[True])),
                         "at_once_vs_in_turn": round(med[True] / med[False], 3), "peak_rss_mb": round(peak)})
            print(rows[-1], flush=True)
    header = ["# Two proofs at once against two in turn, same run (benchmarks/proving/concurrency.py)", "",
              MACHINE + f"wall seconds for two proofs (witness and proof, each in its own subprocess) of the same circuit, "
              f"started together or one after the other; {args.repeats} repeats, alternating which way goes first; "
              "at_once_vs_in_turn is the ratio of the medians (below 1: a second concurrent prover buys throughput). "
              "peak_rss_mb is one proof's peak; at once, twice that is resident."]
    write_table(OUT, "concurrency", COLUMNS, rows, header, [])


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
