"""The work folder of a sharded run: an interrupted run resumes without redoing finished shards; another statement's folder is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from certs import TEST_LOGROWS, TINY, UNTRUSTED_SRS_OK, anchors
from zkcert._internal.io import sha256_file
from zkcert.certificate import Manifest, shard_proof_name
from zkcert.errors import InputError
from zkcert.proving import Execution, prove
from zkcert.verification import verify

NONCE = "shard-nonce"  # conftest.SHARD_NONCE


@pytest.fixture(scope="module")
def sharded(sharded_cert) -> tuple[Path, Path]:
    """(certificate, work folder) of the session's honest 2-shard certificate over 4 samples (conftest)."""
    return sharded_cert


def test_resume_skips_finished_shards_and_proves_the_rest_on_ray(proof_mlp, digits_train, sharded, tmp_path):
    """A rerun with the same work folder proves only the shards that have no record, here as a Ray task on a local
    cluster: the Ray path proves the same shard the process pool did (same instances), and the certificate verifies."""
    import json

    _cert, work = sharded
    resumed = tmp_path / "work"
    shutil.copytree(work, resumed)
    (resumed / "shard-0001.json").unlink()
    messages: list[str] = []
    result = prove(proof_mlp, digits_train.head(4), threshold=1000.0, out=tmp_path / "cert", nonce=NONCE, statement=TINY,
                   execution=Execution(shard_size=2, work_dir=resumed, workers=1, max_logrows=TEST_LOGROWS, ray_address="local"),
                   say=messages.append)
    assert "resuming: 1 of 2 shards already proved" in messages
    assert "proving 1 of 2 shards on Ray at local" in messages
    assert sha256_file(resumed / shard_proof_name(0)) == sha256_file(work / shard_proof_name(0))
    instances = [json.loads((folder / shard_proof_name(1)).read_text())["instances"] for folder in (_cert, result.certificate)]
    assert instances[0] == instances[1]
    assert verify(result.certificate, **anchors(_cert, NONCE), **UNTRUSTED_SRS_OK).data_commitment == Manifest.load(_cert).statement.data_commitment


def test_work_folder_of_another_statement_is_refused(proof_mlp, digits_train, sharded, tmp_path):
    shutil.copytree(sharded[1], tmp_path / "work")
    with pytest.raises(InputError, match="another statement"):
        prove(proof_mlp, digits_train.head(4), threshold=1000.0, out=tmp_path / "c", nonce="a different nonce", statement=TINY,
              execution=Execution(shard_size=2, work_dir=tmp_path / "work", max_logrows=TEST_LOGROWS))
