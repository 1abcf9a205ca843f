"""The zkcert command line: argument parsing, one API call, output. Nothing else lives here."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from .errors import InputError, ZkcertError
from .statement import DEFAULT_DIRECTIONS, DEFAULT_EPSILON, DEFAULT_INPUT_SCALE

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


def _load(model: Path, data: str, samples: int | None):
    from .data import load_data
    from .models import load_model

    return load_model(model), load_data(data, samples=samples)


def _salts(path: Path | None):
    if path is None:
        return None
    from ._io import read_json
    from .commitments import Salts

    return Salts.from_json(read_json(path, what="salts file"))


def _shard_salts(path: Path | None):
    if path is None:
        return None
    from ._io import read_json
    from .shards import ShardSalts

    return ShardSalts.from_json(read_json(path, what="salts file"))


def _any_salts(path: Path):
    """Single-proof or shard salts, told apart by the file's fields."""
    from ._io import read_json
    from .commitments import Salts
    from .shards import ShardSalts

    obj = read_json(path, what="salts file")
    return ShardSalts.from_json(obj) if isinstance(obj, dict) and "shards" in obj else Salts.from_json(obj)


def _named(metric: str | None, direction: str | None) -> dict[str, str]:
    """The --metric and --direction the user gave (the API's defaults otherwise)."""
    return {k: v for k, v in (("metric", metric), ("direction", direction)) if v is not None}


def _print_json(obj: object) -> None:
    import json

    typer.echo(json.dumps(obj, indent=2, sort_keys=True, default=str))


MODEL = typer.Option(..., "--model", "-m", help="Model file written by zkcert.save_model (architecture + weights, no pickled code).")
DATA = typer.Option(..., "--data", "-d", help="Bundled dataset name (digits, mnist5k, cifar10) or an .npz with x and y.")
SAMPLES = typer.Option(None, "--samples", "-n", help="Use only the first N samples of the data.")
SALTS = typer.Option(None, "--salts", help="Private salts file written by `zkcert commit` (default: fresh salts).")
NONCE = typer.Option("", "--nonce", help="Public nonce mixed into the direction seed (ask the verifier for one).")
EPS = typer.Option(DEFAULT_EPSILON, "--epsilon", "-e", help="Finite-difference step; powers of two are exact in fixed point.")
DIRS = typer.Option(DEFAULT_DIRECTIONS, "--directions", "-k", help="Number of committed directions K.")
JSON = typer.Option(False, "--json", help="Machine-readable output.")
SRS = typer.Option(None, "--srs", help="SRS file (e.g. a ceremony file); default: a locally generated one (demo only).")
SCALE = typer.Option(DEFAULT_INPUT_SCALE, "--input-scale", help="Fixed-point scale 2**s of the circuit; the commitments quantize at it, so commit and prove must agree.")
METRIC = typer.Option(None, "--metric", help="Certified metric: rds/v1 (directional sharpness / mean training loss) or ds/v1 (raw); default: zkcert's.")
DIRECTION = typer.Option(None, "--direction", help="Direction family: rademacher-abs/v1 or row-sign/v1; default: zkcert's.")
SHARD_SIZE = typer.Option(None, "--shard-size", help="Split the data into shards of this many samples: one proof each plus an aggregation proof.")


@app.command()
def demo(out: Path = typer.Option(Path("zkcert-demo-out"), help="Folder for the model and certificate."), srs: Path | None = SRS) -> None:
    """Train a small MLP on digits, commit, prove, verify, and print a summary."""
    from rich.table import Table

    from .demo import run_demo

    with console.status("starting") as status:
        result = run_demo(out, progress=lambda m: status.update(m), srs_path=str(srs) if srs else None)
    console.print(f"[bold green]certificate verified[/]: {result.verification.statement}")
    summary = Table(show_header=False, box=None)
    gap = "n/a" if result.relative_gap is None else f"{100 * result.relative_gap:.2f} %"
    for key, value in [
        ("model accuracy (train / test)", f"{result.train_accuracy:.3f} / {result.test_accuracy:.3f}"),
        (f"float value ({result.metric})", f"{result.float_metric:.5f}"),
        ("circuit (fixed-point) value", f"{result.circuit_metric:.5f}  (gap {gap})"),
        ("threshold T", f"{result.threshold:g}"),
        ("data commitment C_D", result.data_commitment),
        ("model commitment C_theta", result.model_commitment),
        ("circuit logrows", str(result.logrows)),
        ("certificate", str(result.certificate)),
    ]:
        summary.add_row(key, value)
    console.print(summary)
    steps = Table("step", "seconds", "peak RSS (MB)")
    for s in result.steps:
        steps.add_row(str(s["step"]), f"{s['seconds']:.2f}", f"{s['peak_rss_mb']:.0f}")
    console.print(steps)
    for w in result.verification.warnings:
        err_console.print(f"[yellow]warning:[/] {w}")


def _honest_values(path: Path) -> list[float]:
    """One value a line, or a CSV with a `ds` column."""

    if not path.is_file():
        raise InputError(f"honest-values file not found: {path}")
    lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    try:
        if lines and "," in lines[0]:
            header = lines[0].split(",")
            if "ds" not in header:
                raise InputError(f"{path} is a CSV without a 'ds' column")
            col = header.index("ds")
            return [float(ln.split(",")[col]) for ln in lines[1:]]
        return [float(ln) for ln in lines]
    except ValueError as exc:
        raise InputError(f"{path} holds a value that is not a number ({exc})") from None


@app.command()
def measure(model: Path = MODEL, data: str = DATA, samples: int | None = SAMPLES, epsilon: float = EPS,
            directions: int = DIRS, nonce: str = NONCE, salts: Path | None = SALTS, as_json: bool = JSON,
            metric: str | None = METRIC, direction: str | None = DIRECTION,
            honest: Path | None = typer.Option(None, help="Directional sharpness of honest reference models (one a line, or CSV with a ds column), same architecture, data, K and eps: suggests T."),
            fpr: float = typer.Option(0.05, help="False-positive rate for the suggested threshold.")) -> None:
    """The float metric along the committed direction (fast, no proof)."""
    from .api import measure as measure_
    from .metric import METRIC_NAMES

    m, d = _load(model, data, samples)
    suggestion = None
    if honest is not None:
        from .threshold import suggest_threshold

        suggestion = suggest_threshold(_honest_values(honest), fpr=fpr)
    result = measure_(m, d, epsilon=epsilon, n_directions=directions, nonce=nonce, salts=_salts(salts), **_named(metric, direction))
    if as_json:
        extra = {} if suggestion is None else {"suggested_threshold": suggestion.threshold, "fpr": fpr}
        _print_json({**result.to_json(), **extra})
        return
    typer.echo(f"{METRIC_NAMES[result.metric]} {result.value:.6g} ({result.metric}, {result.direction}, eps={epsilon:g}, "
               f"K={directions}, N={len(d)}; mean training loss {result.mean_loss:.4g})")
    if suggestion is not None:
        typer.echo(suggestion.describe())
        where = "below" if result.value <= suggestion.threshold else "ABOVE"
        typer.echo(f"this model: {result.metric} = {result.value:.6g}, {where} the suggested T")


@app.command()
def commit(model: Path = MODEL, data: str = DATA, samples: int | None = SAMPLES,
           out: Path = typer.Option(Path("commitments"), help="Folder for commitments.json (public) and salts.json (private)."),
           salts: Path | None = SALTS, shard_size: int | None = SHARD_SIZE, input_scale: int = SCALE) -> None:
    """Compute and write the commitments the owner publishes before proving."""
    from ._io import atomic_write_json
    from .api import commit as commit_
    from .api import published_json

    m, d = _load(model, data, samples)
    if shard_size is not None:
        from .shards import plan_shards

        plan = plan_shards(m, d, shard_size=shard_size, threshold=0.0, salts=_shard_salts(salts), input_scale=input_scale)
        public = published_json(plan.data_commitment, plan.model_commitment, plan.shard_commitments)
        salt_json = plan.salts.to_json()
    else:
        commitments, salt = commit_(m, d, salts=_salts(salts), input_scale=input_scale)
        public, salt_json = published_json(commitments.data, commitments.model), salt.to_json()
    atomic_write_json(out / "commitments.json", public)
    atomic_write_json(out / "salts.json", salt_json, private=True)
    typer.echo(f"data commitment  {public['data_commitment']}\nmodel commitment {public['model_commitment']}")
    typer.echo(f"wrote {out / 'commitments.json'} (publish: verifiers check certificates against it) and {out / 'salts.json'} (keep private)")


@app.command()
def prove(model: Path = MODEL, data: str = DATA, samples: int | None = SAMPLES,
          threshold: float = typer.Option(..., "--threshold", "-t", help="Public threshold T."),
          epsilon: float = EPS, directions: int = DIRS, nonce: str = NONCE, salts: Path | None = SALTS,
          metric: str | None = METRIC, direction: str | None = DIRECTION,
          out: Path = typer.Option(..., "--out", "-o", help="Certificate folder to write."),
          srs: Path | None = SRS, input_scale: int = SCALE,
          include_srs: bool = typer.Option(False, help="Ship the SRS in the certificate (verifiers are warned)."),
          shard_size: int | None = SHARD_SIZE,
          workers: int | None = typer.Option(None, help="Shard proofs run at once in the local process pool (default: one per two cores)."),
          ray_address: str | None = typer.Option(None, help="Prove shards on this Ray cluster ('local' starts one here)."),
          work: Path | None = typer.Option(None, help="Private work folder of a sharded run, for resuming (default: OUT.work)."),
          sample: int | None = typer.Option(None, "--sample", help="Spot check: prove only this many shards, picked by a challenge from the commitments (needs --shard-size).")) -> None:
    """Prove directional sharpness <= T and write a certificate folder (nothing if the metric is above T)."""
    from .prover import prove as prove_

    if sample is not None and shard_size is None:
        raise InputError("--sample picks shards to prove: give --shard-size too")
    m, d = _load(model, data, samples)
    if shard_size is not None:
        result = _prove_sharded(m, d, threshold=threshold, shard_size=shard_size, out=out, epsilon=epsilon,
                                n_directions=directions, nonce=nonce, salts=_shard_salts(salts), srs_path=srs,
                                input_scale=input_scale, include_srs=include_srs, workers=workers,
                                ray_address=ray_address, work_dir=work, sample=sample, **_named(metric, direction))
    else:
        result = _prove_single(prove_, m, d, threshold=threshold, out=out, epsilon=epsilon, n_directions=directions,
                               nonce=nonce, salts=_salts(salts), srs_path=srs, input_scale=input_scale,
                               include_srs=include_srs, **_named(metric, direction))
    rep = result.manifest.reported
    typer.echo(f"certificate written to {result.certificate}: {result.manifest.statement.describe()}")
    typer.echo(f"float metric {rep['float_metric']:.6g}, circuit value {rep['circuit_metric']}")
    if (gap := rep.get("relative_gap")) is not None and gap > GAP_WARNING:
        err_console.print(
            f"[yellow]warning:[/] the circuit's fixed-point value is {100 * gap:.1f} % from the float value: the certificate "
            "is about the fixed-point one. Small training losses and small eps make the numerator tiny; a larger "
            "--input-scale or --epsilon (e.g. --direction row-sign/v1 --directions 1 --epsilon 0.125) narrows it (README)",
            highlight=False)
    if sample is not None:
        typer.echo(f"challenged shards {[s['index'] for s in rep['shards']]}, worst float metric among them {rep['challenged_float_max']:.6g}")
    if shard_size is not None:
        typer.echo(f"work folder {work or Path(f'{out}.work')} keeps the private salts and shard proofs (for resuming); keep it private")


# Above this relative gap between the circuit's and the float value, prove warns (README, "What a
# certificate proves"): the proof stays valid, but its number is not the float metric's.
GAP_WARNING = 0.02


def _prove_single(prove_, m, d, **kwargs):
    with console.status("proving") as status:
        return prove_(m, d, progress=lambda msg: status.update(msg), **kwargs)


def _prove_sharded(m, d, **kwargs):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .sampling import check_sample_size
    from .shards import prove_sharded, shard_count

    # A bad shard or sample size is a one-line error, before any progress bar.
    n_shards = shard_count(len(d), kwargs["shard_size"])
    if kwargs["sample"] is not None:
        check_sample_size(n_shards, kwargs["sample"])
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console) as bar:
        phase = bar.add_task("preparing", total=None)
        shards = bar.add_task("shards proved", total=None, visible=False)

        def tick(done: int, total: int) -> None:
            bar.update(shards, completed=done, total=total, visible=True)

        return prove_sharded(m, d, say=lambda msg: bar.update(phase, description=msg), tick=tick, **kwargs)


PUBLISHED = typer.Option(None, "--published", help="The commitments.json the owner published (`zkcert commit`): C_D and C_theta.")
ISSUED_NONCE = typer.Option(None, "--nonce", help="The nonce you issued to the owner ('' if you told them to use none).")
ALLOW_UNTRUSTED = typer.Option(False, "--allow-untrusted-srs", help="Accept an SRS you did not give (the prover's or the certificate's): forgeable; tests and demos only.")
UNANCHORED = typer.Option(False, "--unanchored", help="Check without the published values: says CONSISTENT (unanchored), never VERIFIED, exit 6.")
TRUSTED_SRS = typer.Option(None, "--srs", help="The SRS you trust: a ceremony file, or the one you issued (`zkcert srs new`).")


def _anchors(published: Path | None, data_commitment: str | None, model_commitment: str | None) -> dict[str, str | None]:
    """C_D and C_theta from --published and/or the explicit options (which must agree)."""
    from .api import read_published

    given = {"data_commitment": data_commitment, "model_commitment": model_commitment}
    if published is None:
        return given
    anchors: dict[str, str | None] = dict(read_published(published))
    for key, value in given.items():
        if value is not None and value.lower() != str(anchors[key]).lower():
            raise InputError(f"--{key.replace('_', '-')} {value} differs from {published}'s {anchors[key]}")
    return anchors


def _verification_failed(exc: Exception, as_json: bool) -> None:
    """With --json, a failure is a JSON object too (the failed check and the exit code); else main prints one line."""
    from .errors import MissingAnchors

    if not as_json or not isinstance(exc, ZkcertError):
        raise exc
    _print_json({"ok": False, "status": "failed", "failed_check": getattr(exc, "check", None), "error": str(exc),
                 "exit_code": exc.exit_code, **({"missing": list(exc.missing)} if isinstance(exc, MissingAnchors) else {})})
    raise typer.Exit(exc.exit_code)


def _report(result, as_json: bool, word: str, extra: dict | None = None) -> None:
    """VERIFIED (exit 0), or CONSISTENT (unanchored) naming what was not checked (exit 6); warnings on stderr."""
    code = 0 if result.anchored else UNANCHORED_EXIT
    if as_json:
        _print_json({**result.to_json(), **(extra or {}), "exit_code": code})
    elif result.anchored:
        typer.echo(f"{word}: {result.statement}")
    else:
        skipped = ", ".join(c for c in result.not_checked if c != "srs-trust")
        typer.echo(f"CONSISTENT (unanchored): {result.statement}; not checked against published values: {skipped}")
    if not as_json:
        for w in result.warnings:
            err_console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False, soft_wrap=True)
    if code:
        raise typer.Exit(code)


# `verify --unanchored` on a certificate that passed every check it could make (README, "Exit codes").
UNANCHORED_EXIT = 6


@app.command()
def verify(certificate: Path = typer.Argument(..., help="Certificate folder."),
           published: Path | None = PUBLISHED,
           data_commitment: str | None = typer.Option(None, help="The data commitment the owner published (or --published)."),
           model_commitment: str | None = typer.Option(None, help="The model commitment the owner published (or --published)."),
           nonce: str | None = ISSUED_NONCE, srs: Path | None = TRUSTED_SRS, allow_untrusted_srs: bool = ALLOW_UNTRUSTED,
           unanchored: bool = UNANCHORED,
           rebuild_key: bool = typer.Option(False, help="Rebuild the verifying key even if a fingerprint is pinned."),
           as_json: bool = JSON) -> None:
    """Check a certificate against the published commitments, the nonce you issued and the SRS you trust.

    Exit 0 VERIFIED; 1 a failed check (named); 3 bad input; 4 an SRS you did not give; 5 missing
    published values; 6 CONSISTENT (unanchored). The model commitment is salted with the owner's
    private salt, so it cannot be recomputed from a public model file: give the published value.
    """
    from .verifier import verify as verify_

    try:
        anchors = _anchors(published, data_commitment, model_commitment)
        result = verify_(certificate, **anchors, nonce=nonce, srs_path=srs, allow_untrusted_srs=allow_untrusted_srs,
                         unanchored=unanchored, rebuild_key=rebuild_key)
    except ZkcertError as exc:
        _verification_failed(exc, as_json)
    _report(result, as_json, "VERIFIED")


@app.command()
def audit(certificate: Path = typer.Argument(..., help="Certificate folder."), model: Path = MODEL, data: str = DATA,
          samples: int | None = SAMPLES, salts: Path = typer.Option(..., "--salts", help="The owner's salts file (single or sharded)."),
          nonce: str | None = ISSUED_NONCE, srs: Path | None = TRUSTED_SRS, allow_untrusted_srs: bool = ALLOW_UNTRUSTED,
          unanchored: bool = UNANCHORED, as_json: bool = JSON) -> None:
    """Verify a certificate against commitments recomputed from the model and data you hold, and recompute its metric."""
    from .api import audit as audit_

    try:
        m, d = _load(model, data, samples)
        result = audit_(certificate, m, d, salts=_any_salts(salts), nonce=nonce, srs_path=srs,
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
    from .circuit import compile_spec, keys_for, vk_fingerprint
    from .srs import resolve_srs
    from .statement import load_spec, standard_spec
    from .verifier import pin_fingerprint

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
    from .srs import new_srs

    with console.status(f"generating an SRS for 2**{logrows} rows"):
        made = new_srs(logrows, out)
    typer.echo(f"wrote {made.path} (sha256 {made.sha256})")
    typer.echo("hand a copy to the owner (zkcert prove --srs) and keep yours to verify with (zkcert verify --srs)")


def _register_subapps() -> None:
    """Attach the command groups that live in their own modules."""
    from .robustness.cli import app as robust_app

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
        if _state["verbose"]:
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


if __name__ == "__main__":
    sys.exit(main())
