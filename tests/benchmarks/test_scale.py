"""The scale benchmark's row runner, on its cheapest configuration (a spot check of one tiny shard)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from certs import TINY_KW

ROOT = Path(__file__).resolve().parents[2]
SCALE = ROOT / "benchmarks" / "proving" / "scale.py"


def test_scale_benchmark_row(tmp_path):
    """`scale.py --one` proves, verifies and reports a row with the columns the table writes."""
    config = {"hidden": [4], "samples": 4, "shard_size": 2, "sample": 1, "statement": TINY_KW}
    done = subprocess.run([sys.executable, str(SCALE), "--one", json.dumps(config)], capture_output=True, text=True,
                          check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    row = json.loads(done.stdout.strip().splitlines()[-1])
    assert row["shards"] == 2 and row["sampled"] == 1 and row["claim"] == "< 2 of 2 shards > T (95 %)"
    assert row["wall_s"] >= row["setup_s"] >= 0 and row["prove_s"] > 0 and row["verify_s"] > 0
    assert row["peak_rss_mb"] > 100 and row["logrows"] >= 10
