"""Choosing the shard size: the most samples per proof whose circuit fits a memory budget.

A proof's peak memory is set by the circuit's cells: 2**logrows rows (it doubles with each logrow) times
the columns ezkl lays out per row. For each candidate column count the budget is turned into a largest
logrows with the peaks measured on this project's 2-core machine (README, Benchmarks), then the largest
shard size whose calibrated circuit fits it is found by calibrating candidate sizes (a binary search over the
divisors of N; a fixed-range spec, every new one, needs only ezkl's settings: well under a second for an MLP
shard); the column count that fits the most samples wins.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from torch import nn

from .. import circuit
from ..commitments import KZG, POSEIDON
from ..data import Dataset
from ..errors import CircuitError, InputError
from ..metric import flat_params
from ..owner import plan, provisional_committer

__all__ = ["PEAK_GB_AT_17", "INNER_COLS", "peak_gb", "max_logrows_for", "choose_shard_size"]

# Peak RSS of one shard proof at logrows 17 with ezkl's default 2 columns per row, in GiB (2**30 bytes, as
# everywhere in zkcert's memory budgets), measured on this project's 2-core machine (results/proving): a
# kzg/v1 MNIST shard worker peaked at 12,733 MiB at logrows 18, and the Poseidon default statement at about
# 12,300 MiB (proving.md, the demo). Each logrow doubles the peak.
PEAK_GB_AT_17 = {KZG: 12733 / 1024 / 2, POSEIDON: 12300 / 1024 / 2}
# Memory per logrow grows linearly in the columns per row: a 20-sample MNIST kzg/v1 shard worker at logrows
# 17 peaked at 10,480 MiB (10.23 GiB) with 4 columns, against 6.22 GiB (half the logrows-18 peak) with 2
# (results/proving/mnist-1000-c4-graph1*), so peak(c) = peak(2) * (A + c) / (A + 2) with A = 1.10. Only measured
# counts are candidates for auto sizing. 8 columns is not one: the same 20-sample shard at logrows 16 peaked
# at 13.0 GiB (this model says 9.1) and took 104-110 s per proof against 81.5 s with 4 (mnist-40-c8.md).
_COLUMN_OFFSET = 1.10
INNER_COLS = (2, 4)


def peak_gb(logrows: int, scheme: str, inner_cols: int = 2) -> float:
    """Expected peak memory (GiB) of one proof at this many logrows and columns per row."""
    return PEAK_GB_AT_17[scheme] * (_COLUMN_OFFSET + inner_cols) / (_COLUMN_OFFSET + 2) * 2.0 ** (logrows - 17)


def max_logrows_for(max_memory_gb: float, scheme: str, inner_cols: int = 2) -> int:
    """The largest logrows whose expected peak fits the budget; InputError below the smallest useful circuit."""
    k = 18
    while peak_gb(k, scheme, inner_cols) > max_memory_gb:
        k -= 1
    while peak_gb(k + 1, scheme, inner_cols) <= max_memory_gb:
        k += 1
    if k < 12:
        raise InputError(f"a memory budget of {max_memory_gb:g} GiB is below what any proof needs "
                         f"(about {peak_gb(12, scheme, inner_cols):.2f} GiB)")
    return k


# Calibrated as prove calibrates. Capping calibration's max_logrows instead would not bound memory: ezkl
# then packs the same circuit into fewer rows and more columns (measured: 48 tiny-model samples "fit"
# logrows 16 under a cap, while uncapped they take 18), and memory follows cells, not rows.
_CALIBRATION_MAX_LOGROWS = 20


# Calibrated logrows per candidate shard (None: it does not calibrate), kept for the process. choose_shard_size asks
# about the same shard more than once (its binary search, then whether twice the answer fits), as do prove's auto
# sizing and a caller's own call; each calibration takes seconds. The answer depends only on the model, the shard's
# samples, the statement and the columns per row: the salts are a fresh draw on every call, so a stored answer is
# as good as a new one.
_CALIBRATED: dict[str, int | None] = {}


def _shard_key(model: nn.Module, shard: Dataset, statement: dict[str, Any], inner_cols: int) -> str:
    """What a candidate shard's calibration depends on, hashed."""
    h = hashlib.sha256()
    for part in (str(model).encode(), flat_params(model).tobytes(), shard.x.tobytes(), shard.y.tobytes(),
                 json.dumps(statement, sort_keys=True, default=str).encode(), str(inner_cols).encode()):
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def _calibrated_logrows(model: nn.Module, shard: Dataset, statement: dict[str, Any], inner_cols: int) -> int | None:
    """The logrows one shard of these samples calibrates to, as prove would (stand-in direction), or None."""
    key = _shard_key(model, shard, statement, inner_cols)
    if key not in _CALIBRATED:
        p = plan(model, shard, shard_size=len(shard), committer=provisional_committer, **statement)
        with tempfile.TemporaryDirectory(prefix="zkcert-size-") as tmp:
            try:
                spec = circuit.calibrate_spec(p.spec.with_run_args({"num_inner_cols": inner_cols}), p.shard_input(0),
                                              Path(tmp), max_logrows=_CALIBRATION_MAX_LOGROWS)
                _CALIBRATED[key] = spec.logrows or 0
            except CircuitError:
                _CALIBRATED[key] = None
    return _CALIBRATED[key]


def _fits(model: nn.Module, data: Dataset, size: int, statement: dict[str, Any], inner_cols: int, max_logrows: int) -> bool:
    """Whether one shard of `size` samples calibrates, as prove would, to at most max_logrows (first shard, stand-in direction)."""
    logrows = _calibrated_logrows(model, data.head(size), statement, inner_cols)
    return logrows is not None and logrows <= max_logrows


def _largest_fitting(model: nn.Module, data: Dataset, statement: dict[str, Any], inner_cols: int, max_logrows: int,
                     sizes: list[int] | None = None) -> int | None:
    """The largest of the ascending shard sizes (default: the divisors of N) whose shard fits, or None."""
    n = len(data)
    sizes = [s for s in range(1, n + 1) if n % s == 0] if sizes is None else sizes
    # Rows grow with the shard size, so "fits" is monotone: binary search.
    lo, hi, best = 0, len(sizes) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if _fits(model, data, sizes[mid], statement, inner_cols, max_logrows):
            best, lo = sizes[mid], mid + 1
        else:
            hi = mid - 1
    return best


def choose_shard_size(model: nn.Module, data: Dataset, *, max_memory_gb: float, inner_cols: int | None = None,
                      **statement: Any) -> tuple[int, int]:
    """(S, columns per row): the most samples per proof within the memory budget, over the given or measured column counts.

    S is the largest divisor of N whose shard circuit fits; on a tie the fewer columns win (a smaller key).
    When shards of twice S would also fit, N's divisors are what hold it back (a prime N gets shards of 1,
    one proof per sample), and that is an InputError naming a sample count that splits well, not hours of
    needless proofs. statement: plan's keyword arguments.
    """
    scheme = statement.get("commitment", POSEIDON)
    best: tuple[int, int, int] | None = None
    for cols in (inner_cols,) if inner_cols is not None else INNER_COLS:
        try:
            max_logrows = max_logrows_for(max_memory_gb, scheme, cols)
        except InputError:
            continue
        size = _largest_fitting(model, data, statement, cols, max_logrows)
        if size is not None and (best is None or size > best[0]):
            best = (size, cols, max_logrows)
    if best is None:
        raise InputError(f"not even one sample per shard fits a {max_memory_gb:g} GiB proof; raise --max-memory")
    size, cols, max_logrows = best
    n = len(data)
    if 2 * size <= n and _fits(model, data, 2 * size, statement, cols, max_logrows):
        fit = _largest_fitting(model, data, statement, cols, max_logrows, list(range(2 * size, n + 1)))
        raise InputError(
            f"{n} samples split into shards of at most {size} within {max_memory_gb:g} GiB (shard sizes must divide N), "
            f"but {fit} per shard would fit: use --samples {n - n % fit} ({n // fit} shards of {fit}) or pass --shard-size"
        )
    return size, cols

