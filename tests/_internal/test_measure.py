"""Step profiling: wall time and peak resident memory of each named step, in order."""

from __future__ import annotations

import time

import numpy as np

from zkcert._internal.measure import Steps


def test_steps_record_time_and_a_memory_peak():
    steps = Steps()
    with steps.step("sleep"):
        time.sleep(0.05)
    with steps.step("allocate"):
        block = np.ones(64 * 2**20 // 8)  # 64 MB, touched
        block.sum()
    rows = steps.to_json()
    assert [r["step"] for r in rows] == ["sleep", "allocate"]
    assert rows[0]["seconds"] >= 0.05
    assert rows[1]["peak_rss_mb"] >= 64
