"""The verifier's challenge command: `zkcert challenge new` issues a held-out challenge (claim "heldout/v1")."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import app

challenge_app = typer.Typer(help="The verifier's held-out challenge (heldout/v1): issue it after the owner published C_theta.",
                            no_args_is_help=True)
app.add_typer(challenge_app, name="challenge")


@challenge_app.command("new")
def challenge_new(data: str = typer.Option(..., "--data", "-d", help="The pool: your own .npz (x, y), or a bundled dataset name (its --split)."),
                  samples: int = typer.Option(..., "--samples", "-n", help="How many distinct samples M to draw."),
                  out: Path = typer.Option(..., "--out", "-o", help="Challenge file to write (.npz); keep a copy to verify with."),
                  split: str = typer.Option("test", help="Split of a bundled pool (train, test, all)."),
                  nonce: str | None = typer.Option(None, help="The draw's nonce (default: a fresh random one; a public nonce makes a public draw).")) -> None:
    """Draw M samples from the pool by a fresh nonce; write the challenge and print its hash and nonce.

    Issue it only after the owner published its commitments (zkcert commit): a model trained on the challenge passes.
    """
    from ..data import load_data
    from ..heldout import Challenge
    from ..proving import check_output_folder

    check_output_folder(out)
    issued = Challenge.issue(load_data(data, split=split), samples, nonce=nonce)
    issued.save(out)
    typer.echo(f"wrote {out}: {len(issued)} samples, {issued.num_classes} classes\nchallenge sha256 {issued.sha256}\nnonce {issued.nonce}")
    typer.echo("hand it to the owner (zkcert prove --challenge) and keep your copy to verify with (zkcert verify --challenge)")
