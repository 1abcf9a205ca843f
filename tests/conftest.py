"""Shared fixtures: tiny models and data so that tests run in seconds on 2 cores."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from zkcert.data import Dataset, load_bundled
from zkcert.models import mlp
from zkcert.training import TrainConfig, train


# The session certificates below, and every test module that reads one, run in one xdist worker (`make test` runs two
# with --dist loadgroup): a session fixture is built once per worker process, and proving them twice would cost more
# than the second worker saves. Every other module is a group of its own, so that its module-scoped fixtures (a
# kzg/v1 or CNN certificate) are built once too. A module that reads them through request.getfixturevalue says so
# with the session_certs marker.
SESSION_CERTS = frozenset({"honest_cert", "sharded_cert", "spot_result", "spot_cert"})
SESSION_GROUP = "session-certificates"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its xdist group: the session certificates' group if it reads one, else its module's.

    A module-scoped fixture built on a session certificate (a claim attached to it) is read only by tests that
    read the certificate too, so it is built once as well."""
    for item in items:
        shared = SESSION_CERTS & set(getattr(item, "fixturenames", ())) or item.get_closest_marker("session_certs")
        item.add_marker(pytest.mark.xdist_group(SESSION_GROUP if shared else item.nodeid.split("::")[0]))


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keys, circuits and SRS files of a test run go to a fresh cache, never the user's; removed at the end."""
    cache = tmp_path_factory.mktemp("zkcert-cache")
    os.environ["ZKCERT_CACHE"] = str(cache)
    yield
    # The cache holds about 10 GB of proving keys by the end of a run; nothing reads it afterwards.
    shutil.rmtree(cache, ignore_errors=True)


@pytest.fixture(scope="session")
def digits_train() -> Dataset:
    """scikit-learn digits, the bundled training split."""
    return load_bundled("digits", "train")


@pytest.fixture(scope="session")
def tiny_data(digits_train: Dataset) -> Dataset:
    """16 digits samples."""
    return digits_train.head(16)


@pytest.fixture(scope="session")
def tiny_mlp(digits_train: Dataset) -> torch.nn.Sequential:
    """A 64-8-10 MLP trained briefly on digits (seeded)."""
    torch.manual_seed(0)
    model = mlp(64, [8], 10)
    return train(model, digits_train.head(400), TrainConfig(epochs=10, seed=0))


@pytest.fixture(scope="session")
def proof_mlp(digits_train: Dataset) -> torch.nn.Sequential:
    """A 64-4-10 MLP: with 2 samples its certificate circuit fits logrows 15 (about 2 GB, ~30 s to prove)."""
    torch.manual_seed(0)
    return train(mlp(64, [4], 10), digits_train.head(400), TrainConfig(epochs=10, seed=0))


@pytest.fixture(scope="session")
def proof_data(digits_train: Dataset) -> Dataset:
    """The 2 samples the proving tests certify."""
    return digits_train.head(2)


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def write_npz(path: Path, **arrays: np.ndarray) -> Path:
    """Save arrays as an .npz (test helper)."""
    np.savez(path, **arrays)
    return path


@pytest.fixture(scope="session")
def honest_cert(proof_mlp, proof_data, tmp_path_factory):
    """(folder, salts) of one honest certificate on the tiny model (about 30 s), shared by the session."""
    from certs import PROOF_NONCE, TEST_LOGROWS, TINY
    from zkcert import Execution, Salts, prove

    salts = Salts.fresh()
    out = tmp_path_factory.mktemp("certs") / "honest"
    # One proof over both samples, as the default would choose, without sizing's calibrations; capped at
    # TEST_LOGROWS as the sharded certificates are: uncapped, about one salt draw in three calibrated to logrows
    # 16 and doubled the cost of every test that proves against this certificate.
    return prove(proof_mlp, proof_data, threshold=1000.0, out=out, nonce=PROOF_NONCE, salts=salts, statement=TINY,
                 execution=Execution(shard_size="all", max_logrows=TEST_LOGROWS)).certificate, salts


# Sharded and spot-check certificates, built once per session: tests/verification (sharded, spot check, tamper table) and the fuzz
# test (test_fuzz_certificates) all read them. Proving is the expensive part of the suite.
from certs import SHARD_NONCE, SPOT_NONCE, SPOT_SAMPLED, SPOT_SHARD_SIZE, SPOT_SHARDS, TEST_LOGROWS, TINY  # noqa: E402 - the nonces tests verify these certificates with


@pytest.fixture(scope="session")
def sharded_cert(proof_mlp, digits_train, tmp_path_factory) -> tuple[Path, Path]:
    """(certificate, work folder) of an honest 2-shard certificate over 4 samples (about 90 s)."""
    from zkcert.proving import Execution, prove

    base = tmp_path_factory.mktemp("sharded")
    result = prove(proof_mlp, digits_train.head(4), threshold=1000.0, out=base / "cert", nonce=SHARD_NONCE, statement=TINY,
                   execution=Execution(shard_size=2, work_dir=base / "work", workers=1, max_logrows=TEST_LOGROWS))
    return result.certificate, base / "work"


@pytest.fixture(scope="session")
def spot_result(proof_mlp, digits_train, tmp_path_factory):
    """zkcert.prove's result for an honest spot check: 1 challenged shard of 4 (one proof, about 60 s), and its wall seconds."""
    import time

    from zkcert.proving import Execution, prove

    base = tmp_path_factory.mktemp("spot")
    start = time.perf_counter()
    result = prove(proof_mlp, digits_train.head(SPOT_SHARDS * SPOT_SHARD_SIZE), threshold=1000.0, out=base / "cert",
                   nonce=SPOT_NONCE, statement=TINY, execution=Execution(shard_size=SPOT_SHARD_SIZE, work_dir=base / "work",
                                                                         max_logrows=TEST_LOGROWS, workers=1, sample=SPOT_SAMPLED))
    return result, time.perf_counter() - start


@pytest.fixture(scope="session")
def spot_cert(spot_result) -> tuple[Path, Path]:
    """(certificate, work folder) of the honest spot check."""
    result, _wall = spot_result
    return result.certificate, result.certificate.parent / "work"
