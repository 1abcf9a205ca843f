"""The scale benchmark's row, on its cheapest configuration (a spot check of one tiny shard).

The benchmark runs each row in a subprocess (`scale.py --one`) after training; prove_row is zkcert.prove, then
row_of and timed_verify. This test reads the row off the session's spot check (conftest.spot_result: the same
configuration, proved once for the suite) and verifies it as the benchmark does.
"""

from __future__ import annotations

import sys
from pathlib import Path

from certs import SPOT_NONCE, SPOT_SAMPLED, SPOT_SHARD_SIZE, SPOT_SHARDS

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "proving"))

import scale  # noqa: E402


def test_scale_benchmark_row(spot_result):
    """One spot-check row verifies and reports the columns the table writes."""
    result, wall = spot_result
    config = {"hidden": [4], "samples": SPOT_SHARDS * SPOT_SHARD_SIZE, "shard_size": SPOT_SHARD_SIZE, "sample": SPOT_SAMPLED}
    row = scale.row_of(result, config, wall, scale.timed_verify(result, SPOT_NONCE))
    assert row["shards"] == 4 and row["sampled"] == 1 and row["claim"] == "< 4 of 4 shards > T (95 %)"
    assert row["wall_s"] >= row["setup_s"] >= 0 and row["prove_s"] > 0 and row["verify_s"] > 0
    assert row["peak_rss_mb"] > 100 and row["logrows"] >= 10
    assert set(row) | {"samples_per_s", "throughput_vs_single"} == set(scale.COLUMNS)
