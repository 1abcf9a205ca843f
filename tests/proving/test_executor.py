"""The shard executor: in-process for one proof, a process pool for several, Ray when given an address.

The Ray path proves a real shard in tests/proving/test_work.py (a resumed run's missing shard), where its proof is
compared with the process pool's and verified.
"""

from __future__ import annotations

import os

import pytest

from zkcert.errors import InputError
from zkcert.proving.executor import ShardJob, ShardOutcome, claim_workers, run_jobs


def _fake(job: ShardJob) -> ShardOutcome:
    """A stand-in for prove_shard that records which process ran it."""
    return ShardOutcome(job.index, {"instances": []}, [], 0.0, 0.0, str(os.getpid()))


def _job(index: int) -> ShardJob:
    return ShardJob(index, {}, {}, "unused.srs", "unused-cache")


def test_one_job_runs_in_this_process():
    (outcome,) = run_jobs([_job(0)], fn=_fake)
    assert outcome.node == str(os.getpid())


def test_several_jobs_run_in_worker_processes():
    outcomes = list(run_jobs([_job(i) for i in range(3)], workers=2, fn=_fake))
    assert sorted(o.index for o in outcomes) == [0, 1, 2]
    assert all(o.node != str(os.getpid()) for o in outcomes)
    # One shard per worker process, so each shard's peak memory is its own process's (executor.run_jobs).
    assert len({o.node for o in outcomes}) == 3


@pytest.mark.parametrize("workers", [0, -1])
def test_workers_must_be_positive(workers):
    with pytest.raises(InputError, match="at least 1"):
        list(run_jobs([_job(0), _job(1)], workers=workers, fn=_fake))


def test_no_jobs_run_nothing():
    assert list(run_jobs([], fn=_fake)) == []


def _pid(_job) -> str:
    """A stand-in for prove_files that returns the process it ran in."""
    return str(os.getpid())


def test_claim_jobs_reuse_their_workers_and_run_here_with_one():
    """one_per_process=False (claims): at most `workers` processes for any number of jobs; one worker means this process."""
    pids = list(run_jobs([_job(i) for i in range(4)], workers=2, fn=_pid, one_per_process=False))
    assert len(pids) == 4 and 1 <= len(set(pids)) <= 2 and str(os.getpid()) not in pids
    assert list(run_jobs([_job(i) for i in range(3)], workers=1, fn=_pid, one_per_process=False)) == [str(os.getpid())] * 3


def test_claim_workers_follow_the_request_then_cores_and_memory(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert claim_workers(3, peak_gb=3.0, budget_gb=1.0) == 3  # asked for: given
    assert claim_workers(None, peak_gb=3.0, budget_gb=12.0) == 2  # two cores
    assert claim_workers(None, peak_gb=8.0, budget_gb=12.0) == 1  # two 8 GiB proofs exceed the budget
    assert claim_workers(None, peak_gb=20.0, budget_gb=12.0) == 1  # never below one
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    assert claim_workers(None, peak_gb=3.0, budget_gb=12.0) == 4
    with pytest.raises(InputError, match="at least 1"):
        claim_workers(0, peak_gb=3.0, budget_gb=12.0)
