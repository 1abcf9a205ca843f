"""The zkcert command line: argument parsing, one API call, output. Nothing else lives here.

_common.py holds the app, consoles and shared options; owner.py the owner's commands (demo, measure,
commit, prove); verifier.py the verifier's (verify, audit, keys, srs new); challenge.py `challenge new`; cache.py the cache's (cache info, prune, clear).
"""

from __future__ import annotations

import typer
from rich.markup import escape

from ..errors import ZkcertError
from . import cache, challenge, owner, verifier  # noqa: F401 - importing them registers their commands on the app
from ._common import app, console, err_console, state
from .owner import GAP_WARNING
from .verifier import UNANCHORED_EXIT

__all__ = ["app", "main", "console", "err_console", "GAP_WARNING", "UNANCHORED_EXIT"]


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Show tracebacks on errors.")) -> None:
    state["verbose"] = verbose


def _register_subapps() -> None:
    """Attach the command groups that live in their own packages."""
    from ..robustness.cli import app as robust_app

    if any(group.typer_instance is robust_app for group in app.registered_groups):
        return  # main() may run several times in one process (tests)
    app.add_typer(robust_app, name="robust", help="Robustness validation from weak-robust training samples.")


def main(argv: list[str] | None = None) -> int:
    """Entry point: a ZkcertError becomes one line on stderr and its exit code; bad usage exits 2.

    Exit codes (README, "Exit codes"): 0 success, 1 a failed check or other error, 2 bad usage, 3 bad
    input, 4 an untrusted SRS, 5 missing published values, 6 `verify --unanchored` found the
    certificate consistent (not verified).
    """
    _register_subapps()
    try:
        code = app(args=argv, standalone_mode=False)
    except ZkcertError as exc:
        if state["verbose"]:
            raise
        # One line however long, and the message's own brackets are text, not markup.
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err_console.print("aborted")
        return 1
    except typer.TyperException as exc:  # usage errors (typer vendors click): exit 2 with click's message
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        return int(getattr(exc, "exit_code", 2))
    return code if isinstance(code, int) else 0
