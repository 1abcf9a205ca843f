"""The package installs as a wheel: circuits/ ships inside it, and the installed CLI verifies a certificate."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from zkcert.spec import standard_spec

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from this checkout (no network: the build backend is already installed)."""
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy of the sources: setuptools reuses an in-tree build/ folder, whose stale modules
    # would ride along into the wheel and hide a package missing from pyproject.toml.
    src = tmp_path_factory.mktemp("src") / "zkcert"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "results", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)],
                   check=True, capture_output=True, text=True)
    (path,) = out.glob("zkcert-*.whl")
    return path


def test_wheel_ships_the_standard_specs_and_fingerprints(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "zkcert/circuits/demo.json" in names and "zkcert/circuits/fingerprints.json" in names


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment outside the checkout with the wheel installed; dependencies are borrowed from
    this environment through a .pth file (pip may not reach an index in CI), never this checkout's zkcert."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True, text=True)
    return venv


def _run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(venv / "bin" / "python"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_installed_package_is_the_wheel_not_the_checkout(installed, tmp_path):
    done = _run(installed, "-c", "import zkcert, zkcert.spec as s; print(zkcert.__file__); print(s.standard_spec('demo').digest())", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    location, digest = done.stdout.split()
    assert str(ROOT) not in location and "site-packages" in location
    assert digest == standard_spec("demo").digest()  # the wheel's circuits/demo.json is this checkout's


@pytest.mark.prove
def test_installed_cli_verifies_a_certificate(installed, honest_cert, tmp_path):
    from certs import PROOF_NONCE
    from zkcert import Manifest

    cert, _salts = honest_cert
    statement = Manifest.load(cert).statement
    anchors = ["--data-commitment", statement.data_commitment, "--model-commitment", statement.model_commitment,
               "--nonce", PROOF_NONCE]
    done = _run(installed, "-m", "zkcert.cli", "verify", str(cert), *anchors, *VERIFY_TRUST_ARGS, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("VERIFIED:")


# The honest test certificate is proved on a locally generated SRS: the verifier must say it accepts that.
VERIFY_TRUST_ARGS: list[str] = ["--allow-untrusted-srs"]
