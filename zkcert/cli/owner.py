"""The owner's commands: demo, measure, commit, prove."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ..commitments import KZG
from ..errors import InputError
from ._common import (
    COMMITMENT, DATA, DIRECTION, DIRS, EPS, JSON, METRIC, MODEL, NONCE, SALTS, SAMPLES, SCALE, SHARD_SIZE, SRS, app, console,
    err_console, load_inputs, named, print_json, read_salts,
)

if TYPE_CHECKING:  # annotations only
    from torch import nn

    from ..data import Dataset
    from ..proving import ProveResult

# Above this relative gap between the circuit's and the float value, prove warns (README, "What a
# certificate proves"): the proof stays valid, but its number is not the float metric's.
GAP_WARNING = 0.02


@app.command()
def demo(out: Path = typer.Option(Path("zkcert-demo-out"), help="Folder for the model and certificate."), srs: Path | None = SRS) -> None:
    """Train a small MLP on digits, commit, prove, verify, and print a summary."""
    from rich.table import Table

    from ..demo import run_demo

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
    steps = Table("step", "seconds", "peak RSS (MiB)")
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
    from ..api import measure as measure_
    from ..metric import METRIC_NAMES
    from ..threshold import suggest_threshold

    m, d = load_inputs(model, data, samples)
    suggestion = None if honest is None else suggest_threshold(_honest_values(honest), fpr=fpr)
    result = measure_(m, d, epsilon=epsilon, n_directions=directions, nonce=nonce, salts=read_salts(salts, sharded=False),
                      **named(metric, direction))
    if as_json:
        extra = {} if suggestion is None else {"suggested_threshold": suggestion.threshold, "fpr": fpr}
        print_json({**result.to_json(), **extra})
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
    from .._internal.io import atomic_write_json
    from ..api import commit as commit_
    from ..api import published_json

    m, d = load_inputs(model, data, samples)
    owner_salts = read_salts(salts, sharded=shard_size is not None)
    if owner_salts is not None and owner_salts.scheme == KZG:
        raise InputError("kzg/v1 commitments depend on the circuit's key and SRS: zkcert prove --commitment kzg/v1 makes and writes them")
    c = commit_(m, d, shard_size=shard_size, salts=owner_salts, input_scale=input_scale)
    public = published_json(c.data_commitment, c.model_commitment, c.shard_commitments if c.sharded else None)
    atomic_write_json(out / "commitments.json", public)
    atomic_write_json(out / "salts.json", c.saved_salts().to_json(), private=True)
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
          shard_size: str | None = typer.Option(None, "--shard-size", help="Split the data into shards of this many samples (one proof each plus an aggregation proof), or 'auto': the most that fit --max-memory (with 2 or 4 columns per row, unless --inner-cols is given)."),
          max_memory: float = typer.Option(12.0, "--max-memory", help="Memory budget per proof in GiB (2**30 bytes), for --shard-size auto."),
          commitment: str = COMMITMENT,
          inner_cols: int | None = typer.Option(None, "--inner-cols", help="ezkl columns per layout row (default 2): more columns, fewer rows and logrows, more memory per row."),
          workers: int | None = typer.Option(None, help="Shard proofs run at once in the local process pool (default: one per two cores)."),
          ray_address: str | None = typer.Option(None, help="Prove shards on this Ray cluster ('local' starts one here)."),
          work: Path | None = typer.Option(None, help="Private work folder of a sharded run, for resuming (default: OUT.work)."),
          sample: int | None = typer.Option(None, "--sample", help="Spot check: prove only this many shards, picked by a challenge from the commitments (needs --shard-size).")) -> None:
    """Prove directional sharpness <= T and write a certificate folder (nothing if the metric is above T)."""
    from ..challenge import check_sample_size
    from ..owner import shard_count

    if sample is not None and shard_size is None:
        raise InputError("--sample picks shards to prove: give --shard-size too")
    m, d = load_inputs(model, data, samples)
    owner_salts = read_salts(salts, sharded=shard_size is not None)
    size = _shard_size(shard_size)
    if isinstance(size, int):  # a bad shard or sample size is a one-line error, before any progress bar
        n_shards = shard_count(len(d), size)
        if sample is not None:
            check_sample_size(n_shards, sample)
    result = _prove_with_progress(
        m, d, threshold=threshold, shard_size=size, sample=sample, max_memory_gb=max_memory, out=out, epsilon=epsilon, n_directions=directions,
        nonce=nonce, salts=owner_salts, srs_path=srs, input_scale=input_scale, include_srs=include_srs,
        workers=workers, ray_address=ray_address, work_dir=work, commitment=commitment, inner_cols=inner_cols,
        **named(metric, direction))
    _print_proved(result, sharded=shard_size is not None, sampled=sample is not None, work=work or Path(f"{out}.work"))
    if commitment == KZG:
        _publish_kzg(result, Path(f"{out}.commitments.json"), Path(f"{out}.salts.json"))


def _publish_kzg(result: ProveResult, path: Path, salts_path: Path) -> None:
    """kzg/v1: the commitments exist only after setup, so prove writes the file the owner publishes (and the salts)."""
    from .._internal.io import atomic_write_json
    from ..api import published_json

    st = result.manifest.statement
    atomic_write_json(path, published_json(st.data_commitment, st.model_commitment, getattr(st, "shard_commitments", None)))
    if result.salts is not None:
        atomic_write_json(salts_path, result.salts.to_json(), private=True)
    typer.echo(f"wrote {path} (publish it: verifiers check the certificate against it) and {salts_path} (keep private)")


def _shard_size(text: str | None) -> int | str | None:
    """--shard-size: a positive number of samples, 'auto', or not given."""
    if text is None or text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise InputError(f"--shard-size {text!r} is neither a number of samples nor 'auto'") from None


def _prove_with_progress(m: nn.Module, d: Dataset, **kwargs: Any) -> ProveResult:
    """zkcert.prove with a spinner (one proof) or a progress bar over the shards."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..proving import prove as prove_

    if kwargs["shard_size"] is None:
        with console.status("proving") as status:
            return prove_(m, d, say=lambda msg: status.update(msg), **kwargs)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console) as bar:
        phase = bar.add_task("preparing", total=None)
        shards = bar.add_task("shards proved", total=None, visible=False)

        def tick(done: int, total: int) -> None:
            bar.update(shards, completed=done, total=total, visible=True)

        return prove_(m, d, say=lambda msg: bar.update(phase, description=msg), tick=tick, **kwargs)


def _print_proved(result: ProveResult, *, sharded: bool, sampled: bool, work: Path) -> None:
    """Where the certificate went, its values, and the gap warning."""
    rep = result.manifest.reported
    typer.echo(f"certificate written to {result.certificate}: {result.manifest.statement.describe()}")
    typer.echo(f"float metric {rep['float_metric']:.6g}, circuit value {rep['circuit_metric']}")
    if (gap := rep.get("relative_gap")) is not None and gap > GAP_WARNING:
        err_console.print(
            f"[yellow]warning:[/] the circuit's fixed-point value is {100 * gap:.1f} % from the float value: the certificate "
            "is about the fixed-point one. Small training losses and small eps make the numerator tiny; a larger "
            "--input-scale or --epsilon (e.g. --direction row-sign/v1 --directions 1 --epsilon 0.125) narrows it (README)",
            highlight=False)
    if sampled:
        typer.echo(f"challenged shards {[s['index'] for s in rep['shards']]}, worst float metric among them {rep['challenged_float_max']:.6g}")
    if sharded:
        typer.echo(f"work folder {work} keeps the private salts and shard proofs (for resuming); keep it private")
