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


def test_a_step_peak_counts_a_worker_it_ran():
    # Claim proofs run in worker processes: a step's peak is its largest process, the worker's when it is larger.
    import resource
    import subprocess
    import sys

    from zkcert._internal.measure import rss_bytes

    before = max(rss_bytes(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
    size = before + 512 * 2**20
    steps = Steps()
    with steps.step("worker"):
        subprocess.run([sys.executable, "-c", f"b = b'x' * {size}"], check=True)
    assert steps.to_json()[0]["peak_rss_mb"] >= size / 2**20


def test_a_step_peak_counts_a_worker_below_an_earlier_ones_peak():
    # The kernel's peak over children already holds a larger earlier worker (a sharpness shard), so only sampling
    # the live workers sees a later, smaller one (a claim proof).
    import subprocess
    import sys

    from zkcert._internal.measure import rss_bytes

    size = rss_bytes() + 400 * 2**20
    subprocess.run([sys.executable, "-c", f"b = b'x' * {size + 400 * 2**20}"], check=True)
    steps = Steps()
    with steps.step("worker"):
        subprocess.run([sys.executable, "-c", f"import time; b = b'x' * {size}; time.sleep(0.5)"], check=True)
    assert steps.to_json()[0]["peak_rss_mb"] >= size / 2**20
