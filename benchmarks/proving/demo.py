"""The demo benchmark: `zkcert demo` from an empty key cache, as a new user runs it, timed per step.

Runs the demo in a child process with ZKCERT_CACHE pointing at a fresh folder (so calibration of nothing,
setup and SRS generation are all paid, as on a fresh machine), and records the wall time, the peak RSS of the
child (the kernel's accounting of the largest process: the demo proves in a worker process), and each step's
seconds and peak as the demo reports them, plus the gap between the circuit's and the float value.
Writes results/proving/demo.csv and demo.md.

    python benchmarks/proving/demo.py          # one fresh-cache run
    python benchmarks/proving/demo.py --runs 3 # three, each from an empty cache; medians in the table's last row
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from report import MACHINE, write_table

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "results" / "proving"
COLUMNS = ["run", "wall_s", "peak_rss_mb", "train_s", "size_s", "calibrate_s", "setup_s", "commit_s", "prove_s", "aggregate_s",
           "verify_s", "samples", "logrows", "shards", "circuit_metric", "float_metric", "relative_gap", "train_correct"]


def one_run(index: int) -> dict:
    """One `zkcert demo --json` from an empty cache in a child process; its row."""
    with tempfile.TemporaryDirectory(prefix="zkcert-demo-bench-") as tmp:
        env = {**os.environ, "ZKCERT_CACHE": str(Path(tmp) / "cache")}
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "zkcert.cli", "demo", "--out", str(Path(tmp) / "out"), "--json"],
                              capture_output=True, text=True, env=env, check=False)
        wall = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if done.returncode != 0:
        raise SystemExit(f"the demo failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout)
    steps = {}
    for s in result["steps"]:
        key = s["step"].split(" ")[0] + "_s"
        steps[key] = round(steps.get(key, 0.0) + s["seconds"], 1)
    # ru_maxrss is the largest child's peak in KiB; a later run only shows when it exceeds an earlier one.
    timed = {c: steps.get(c, 0.0) for c in COLUMNS if c.endswith("_s") and c != "wall_s"}
    return {"run": index, "wall_s": round(wall, 1), "peak_rss_mb": round(max(peak, before) / 1024), **timed,
            "samples": result["samples"], "logrows": result["logrows"], "shards": result["shards"],
            "circuit_metric": result["circuit_metric"], "float_metric": result["float_metric"],
            "relative_gap": result["relative_gap"], "train_correct": result["train_correct"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    rows = [one_run(i) for i in range(args.runs)]
    if len(rows) > 1:
        rows.append({"run": "median", **{c: statistics.median(r[c] for r in rows) for c in COLUMNS[1:] if isinstance(rows[0][c], (int, float))}})
    write_table(OUT, "demo", COLUMNS, rows, ["# `zkcert demo` from an empty key cache (benchmarks/proving/demo.py)", "",
                MACHINE + "each run from an empty ZKCERT_CACHE (SRS generation, setup and keys included); peak RSS is the "
                "largest process's (the child's accounting); seconds per step as the demo reports them."])


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
