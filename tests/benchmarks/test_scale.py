"""The scale benchmark's row, on its cheapest configuration (a spot check of one tiny shard), proved in this process.

The benchmark runs each row in a subprocess (`scale.py --one`) after training; this test calls the same row function
on the session's tiny model with the spot-check certificate's statement, so the keys conftest.spot_cert made are
reused and only the row's own commit, shard proof and verification run here.
"""

from __future__ import annotations

import sys
from pathlib import Path

from certs import TINY_KW

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "proving"))

import scale  # noqa: E402


def test_scale_benchmark_row(spot_cert, proof_mlp, digits_train):
    """One spot-check row proves, verifies and reports the columns the table writes."""
    config = {"hidden": [4], "samples": 8, "shard_size": 2, "sample": 1, "statement": TINY_KW}
    row = scale.prove_row(proof_mlp, digits_train.head(8), config)
    assert row["shards"] == 4 and row["sampled"] == 1 and row["claim"] == "< 4 of 4 shards > T (95 %)"
    assert row["wall_s"] >= row["setup_s"] >= 0 and row["prove_s"] > 0 and row["verify_s"] > 0
    assert row["peak_rss_mb"] > 100 and row["logrows"] >= 10
    assert set(row) | {"samples_per_s", "throughput_vs_single"} == set(scale.COLUMNS)
