"""A Python that sees only zkcert's core dependencies, and the dependency trees that decide what "core" is.

The test environment has every extra installed. Instead of a fresh virtual environment (minutes, and an index
that CI may not reach), a core-only Python borrows this environment's packages and blocks, with a meta-path
finder, every module of every installed distribution outside the core requirements' tree: `import ray` there
fails as it would where ray was never installed.
"""

from __future__ import annotations

import importlib.abc
import importlib.metadata as md
import inspect
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from packaging.requirements import Requirement

__all__ = ["canonical", "requirements_of", "requirement_tree", "blocked_modules", "Blocker", "install_blocker"]


def canonical(name: str) -> str:
    """A distribution name as PEP 503 normalizes it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _applies(req: Requirement, extras: Iterable[str]) -> bool:
    """Whether a requirement's marker holds here for one of the requested extras (or none)."""
    if req.marker is None:
        return True
    return any(req.marker.evaluate({"extra": extra}) for extra in ("", *extras))


def requirements_of(requires_dist: Iterable[str], extras: Iterable[str]) -> list[Requirement]:
    """zkcert's own third-party requirements with these extras (none: the core), from its Requires-Dist lines.

    An extra that names other extras of zkcert (`zkcert[data]`) brings in theirs; markers are resolved here.
    """
    reqs = [Requirement(r) for r in requires_dist]
    wanted, grown = set(extras), True
    while grown:  # extras that name other extras of zkcert, to a fixed point
        grown = False
        for req in reqs:
            if canonical(req.name) == "zkcert" and _applies(req, wanted) and not req.extras <= wanted:
                wanted |= req.extras
                grown = True
    chosen = [req for req in reqs if canonical(req.name) != "zkcert" and _applies(req, wanted)]
    for req in chosen:
        req.marker = None  # resolved: requirement_tree must not evaluate "extra == ..." again
    return chosen


def requirement_tree(requirements: Iterable[str | Requirement]) -> dict[str, str]:
    """{canonical name: installed version} of every distribution these requirements pull in, transitively.

    Markers are evaluated for this interpreter; a requirement's extras pull in that distribution's extras.
    Raises PackageNotFoundError if one of them is not installed here.
    """
    seen: dict[str, str] = {}
    todo = [(Requirement(str(r)), ()) for r in requirements]
    while todo:
        req, parent_extras = todo.pop()
        if not _applies(req, parent_extras):
            continue
        name = canonical(req.name)
        dist = md.distribution(req.name)
        first = name not in seen
        seen[name] = dist.version
        # A distribution is walked again when asked for with extras, so that their requirements are included.
        if first or req.extras:
            todo += [(Requirement(r), tuple(req.extras)) for r in dist.requires or []]
    return seen


def blocked_modules(core: Iterable[str]) -> set[str]:
    """Top-level modules of installed distributions outside `core` (canonical names), stdlib and zkcert excepted."""
    core = set(core) | {"zkcert"}
    providers = md.packages_distributions()
    return {module for module, dists in providers.items()
            if module not in sys.stdlib_module_names and not {canonical(d) for d in dists} & core}


class Blocker(importlib.abc.MetaPathFinder):
    """A meta-path finder that makes the named top-level modules (and their submodules) fail to import."""

    def __init__(self, modules: Iterable[str]):
        self.modules = frozenset(modules)

    def find_spec(self, name, path=None, target=None):  # noqa: ANN001, ANN201 - importlib's signature
        """Refuse a blocked module; defer everything else to the next finder."""
        if name.partition(".")[0] in self.modules:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked: not a core dependency)", name=name)
        return None


def install_blocker(site_packages: Path, modules: Iterable[str]) -> None:
    """Make every Python of this site-packages start with `modules` blocked (a .pth file imports the finder)."""
    source = "from __future__ import annotations\n\nimport importlib.abc\nimport sys\n\n\n" + inspect.getsource(Blocker)
    (site_packages / "_zkcert_core_only.py").write_text(
        source + f"\n\nsys.meta_path.insert(0, Blocker({sorted(modules)!r}))\n")
    (site_packages / "_zkcert_core_only.pth").write_text("import _zkcert_core_only\n")
