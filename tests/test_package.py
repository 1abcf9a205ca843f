"""The package's docstring examples run: an example that drifts from the real API fails here.

zkcert.robustness runs its own (tests/robustness/test_corruptions.py)."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest
import torch

import zkcert

PACKAGE = Path(zkcert.__file__).parent
# Every zkcert module whose docstrings hold an example ("zkcert" is the package's own __init__).
WITH_EXAMPLES = sorted(
    "zkcert" if path.name == "__init__.py" else f"zkcert.{path.stem}"
    for path in PACKAGE.glob("*.py") if ">>>" in path.read_text()
)


def test_the_package_docstring_has_an_example():
    assert "zkcert" in WITH_EXAMPLES


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples_run(name):
    with torch.random.fork_rng():  # the examples seed torch; the tests after them see the RNG as it was
        result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 1 and result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
