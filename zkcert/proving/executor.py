"""Running shard proofs in parallel: a local process pool by default, a Ray cluster when given its address.

The scheduling is the pool's or Ray's; this module only turns a list of picklable shard jobs into
results in completion order, so the caller can record each finished shard at once (that record is
what lets an interrupted run resume without redoing finished shards).
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from .. import circuit
from .._internal import ezkl as _ezkl
from .._internal.io import atomic_write_json, read_json, sha256_file
from .._internal.extras import optional_import
from .._internal.measure import Steps
from ..commitments import KZG
from ..errors import InputError
from ..srs import Srs
from ..spec import CircuitSpec

__all__ = ["ShardJob", "ShardOutcome", "prove_shard", "FileJob", "prove_files", "run_jobs", "default_workers", "claim_workers"]


@dataclass(frozen=True)
class ShardJob:
    """One shard to prove: its circuit (rebuilt from the spec, cached by digest) and its ezkl input.

    Paths are the caller's: on a Ray cluster the SRS must be at the same path on every node (a shared
    filesystem); the circuit and keys are rebuilt in each node's own cache when missing.
    """

    index: int
    spec_json: dict[str, Any]
    input_json: dict[str, Any]
    srs_path: str
    cache: str


@dataclass(frozen=True)
class ShardOutcome:
    """A proved shard: the proof, its output field elements and what it cost."""

    index: int
    proof: dict[str, Any]
    outputs: list[str]
    seconds: float
    peak_rss_mb: float
    node: str


def prove_shard(job: ShardJob) -> ShardOutcome:
    """Witness and proof for one shard (runs in a worker process or a Ray task)."""
    spec = CircuitSpec.from_json(job.spec_json)
    files = circuit.compile_spec(spec, cache=job.cache)  # the caller's cache, where setup already put the keys
    srs = Srs(Path(job.srs_path), sha256_file(job.srs_path), locally_generated=False)
    vk, pk = circuit.keys_for(files, srs)
    # KZG-committed inputs: the witness holds their points, which need the key and the SRS.
    keyed = (vk, srs.path) if spec.commitment == KZG else ()
    steps = Steps()
    start = time.perf_counter()
    # The input and witness hold the private data in clear: a private temporary folder, removed after.
    with tempfile.TemporaryDirectory(prefix="zkcert-shard-") as tmp, steps.step("prove"):
        work = Path(tmp)
        atomic_write_json(work / "input.json", job.input_json)
        witness = _ezkl.gen_witness(work / "input.json", files.compiled, work / "witness.json", *keyed)
        _ezkl.prove(work / "witness.json", files.compiled, pk, work / "proof.json", srs.path)
        proof = read_json(work / "proof.json", what="proof")
    return ShardOutcome(
        job.index, proof, list(_ezkl.WitnessView.from_json(witness).outputs[0]), time.perf_counter() - start,
        steps.stats[0].peak_rss_bytes / 2**20, os.uname().nodename,
    )


@dataclass(frozen=True)
class FileJob:
    """One proof of a compiled circuit from an input file on disk (a claim's block): witness and proof go where named.

    vk: the key, when the input's columns are KZG-committed (the witness holds their points). keep_witness: leave the
    witness for the caller to read (its outputs); else it is removed once the proof is written.
    """

    index: int
    input: str
    compiled: str
    pk: str
    srs: str
    witness: str
    proof: str
    vk: str | None = None
    keep_witness: bool = False


def prove_files(job: FileJob) -> int:
    """Witness and proof of one FileJob (in this process or a worker); returns its index."""
    keyed = (Path(job.vk), Path(job.srs)) if job.vk else (None, None)
    _ezkl.gen_witness(Path(job.input), Path(job.compiled), Path(job.witness), *keyed)
    _ezkl.prove(Path(job.witness), Path(job.compiled), Path(job.pk), Path(job.proof), Path(job.srs))
    if not job.keep_witness:  # tens of MB per block, and the private values in clear
        Path(job.witness).unlink()
    return job.index


def claim_workers(requested: int | None, peak_gb: float, budget_gb: float) -> int:
    """How many claim proofs run at once: `requested`, else as many as the cores and the memory budget hold.

    A claim proof is small (a held-out block at logrows 16: about 3 GiB), and two at once on 2 cores finish two
    proofs in 0.82x the time of one after the other: ezkl's witness and parts of its prover run on one thread
    (results/proving/concurrency.md). A sharpness shard keeps default_workers: it fills the memory budget alone.
    """
    if requested is not None:
        if requested < 1:
            raise InputError(f"workers must be at least 1, got {requested}")
        return requested
    return max(1, min(os.cpu_count() or 1, int(budget_gb // max(peak_gb, 1e-9))))


def default_workers() -> int:
    """One proof at a time per two cores: ezkl's prover is itself multithreaded and memory-bound."""
    return max(1, (os.cpu_count() or 1) // 2)


def run_jobs(
    jobs: list[Any], *, workers: int | None = None, ray_address: str | None = None,
    fn: Callable[[Any], Any] = prove_shard, one_per_process: bool = True,
) -> Iterator[Any]:
    """Run the jobs and yield each outcome as it finishes (local process pool, or Ray if an address is given).

    one_per_process: each job in a fresh worker process (a shard's peak memory is then its own, see below);
    claims reuse their workers instead, and run in this process when one worker is asked for.
    """
    if workers is not None and workers < 1:
        raise InputError(f"workers must be at least 1, got {workers}")
    if not jobs:
        return
    if ray_address is not None:
        yield from _run_ray(jobs, ray_address, fn)
        return
    if (workers is None and len(jobs) == 1) or (workers == 1 and not one_per_process):
        # One proof (a single-proof certificate), or claim proofs one at a time: no worker process to start.
        for job in jobs:
            yield fn(job)
        return
    workers = workers or default_workers()
    # spawn, not fork: the parent has torch and ezkl thread pools, which do not survive a fork. One shard per
    # worker process: a shard's peak memory is then its process's own lifetime peak (ezkl holds the GIL while
    # it proves, so sampling cannot see inside a proof, and a reused worker under-reported every shard after
    # its first: 3.3 GB against 12.7 GB measured in the MNIST benchmark), and no memory carries over.
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=multiprocessing.get_context("spawn"),
                             max_tasks_per_child=1 if one_per_process else None) as pool:
        pending = {pool.submit(fn, job) for job in jobs}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def _run_ray(jobs: list[ShardJob], address: str, fn: Callable[[ShardJob], ShardOutcome]) -> Iterator[ShardOutcome]:
    ray = optional_import("ray", extra="ray", needed_for="--ray-address")
    started = not ray.is_initialized()
    if started:
        ray.init(address=None if address == "local" else address, include_dashboard=False, log_to_driver=False,
                 num_cpus=(os.cpu_count() or 1) if address == "local" else None)
    try:
        # One proof per two CPUs, as in the local pool: ezkl's prover uses every core it is given.
        # max_calls=1: a fresh worker per shard, for the same reason as the local pool's max_tasks_per_child.
        remote = ray.remote(num_cpus=min(2, int(ray.cluster_resources().get("CPU", 1))), max_calls=1)(fn)
        refs = [remote.remote(job) for job in jobs]
        while refs:
            done, refs = ray.wait(refs, num_returns=1)
            yield ray.get(done[0])
    finally:
        if started:
            ray.shutdown()
