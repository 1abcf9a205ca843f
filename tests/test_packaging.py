"""The package installs as a wheel: circuits/ ships inside it, its core requirements leave out every extra, and
the installed CLI verifies a certificate with only the core dependencies importable."""

from __future__ import annotations

import email.parser
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from core_only import blocked_modules, canonical, install_blocker, requirement_tree, requirements_of

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


@pytest.fixture(scope="module")
def requires_dist(wheel) -> list[str]:
    """The wheel's Requires-Dist lines (its METADATA, as pip reads it)."""
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = email.parser.Parser().parsestr(archive.read(name).decode())
    return metadata.get_all("Requires-Dist") or []


# What a verifier must not have to install: the extras' packages and the tests' own.
OPTIONAL = {"ray", "adversarial-robustness-toolbox", "foolbox", "matplotlib", "pandas", "mlxtend", "scikit-learn",
            "pillow", "tqdm", "onnxruntime", "onnxscript", "pytest", "hypothesis"}


def test_core_requirements_leave_out_the_extras_and_pin_only_what_the_key_depends_on(requires_dist):
    core = requirements_of(requires_dist, ())
    names = {canonical(r.name) for r in core}
    assert names >= {"torch", "ezkl", "onnx"} and not names & OPTIONAL
    assert {canonical(r.name) for r in core if any(s.operator == "==" for s in r.specifier)} == {"torch", "ezkl", "onnx"}
    # ... and the whole tree the core pulls in leaves them out too.
    assert not set(requirement_tree(core)) & OPTIONAL
    assert {canonical(r.name) for r in requirements_of(requires_dist, ("dev",))} >= OPTIONAL - {"onnxscript"}


# pip freeze leaves these out of a lock; torch needs setuptools at run time and gets it from the venv.
_NOT_FROZEN = {"pip", "setuptools", "wheel"}


def test_lock_pins_exactly_the_tree_the_tests_run_on(requires_dist):
    lock = dict(line.strip().split("==") for line in (ROOT / "requirements.lock").read_text().splitlines()
                if line.strip() and not line.startswith("#"))
    lock = {canonical(name): version for name, version in lock.items()}
    tree = requirement_tree(requirements_of(requires_dist, ("dev",)))
    assert set(lock) == set(tree) - _NOT_FROZEN
    # The installed versions are the lock's (torch's local build tag "+cpu" aside).
    assert {name: tree[name].split("+")[0] for name in lock} == lock


def test_wheel_ships_the_standard_specs_and_fingerprints(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "zkcert/circuits/demo.json" in names and "zkcert/circuits/fingerprints.json" in names


def test_wheel_ships_every_module_of_the_package(wheel):
    """pyproject.toml lists the packages by hand: a subpackage left off (zkcert.heldout once was) imports in an
    editable checkout and fails only for users of the wheel."""
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "zkcert").rglob("*.py")}
    assert modules and modules <= names, sorted(modules - names)


@pytest.fixture(scope="module")
def installed(wheel, requires_dist, tmp_path_factory) -> Path:
    """A fresh virtual environment outside the checkout with the wheel installed and only its core dependencies.

    They are borrowed from this environment through a .pth file (pip may not reach an index in CI), never this
    checkout's zkcert; every module of a distribution outside the core's tree is blocked (tests/core_only.py).
    """
    venv = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True, text=True)
    install_blocker(site, blocked_modules(requirement_tree(requirements_of(requires_dist, ()))))
    return venv


def _run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(venv / "bin" / "python"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


# Optional import names, one per extra's package: none may import in the core-only environment.
_OPTIONAL_MODULES = ["ray", "art", "foolbox", "matplotlib", "pandas", "mlxtend", "sklearn", "PIL", "tqdm", "onnxruntime"]
# Prints the importable ones (a blocked module's find_spec raises ImportError, a missing one's returns None).
_IMPORTABLE = ("import importlib.util as u\ndef ok(m):\n try: return u.find_spec(m) is not None\n"
               " except ImportError: return False\n" f"print(*[m for m in {_OPTIONAL_MODULES!r} if ok(m)] or ['none'])")


def test_installed_package_is_the_wheel_not_the_checkout(installed, tmp_path):
    done = _run(installed, "-c", "import zkcert, zkcert.spec as s; print(zkcert.__file__); print(s.standard_spec('demo').digest())", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    location, digest = done.stdout.split()
    assert str(ROOT) not in location and "site-packages" in location
    assert digest == standard_spec("demo").digest()  # the wheel's circuits/demo.json is this checkout's


def test_core_environment_cannot_import_the_extras(installed, tmp_path):
    core_only = _run(installed, "-c", _IMPORTABLE, cwd=tmp_path)
    assert core_only.stdout.split() == ["none"], core_only.stderr
    # Without the blocker (-S: no .pth files) the same Python finds them all in the borrowed site-packages.
    borrowed = f"import sys; sys.path.append({sysconfig.get_paths()['purelib']!r})\n"
    assert _run(installed, "-S", "-c", borrowed + _IMPORTABLE, cwd=tmp_path).stdout.split() == _OPTIONAL_MODULES


def test_installed_cli_starts_and_names_a_missing_extra(installed, tmp_path):
    """Every command's help works without the extras; a command that needs one says which, in one line."""
    script = ("import typer, zkcert.cli as c; c.main(['--help']); g = typer.main.get_group(c.app); "
              "names = [[n] for n in g.commands] + [['robust', n] for n in g.commands['robust'].commands]; "
              "print('codes', [c.main([*n, '--help']) for n in names]); "
              "print('code', c.main(['robust', 'analyze', '--data', 'digits', '--out', 'out']))")
    done = _run(installed, "-c", script, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    codes = next(line for line in done.stdout.splitlines() if line.startswith("codes"))
    assert len(codes.split(",")) >= 10 and set(codes[6:].strip("[]").split(", ")) == {"0"}
    assert done.stdout.strip().endswith("code 1") and not (tmp_path / "out").exists()
    assert done.stderr.strip() == ("error: the bundled dataset digits needs scikit-learn, which is not installed: "
                                   "pip install 'zkcert[data]'")


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
