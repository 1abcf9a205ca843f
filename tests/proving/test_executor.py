"""The shard executor: in-process for one proof, a process pool for several, Ray when given an address.

The Ray path proves a real shard in tests/proving/test_work.py (a resumed run's missing shard), where its proof is
compared with the process pool's and verified.
"""

from __future__ import annotations

import os

import pytest

from zkcert.errors import InputError
from zkcert.proving.executor import ShardJob, ShardOutcome, run_jobs


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
