"""The shard executor: in-process for one proof, a process pool for several, Ray when given an address."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from certs import TINY_KW
from zkcert import circuit, owner
from zkcert._internal import ezkl as _ezkl
from zkcert._internal.io import atomic_write_json
from zkcert.certificate import Manifest, shard_proof_name
from zkcert.commitments import ShardSalts
from zkcert.errors import InputError
from zkcert.proving.executor import ShardJob, ShardOutcome, run_jobs
from zkcert.srs import find_srs_by_hash

NONCE = "shard-nonce"  # conftest.SHARD_NONCE


@pytest.fixture(scope="module")
def sharded(sharded_cert) -> tuple[Path, Path]:
    """(certificate, work folder) of the session's honest 2-shard certificate over 4 samples (conftest)."""
    return sharded_cert


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


def test_shard_proved_on_a_local_ray_cluster(sharded, proof_mlp, digits_train):
    """The Ray path proves the same shard the process pool did: same instances, and the proof verifies."""
    import json

    from zkcert._internal.cache import cache_dir
    
    folder, work = sharded
    manifest = Manifest.load(folder)
    st = manifest.statement
    salts = ShardSalts.from_json(json.loads((work / "salts.json").read_text()))
    plan = owner.plan(proof_mlp, digits_train.head(4), shard_size=2, threshold=1000.0, salts=salts, nonce=NONCE, **TINY_KW)
    srs = find_srs_by_hash(manifest.srs["sha256"])
    job = ShardJob(1, st.spec.to_json(), plan.shard_input(1), str(srs.path), str(cache_dir()))
    (outcome,) = list(run_jobs([job], ray_address="local"))
    assert outcome.index == 1
    shipped = json.loads((folder / shard_proof_name(1)).read_text())
    assert outcome.proof["instances"] == shipped["instances"]
    files = circuit.compile_spec(st.spec)
    vk, _pk = circuit.keys_for(files, srs)
    with tempfile.TemporaryDirectory() as tmp:
        atomic_write_json(Path(tmp) / "proof.json", outcome.proof)
        assert _ezkl.verify(Path(tmp) / "proof.json", files.settings, vk, srs.path)
