"""Slices against gathers, in one run: the same MNIST 784-32-10 shard proved under graph 5 and graph 7, and the same
held-out challenge under layout 1 and layout 2, alternating, each proof in its own subprocess (its peak RSS is its own).

Graph 7 (and the claims' layout 2) take the samples, labels and parameters out of their columns by gathers at constant
indices instead of slices (docs/design-history.md, "Graph 7 and claim layout 2"): fewer rows. This measures what fewer
rows buy in proving time at a fixed domain, since a proof's cost follows 2**logrows more than the rows it uses.

- sharpness: mnist.py's statement and MLP (rds/v1, one row-sign/v1 direction, eps 1/8, scale 2**10, kzg/v1, 4
  columns), one shard of --shard samples at logrows 17 in both graphs;
- held-out: the challenge circuit at logrows 16 and 2 columns, with the largest block each layout fits there.

    python benchmarks/proving/gather.py --repeats 3       # about 15 minutes on 2 cores

Writes results/proving/gather.csv and gather.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from report import MACHINE, run_configs, write_table

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "results" / "proving"
COLUMNS = ["circuit", "layout", "samples", "logrows", "rows", "setup_s", "prove_s_median", "prove_s_all", "per_sample_s",
           "peak_rss_mb", "vs_slices"]


def prove_once(job: dict) -> dict:
    """Witness and proof of one prepared job (run in a subprocess): seconds and this process's peak RSS."""
    from zkcert._internal import ezkl as _ezkl

    work = Path(job["work"])
    start = time.perf_counter()
    kzg = (Path(job["vk"]), Path(job["srs"]))
    _ezkl.gen_witness(Path(job["input"]), Path(job["compiled"]), work / "w.json", *kzg)
    _ezkl.prove(work / "w.json", Path(job["compiled"]), Path(job["pk"]), work / "p.json", Path(job["srs"]))
    return {"seconds": time.perf_counter() - start, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def alternating(script: str, jobs: dict, repeats: int) -> dict:
    """Each prepared job proved `repeats` times in its own subprocess, the jobs in turn (so drift on a shared machine
    falls on all of them): {key: [prove_once's rows]}."""
    runs: dict = {key: [] for key in jobs}
    for _ in range(repeats):
        for key, job in jobs.items():
            runs[key] += run_configs(script, [job])
    return runs


def proof_timing(rows: list[dict], samples: int) -> tuple[dict, float, float]:
    """(the table's timing columns, the median proof's seconds, its seconds per sample) of one job's proofs."""
    secs = sorted(r["seconds"] for r in rows)
    median = secs[len(secs) // 2]
    per = median / samples
    return ({"prove_s_median": round(median, 1), "prove_s_all": " ".join(f"{s:.1f}" for s in secs),
             "per_sample_s": round(per, 3), "peak_rss_mb": round(max(r["peak_rss_mb"] for r in rows))}, median, per)


def prepared(spec, inputs: dict, work: Path, logrows: int) -> dict:
    """Calibrate at exactly `logrows`, compile, set up; the job a subprocess proves."""
    from zkcert import circuit
    from zkcert._internal.io import atomic_write_json
    from zkcert.srs import local_srs

    work.mkdir(parents=True, exist_ok=True)
    spec = circuit.calibrate_spec(spec, inputs, work, max_logrows=logrows)
    spec = spec.with_run_args({**spec.run_args, "logrows": logrows})
    files = circuit.compile_spec(spec)
    srs = local_srs(logrows)
    start = time.perf_counter()
    vk, pk = circuit.keys_for(files, srs)
    atomic_write_json(work / "in.json", inputs)
    return {"work": str(work), "input": str(work / "in.json"), "compiled": str(files.compiled), "vk": str(vk), "pk": str(pk),
            "srs": str(srs.path), "rows": files.settings_json()["num_rows"], "setup_s": round(time.perf_counter() - start, 1)}


def sharpness_jobs(shard: int, tmp: Path) -> list[tuple[str, int, int, dict]]:
    """(circuit, graph, samples, job) for one MNIST shard under graphs 5 and 7."""
    import torch

    from zkcert.data import load_bundled
    from zkcert.models import mlp
    from zkcert.owner import plan, provisional_committer
    from zkcert.preset import preset
    from zkcert.training import TrainConfig, train

    train_set = load_bundled("mnist5k", "train")
    torch.manual_seed(0)
    model = train(mlp(784, [32], 10), train_set, TrainConfig(epochs=2, seed=0))
    st = preset("fast")
    p = plan(model, train_set.head(2 * shard), shard_size=shard, threshold=100.0, nonce="gather",
             committer=provisional_committer, **st.statement_kwargs())
    inputs = p.shard_input(0)
    spec = p.spec.with_run_args({"num_inner_cols": 4})
    return [("sharpness shard", g, shard, prepared(dataclasses.replace(spec, graph=g), inputs, tmp / f"graph{g}", 17)) for g in (5, 7)]


def heldout_jobs(tmp: Path) -> list[tuple[str, int, int, dict]]:
    """(circuit, layout, samples, job) for the held-out circuit at logrows 16 under layouts 1 and 2 (the blocks each fits)."""
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
    challenge = Challenge.issue(load_bundled("mnist5k", "test"), 25, nonce="gather")
    jobs = []
    for layout, block in ((1, 8), (2, 25)):  # 2**16 rows hold 8 samples in layout 1 (39,115 + 2,727.5 each), 25 in layout 2
        spec = HeldoutSpec(layers=layer_configs(model), input_shape=(784,), num_classes=10, num_params=len(theta), n_samples=block,
                           input_scale=10, commitment=KZG, layout=layout, run_args={"num_inner_cols": 2})
        inputs = block_inputs(challenge_columns(challenge, block, 10, KZG, first=1)[0], column)
        jobs.append(("held-out block", layout, block, prepared(spec, inputs, tmp / f"layout{layout}", 16)))
    return jobs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--shard", type=int, default=50)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(prove_once(json.loads(args.one))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        groups = [sharpness_jobs(args.shard, Path(tmp)), heldout_jobs(Path(tmp))]
        rows = []
        for jobs in groups:
            runs = alternating(__file__, {layout: job for _, layout, _, job in jobs}, args.repeats)
            base = None
            for name, layout, samples, job in jobs:
                timing, _median, per = proof_timing(runs[layout], samples)
                base = base or per
                rows.append({"circuit": name, "layout": f"graph {layout}" if name.startswith("sharpness") else f"layout {layout}",
                             "samples": samples, "logrows": 17 if name.startswith("sharpness") else 16, "rows": job["rows"],
                             "setup_s": job["setup_s"], **timing, "vs_slices": round(per / base, 3)})
                print(rows[-1], flush=True)
    header = ["# Slices against gathers, same run (benchmarks/proving/gather.py)", "",
              MACHINE + f"each proof (witness and proof) in its own subprocess, the two layouts alternating, {args.repeats} "
              "repeats; prove_s_median is their median, per_sample_s divides it by the samples in the proof, vs_slices "
              "divides that by the slicing layout's (graph 5, layout 1). Keys set up once per layout (setup_s)."]
    write_table(OUT, "gather", COLUMNS, rows, header, [])


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
