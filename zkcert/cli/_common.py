"""What every zkcert command shares: the Typer app, consoles, options, and loading the user's files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from .._internal.io import read_json
from ..commitments import Salts, ShardSalts

if TYPE_CHECKING:  # annotations only
    from torch import nn

    from ..data import Dataset
    from ..preset import Preset

app = typer.Typer(
    name="zkcert",
    help="Zero-knowledge certificates of directional sharpness, and robustness validation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(stderr=False)
err_console = Console(stderr=True)
state = {"verbose": False}

MODEL = typer.Option(..., "--model", "-m", help="Model file written by zkcert.save_model (architecture + weights, no pickled code).")
DATA = typer.Option(..., "--data", "-d", help="Bundled dataset name (digits, mnist5k, cifar10) or an .npz with x and y.")
SAMPLES = typer.Option(None, "--samples", "-n", help="Use only the first N samples of the data.")
SALTS = typer.Option(None, "--salts", help="Private salts file written by `zkcert commit` (default: fresh salts).")
NONCE = typer.Option("", "--nonce", help="Public nonce mixed into the direction seed (ask the verifier for one).")
STATEMENT = typer.Option("default", "--statement", help="Named statement preset (zkcert statements lists them); the options below override its choices.")
EPS = typer.Option(None, "--epsilon", "-e", help="Override: finite-difference step; powers of two are exact in fixed point.")
DIRS = typer.Option(None, "--directions", "-k", help="Override: number of committed directions K.")
JSON = typer.Option(False, "--json", help="Machine-readable output.")
SRS = typer.Option(None, "--srs", help="SRS file (e.g. a ceremony file); default: a locally generated one (demo only).")
SCALE = typer.Option(None, "--input-scale", help="Override: fixed-point scale 2**s of the circuit; the commitments quantize at it, so commit and prove must agree.")
METRIC = typer.Option(None, "--metric", help="Override: certified metric, rds/v1 (directional sharpness / mean training loss) or ds/v1 (raw).")
DIRECTION = typer.Option(None, "--direction", help="Override: direction family, row-sign/v1 or rademacher-abs/v1.")
COMMITMENT = typer.Option(None, "--commitment", help="Override: commitment scheme, kzg/v1 (KZG-committed columns, no rows per input; zkcert commit sets up the circuit to make them) or poseidon/v1 (hashed in-circuit).")
COMMITTED = typer.Option(None, "--commitments", help="Commit folder written by `zkcert commit` before the nonce was issued: its salts and circuit are reused, and other commitments are refused.")
CHALLENGE = typer.Option(None, "--challenge", help="The held-out challenge the verifier issued (zkcert challenge new) after C_theta was published (claim heldout/v1).")
SHARD_SIZE = typer.Option(None, "--shard-size", help="Split the data into shards of this many samples: one proof each plus an aggregation proof.")


def load_inputs(model: Path, data: str, samples: int | None) -> tuple[nn.Module, Dataset]:
    """The model and data the user named (one-line InputError when either is bad)."""
    from ..data import load_data
    from ..models import load_model

    return load_model(model), load_data(data, samples=samples)


def read_salts(path: Path | None, *, sharded: bool | None) -> Salts | ShardSalts | None:
    """The salts file at path (None: fresh salts), of the kind `zkcert commit` writes.

    sharded True or False reads only shard salts or only whole-data salts, so a file of the other kind
    is a one-line error rather than silently re-read; None (audit) tells the kinds apart by their fields.
    """
    if path is None:
        return None
    obj = read_json(path, what="salts file")
    if sharded is None:
        sharded = isinstance(obj, dict) and "shards" in obj
    return ShardSalts.from_json(obj) if sharded else Salts.from_json(obj)


def chosen(statement: str, *, metric: str | None = None, direction: str | None = None, epsilon: float | None = None,
           directions: int | None = None, input_scale: int | None = None, commitment: str | None = None) -> Preset:
    """The --statement preset with the overrides the user gave."""
    from ..preset import preset

    return preset(statement, metric=metric, direction=direction, epsilon=epsilon, n_directions=directions,
                  input_scale=input_scale, commitment=commitment)


def print_json(obj: object) -> None:
    """Machine-readable output on stdout."""
    typer.echo(json.dumps(obj, indent=2, sort_keys=True, default=str))
