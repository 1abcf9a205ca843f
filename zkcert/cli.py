"""The zkcert command line: argument parsing, one API call, output. Nothing else lives here."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from .errors import ZkcertError

app = typer.Typer(
    name="zkcert",
    help="Zero-knowledge certificates of directional sharpness, and robustness validation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(stderr=False)
err_console = Console(stderr=True)
_state = {"verbose": False}


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Show tracebacks on errors.")) -> None:
    _state["verbose"] = verbose


def _register_subapps() -> None:
    """Attach the command groups that live in their own modules."""
    from .robustness.cli import app as robust_app  # noqa: PLC0415 - keeps `zkcert --help` fast

    app.add_typer(robust_app, name="robust", help="Robustness validation from weak-robust training samples.")


def main(argv: list[str] | None = None) -> int:
    """Entry point: a ZkcertError becomes one line on stderr and exit 1; bad usage exits 2."""
    try:
        _register_subapps()
    except ImportError:
        pass
    try:
        app(args=argv, standalone_mode=False)
    except ZkcertError as exc:
        if _state["verbose"]:
            raise
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        return 1
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err_console.print("aborted")
        return 1
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return exc.exit_code
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
