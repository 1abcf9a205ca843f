"""Choosing the shard size: the most samples per proof whose circuit fits a memory budget.

A proof's peak memory is set by the circuit's size, 2**logrows rows, and doubles with each logrow.
The budget is turned into a largest logrows with the peak measured on this project's 2-core machine
(README, Benchmarks), then the largest shard size whose calibrated circuit fits it is found by
calibrating candidate sizes (seconds each), largest first among the divisors of N.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from torch import nn

from .. import circuit
from ..commitments import KZG
from ..data import Dataset
from ..errors import CircuitError, InputError
from ..owner import plan, provisional_committer

__all__ = ["PEAK_GB_AT_18", "peak_gb", "max_logrows_for", "choose_shard_size"]

# Peak RSS of one proof at logrows 18, measured (results/proving), in GiB (2**30 bytes, as everywhere in
# zkcert's memory budgets): 12,733 MiB = 12.43 GiB for a kzg/v1 MNIST shard worker, which loads its 5.8 GB
# proving key from the cache (mnist-*.md), and about 12,300 MiB for the Poseidon default statement
# (proving.md, the demo). Each logrow doubles it (about 6 GiB measured at 17 for a kzg/v1 shard).
PEAK_GB_AT_18 = {KZG: 12733 / 1024, "poseidon/v1": 12300 / 1024}


def peak_gb(logrows: int, scheme: str) -> float:
    """Expected peak memory (GiB) of one proof at this many logrows."""
    return PEAK_GB_AT_18[scheme] * 2.0 ** (logrows - 18)


def max_logrows_for(max_memory_gb: float, scheme: str) -> int:
    """The largest logrows whose expected peak fits the budget; InputError below the smallest useful circuit."""
    k = 18
    while peak_gb(k, scheme) > max_memory_gb:
        k -= 1
    while peak_gb(k + 1, scheme) <= max_memory_gb:
        k += 1
    if k < 12:
        raise InputError(f"a memory budget of {max_memory_gb:g} GB is below what any proof needs (about {peak_gb(12, scheme):.2f} GB)")
    return k


# Calibrated as prove calibrates. Capping calibration's max_logrows instead would not bound memory: ezkl
# then packs the same circuit into fewer rows and more columns (measured: 48 tiny-model samples "fit"
# logrows 16 under a cap, while uncapped they take 18), and memory follows cells, not rows.
_CALIBRATION_MAX_LOGROWS = 20


def _fits(model: nn.Module, data: Dataset, size: int, statement: dict[str, Any], max_logrows: int) -> bool:
    """Whether one shard of `size` samples calibrates, as prove would, to at most max_logrows (first shard, stand-in direction)."""
    p = plan(model, data.head(size), shard_size=size, committer=provisional_committer, **statement)
    with tempfile.TemporaryDirectory(prefix="zkcert-size-") as tmp:
        try:
            spec = circuit.calibrate_spec(p.spec, p.shard_input(0), Path(tmp), max_logrows=_CALIBRATION_MAX_LOGROWS)
        except CircuitError:
            return False
    return (spec.logrows or 0) <= max_logrows


def choose_shard_size(model: nn.Module, data: Dataset, *, max_memory_gb: float, **statement: Any) -> int:
    """The largest divisor S of N whose shard circuit fits the memory budget (statement: plan's keyword arguments)."""
    max_logrows = max_logrows_for(max_memory_gb, statement.get("commitment", "poseidon/v1"))
    n = len(data)
    divisors = [s for s in range(1, n + 1) if n % s == 0]
    # Rows grow with the shard size, so "fits" is monotone: binary search over the divisors.
    lo, hi, best = 0, len(divisors) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if _fits(model, data, divisors[mid], statement, max_logrows):
            best, lo = divisors[mid], mid + 1
        else:
            hi = mid - 1
    if best is None:
        raise InputError(f"not even one sample per shard fits logrows {max_logrows} ({max_memory_gb:g} GB); raise --max-memory")
    return best
