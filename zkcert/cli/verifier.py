"""The verifier's and auditor's commands: verify, audit, keys, srs new."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.markup import escape

from ..errors import InputError, ZkcertError
from ._common import DATA, JSON, MODEL, SAMPLES, SRS, app, console, err_console, load_inputs, print_json, read_salts

if TYPE_CHECKING:  # annotations only
    from ..verification import VerificationResult

PUBLISHED = typer.Option(None, "--published", help="The commitments.json the owner published (`zkcert commit`): C_D and C_theta.")
ISSUED_NONCE = typer.Option(None, "--nonce", help="The nonce you issued to the owner ('' if you told them to use none).")
ALLOW_UNTRUSTED = typer.Option(False, "--allow-untrusted-srs", help="Accept an SRS you did not give (the prover's or the certificate's): forgeable; tests and demos only.")
UNANCHORED = typer.Option(False, "--unanchored", help="Check without the published values: says CONSISTENT (unanchored), never VERIFIED, exit 6.")
TRUSTED_SRS = typer.Option(None, "--srs", help="The SRS you trust: a ceremony file, or the one you issued (`zkcert srs new`).")
# `verify --unanchored` on a certificate that passed every check it could make (README, "Exit codes").
UNANCHORED_EXIT = 6


def _anchors(published: Path | None, data_commitment: str | None, model_commitment: str | None) -> dict[str, str | None]:
    """C_D and C_theta from --published and/or the explicit options (which must agree)."""
    from ..api import read_published

    given = {"data_commitment": data_commitment, "model_commitment": model_commitment}
    if published is None:
        return given
    anchors: dict[str, str | None] = dict(read_published(published))
    for key, value in given.items():
        if value is not None and value.lower() != str(anchors[key]).lower():
            raise InputError(f"--{key.replace('_', '-')} {value} differs from {published}'s {anchors[key]}")
    return anchors


def _issued_challenge(path: Path) -> dict[str, object]:
    """The verifier's anchor for a heldout/v1 claim: its own copy of the challenge (refused if edited after issue)."""
    from ..heldout import HELDOUT, Challenge

    return {HELDOUT: Challenge.load(path)}


def _verification_failed(exc: ZkcertError, as_json: bool) -> NoReturn:
    """With --json, a failure is a JSON object too (the failed check and the exit code); else main prints one line."""
    from ..errors import MissingAnchors

    if not as_json:
        raise exc
    print_json({"ok": False, "status": "failed", "failed_check": getattr(exc, "check", None), "error": str(exc),
                "exit_code": exc.exit_code, **({"missing": list(exc.missing)} if isinstance(exc, MissingAnchors) else {})})
    raise typer.Exit(exc.exit_code)


def _report(result: VerificationResult, as_json: bool, word: str, extra: dict | None = None) -> None:
    """VERIFIED (exit 0), or CONSISTENT (unanchored) naming what was not checked (exit 6); warnings on stderr."""
    code = 0 if result.anchored else UNANCHORED_EXIT
    if as_json:
        print_json({**result.to_json(), **(extra or {}), "exit_code": code})
    elif result.anchored:
        typer.echo(f"{word}: {result.statement}")
    else:
        skipped = ", ".join(c for c in result.not_checked if c != "srs-trust")
        typer.echo(f"CONSISTENT (unanchored): {result.statement}; not checked against published values: {skipped}")
    if not as_json:
        for claim in result.claims:
            typer.echo(f"  {claim.text}" + ("" if claim.anchored else f" (not checked: {', '.join(claim.not_checked)})"))
            v = claim.values
            if "accuracy" in v:
                line = f"  certified challenge accuracy {100 * v['accuracy']:.2f} % ({v['correct']} of {v['samples']})"
                if "gap" in v:
                    line += f"; certified training accuracy {100 * v['train_accuracy']:.2f} %, gap {100 * v['gap']:+.2f} points"
                typer.echo(line)
        for w in result.warnings:
            err_console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False, soft_wrap=True)
    if code:
        raise typer.Exit(code)


@app.command()
def verify(certificate: Path = typer.Argument(..., help="Certificate folder."),
           published: Path | None = PUBLISHED,
           data_commitment: str | None = typer.Option(None, help="The data commitment the owner published (or --published)."),
           model_commitment: str | None = typer.Option(None, help="The model commitment the owner published (or --published)."),
           nonce: str | None = ISSUED_NONCE, srs: Path | None = TRUSTED_SRS, allow_untrusted_srs: bool = ALLOW_UNTRUSTED,
           unanchored: bool = UNANCHORED,
           rebuild_key: bool = typer.Option(False, help="Rebuild the verifying key even if a fingerprint is pinned."),
           challenge: Path | None = typer.Option(None, "--challenge", help="Your copy of the held-out challenge you issued (zkcert challenge new): checks the certificate's heldout/v1 claim."),
           as_json: bool = JSON) -> None:
    """Check a certificate against the published commitments, the nonce you issued and the SRS you trust.

    Exit 0 VERIFIED; 1 a failed check (named); 3 bad input; 4 an SRS you did not give; 5 missing
    published values; 6 CONSISTENT (unanchored). The model commitment is salted with the owner's
    private salt, so it cannot be recomputed from a public model file: give the published value.
    """
    from ..verification import verify as verify_

    try:
        anchors = _anchors(published, data_commitment, model_commitment)
        claims = {} if challenge is None else _issued_challenge(challenge)
        result = verify_(certificate, **anchors, nonce=nonce, srs_path=srs, allow_untrusted_srs=allow_untrusted_srs,
                         unanchored=unanchored, rebuild_key=rebuild_key, claims=claims)
    except ZkcertError as exc:
        _verification_failed(exc, as_json)
    _report(result, as_json, "VERIFIED")


@app.command()
def audit(certificate: Path = typer.Argument(..., help="Certificate folder."), model: Path = MODEL, data: str = DATA,
          samples: int | None = SAMPLES, salts: Path = typer.Option(..., "--salts", help="The owner's salts file (single or sharded)."),
          nonce: str | None = ISSUED_NONCE, srs: Path | None = TRUSTED_SRS, allow_untrusted_srs: bool = ALLOW_UNTRUSTED,
          unanchored: bool = UNANCHORED, as_json: bool = JSON) -> None:
    """Verify a certificate against commitments recomputed from the model and data you hold, and recompute its metric."""
    from ..api import audit as audit_

    try:
        m, d = load_inputs(model, data, samples)
        result = audit_(certificate, m, d, salts=read_salts(salts, sharded=None), nonce=nonce, srs_path=srs,
                        allow_untrusted_srs=allow_untrusted_srs, unanchored=unanchored)
    except ZkcertError as exc:
        _verification_failed(exc, as_json)
    _report(result.verification, as_json, "AUDITED", {"audited_float_metric": result.float_metric,
                                                      "reported_float_metric": result.reported_float_metric})
    if not as_json:
        typer.echo(f"recomputed float metric {result.float_metric:.6g}")


@app.command()
def keys(spec: str = typer.Argument(..., help="Standard spec name in circuits/ (e.g. demo) or a spec JSON file."),
         srs: Path | None = SRS, pin: bool = typer.Option(False, help="Record the fingerprint in circuits/fingerprints.json.")) -> None:
    """Build the verifying key of a statement spec for an SRS and print (or pin) its fingerprint."""
    from ..circuit import compile_spec, keys_for, vk_fingerprint
    from ..spec import load_spec, standard_spec
    from ..srs import resolve_srs
    from ..verification import pin_fingerprint

    if pin and srs is None:
        raise InputError("--pin records a fingerprint verifiers rely on: give the ceremony SRS with --srs (a locally generated one is forgeable)")
    circuit_spec = load_spec(spec) if spec.endswith(".json") else standard_spec(spec)
    the_srs = resolve_srs(circuit_spec.logrows or 0, srs)
    with console.status("building keys"):
        vk, _pk = keys_for(compile_spec(circuit_spec), the_srs)
    fingerprint = vk_fingerprint(vk)
    typer.echo(f"spec {circuit_spec.digest()}\nsrs  {the_srs.sha256}{' (locally generated)' if the_srs.locally_generated else ''}\nvk   {fingerprint}")
    if pin:
        pin_fingerprint(circuit_spec.digest(), the_srs.sha256, fingerprint)
        typer.echo("pinned in circuits/fingerprints.json")


srs_app = typer.Typer(help="The verifier's SRS: issue one (KZG is sound for whoever generated the SRS and discarded its secret).",
                      no_args_is_help=True)
app.add_typer(srs_app, name="srs")


@srs_app.command("new")
def srs_new(logrows: int = typer.Option(..., "--logrows", "-k", help="Circuits of up to 2**K rows (the statement's logrows; one SRS serves smaller ones)."),
            out: Path = typer.Option(..., "--out", "-o", help="SRS file to write (never overwritten).")) -> None:
    """The verifier's step: generate an SRS, hand a copy to the owner, verify with it (--srs).

    ezkl.gen_srs draws the secret and discards it, so nobody can forge a proof against this SRS;
    the owner proves with `zkcert prove --srs FILE` and you verify with `zkcert verify --srs FILE`.
    """
    from ..srs import new_srs

    with console.status(f"generating an SRS for 2**{logrows} rows"):
        made = new_srs(logrows, out)
    typer.echo(f"wrote {made.path} (sha256 {made.sha256})")
    typer.echo("hand a copy to the owner (zkcert prove --srs) and keep yours to verify with (zkcert verify --srs)")
