"""Optional dependencies: imported where they are used, and a missing one names the extra that installs it.

The core install (what a verifier needs) is torch, ezkl, onnx, numpy, scipy, typer and rich; pyproject.toml's
[project.optional-dependencies] lists the extras. Every import of an optional package goes through here, so that
`zkcert --help` and the core commands start without them and a command that needs one fails in one line.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

from ..errors import MissingExtra

__all__ = ["optional_import", "optional_package_dir"]

# pip's name where it differs from the import name: the message says what to look for in `pip list`.
_DISTRIBUTIONS = {"art": "adversarial-robustness-toolbox", "PIL": "pillow", "sklearn": "scikit-learn"}


def _missing(module: str, extra: str, needed_for: str) -> MissingExtra:
    """The error for a missing top-level package of `module`."""
    top = module.partition(".")[0]
    return MissingExtra(_DISTRIBUTIONS.get(top, top), extra, needed_for)


def optional_import(module: str, *, extra: str, needed_for: str) -> ModuleType:
    """Import `module` from the extra `extra`; MissingExtra if it (or a package it needs) is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError:
        # Also when the package is there but one of its own dependencies is not: the extra installs both.
        raise _missing(module, extra, needed_for) from None


def optional_package_dir(package: str, *, extra: str, needed_for: str) -> Path:
    """The folder of an installed package, found without importing it (for data files shipped in a wheel)."""
    try:
        spec = importlib.util.find_spec(package)
    except ImportError:
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise _missing(package, extra, needed_for)
    return Path(list(spec.submodule_search_locations)[0])
