"""How a proof is run, apart from what it claims (zkcert.preset): shards, spot checks, workers, Ray, memory, layout."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .._internal.extras import optional_package_dir
from ..errors import InputError

__all__ = ["Execution", "AUTO", "ALL"]

# shard_size "auto": the most samples per proof that fit max_memory_gb (zkcert.proving.sizing); "all": one proof
# over every sample, not sized (the caller knows it fits).
AUTO = "auto"
ALL = "all"


@dataclass(frozen=True)
class Execution:
    """The execution choices of `zkcert.prove`; none of them changes what the certificate says.

    shard_size None (the default): one proof when all samples fit max_memory_gb, else shards chosen as by
    "auto"; an int: shards of that many samples; "auto": always sized; "all": one proof, not sized. sample M: a
    spot check proving the M shards a challenge picks (shards of the given size, or sized). inner_cols: ezkl's columns per layout row (default 2, or as sized).
    Shards run in a process pool of `workers` (default one per two cores) or on Ray at ray_address, and a claim's
    proofs `workers` at a time (default: as many as the cores and max_memory_gb hold); a sharded
    run keeps salts and finished shards in work_dir (default `<out>.work`) and resumes from it.
    """

    shard_size: int | str | None = None
    sample: int | None = None
    max_memory_gb: float = 12.0
    inner_cols: int | None = None
    workers: int | None = None
    ray_address: str | None = None
    work_dir: str | Path | None = None
    max_logrows: int = 20

    def __post_init__(self) -> None:
        size = self.shard_size
        if isinstance(size, str) and size not in (AUTO, ALL):
            raise InputError(f"shard size {size!r} is neither a number of samples nor {AUTO!r} or {ALL!r}")
        if isinstance(size, bool) or (isinstance(size, int) and size < 1):
            raise InputError(f"shard size must be a positive number of samples, got {size!r}")
        if self.sample is not None and size == ALL:
            raise InputError("a spot check (sample) proves shards: give a shard size, not one proof over all samples")
        if self.inner_cols is not None and self.inner_cols < 1:
            raise InputError(f"inner columns must be at least 1, got {self.inner_cols}")
        if not self.max_memory_gb > 0:
            raise InputError(f"the memory budget must be positive, got {self.max_memory_gb!r} GiB")
        if self.ray_address is not None:  # found, not imported (slow): a missing ray stops prove before any work
            optional_package_dir("ray", extra="ray", needed_for="--ray-address")
