"""Wall time and peak resident memory of a step, for the demo summary and the benchmarks."""

from __future__ import annotations

import resource
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

__all__ = ["StepStats", "Steps", "rss_bytes", "children_rss_bytes"]


def rss_bytes() -> int:
    """Current resident set size of this process, from the kernel's accounting (/proc)."""
    own = _statm_rss("self")
    return _maxrss(resource.RUSAGE_SELF) if own is None else own  # not Linux: fall back to the lifetime peak


def children_rss_bytes() -> list[int]:
    """Current resident set size of each live child process (Linux /proc; none elsewhere)."""
    # The kernel's peak over children counts only reaped ones and only when it rises past every earlier child's,
    # so a step whose workers (claim proofs) stay below an earlier step's (sharpness shards) needs sampling.
    pids = []
    for listing in Path("/proc/self/task").glob("*/children"):
        try:
            pids += listing.read_text().split()
        except OSError:
            continue
    return [size for size in map(_statm_rss, pids) if size is not None]  # None: exited since it was listed


def _statm_rss(pid: str) -> int | None:
    """Resident set size of /proc/<pid> in bytes, or None where it cannot be read."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * resource.getpagesize()
    except (OSError, IndexError, ValueError):
        return None


def _maxrss(who: int) -> int:
    """The kernel's lifetime peak RSS for `who` (RUSAGE_SELF, or the largest reaped child), bytes."""
    return resource.getrusage(who).ru_maxrss * 1024


@dataclass(frozen=True)
class StepStats:
    """One step's wall time and peak RSS of its largest process: this one or a worker it ran (each sampled every
    20 ms, plus the kernel's lifetime peaks, of this process and of reaped children, when they rose)."""

    name: str
    seconds: float
    peak_rss_bytes: int


@dataclass
class Steps:
    """An ordered record of measured steps."""

    stats: list[StepStats] = field(default_factory=list)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Measure the enclosed block."""
        peak = [rss_bytes()]
        before_max, before_children = _maxrss(resource.RUSAGE_SELF), _maxrss(resource.RUSAGE_CHILDREN)
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.02):
                peak[0] = max(peak[0], rss_bytes(), *children_rss_bytes())

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            stop.set()
            thread.join()
            after_max, after_children = _maxrss(resource.RUSAGE_SELF), _maxrss(resource.RUSAGE_CHILDREN)
            # A new lifetime maximum inside the step is exact; otherwise keep the sampled peak. Claim proofs run in
            # worker processes, so a child's new maximum is the step's peak per proof when it is the larger.
            observed = max(peak[0], rss_bytes(), after_max if after_max > before_max else 0,
                           after_children if after_children > before_children else 0)
            self.stats.append(StepStats(name, elapsed, observed))

    def to_json(self) -> list[dict[str, object]]:
        """JSON form."""
        return [{"step": s.name, "seconds": round(s.seconds, 3), "peak_rss_mb": round(s.peak_rss_bytes / 2**20, 1)} for s in self.stats]
