"""The owner's commands: demo, measure, commit, prove."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ..commitments import KZG
from ..errors import InputError
from ._common import (
    CHALLENGE, COMMITMENT, COMMITTED, DATA, DIRECTION, DIRS, EPS, JSON, METRIC, MODEL, NONCE, SALTS, SAMPLES, SCALE, SHARD_SIZE, SRS, STATEMENT,
    app, chosen, console, err_console, load_inputs, print_json, read_salts,
)

if TYPE_CHECKING:  # annotations only
    from torch import nn

    from ..data import Dataset
    from ..proving import ProveResult

# Above this relative gap between the circuit's and the float value, prove warns (README, "What a
# certificate proves"): the proof stays valid, but its number is not the float metric's.
GAP_WARNING = 0.02


@app.command()
def demo(out: Path = typer.Option(Path("zkcert-demo-out"), help="Folder for the model and certificate."), srs: Path | None = SRS,
         as_json: bool = JSON) -> None:
    """Train a small MLP on digits, commit, prove, verify, and print a summary."""
    from rich.table import Table

    from ..demo import run_demo

    with (err_console if as_json else console).status("starting") as status:  # --json: stdout holds the JSON alone
        result = run_demo(out, progress=lambda m: status.update(m), srs_path=str(srs) if srs else None)
    if as_json:
        print_json(result.to_json())
        return
    console.print(f"[bold green]certificate verified[/]: {result.verification.statement}")
    summary = Table(show_header=False, box=None)
    gap = "n/a" if result.relative_gap is None else f"{100 * result.relative_gap:.2f} %"
    for key, value in [
        ("model accuracy (train / test)", f"{result.train_accuracy:.3f} / {result.test_accuracy:.3f}"),
        ("certified training accuracy", f"{result.verification.train_correct} of {result.n_samples} committed samples"),
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
def statements() -> None:
    """List the named statement presets (--statement)."""
    from ..preset import PRESETS

    for p in PRESETS.values():
        typer.echo(f"{p.describe()}\n    {p.about}")


@app.command()
def measure(model: Path = MODEL, data: str = DATA, samples: int | None = SAMPLES, statement: str = STATEMENT,
            epsilon: float | None = EPS, directions: int | None = DIRS, metric: str | None = METRIC, direction: str | None = DIRECTION,
            input_scale: int | None = SCALE, commitment: str | None = COMMITMENT, nonce: str = NONCE, salts: Path | None = SALTS,
            commitments: Path | None = COMMITTED, as_json: bool = JSON, challenge: Path | None = CHALLENGE,
            honest: Path | None = typer.Option(None, help="The metric of honest reference models (one a line, or CSV with a ds column), same architecture, data, K and eps: suggests T."),
            fpr: float = typer.Option(0.05, help="False-positive rate for the suggested threshold.")) -> None:
    """The float metric along the committed direction (fast, no proof); before commitments exist, its spread over draws."""
    from ..api import measure as measure_
    from ..metric import METRIC_NAMES
    from ..published import Published
    from ..threshold import suggest_threshold

    st = chosen(statement, metric=metric, direction=direction, epsilon=epsilon, directions=directions, input_scale=input_scale,
                commitment=commitment)
    m, d = load_inputs(model, data, samples)
    suggestion = None if honest is None else suggest_threshold(_honest_values(honest), fpr=fpr)
    published = Published.load(commitments) if commitments is not None else None
    reference = None if challenge is None else _heldout_job(challenge, m).reference()
    result = measure_(m, d, statement=st, nonce=nonce, salts=read_salts(salts, sharded=False), published=published)
    if as_json:
        extra = {} if suggestion is None else {"suggested_threshold": suggestion.threshold, "fpr": fpr}
        print_json({**result.to_json(), **extra, **({"challenge": reference.to_json()} if reference else {})})
        return
    head = f"{METRIC_NAMES[st.metric]} {result.value:.6g}"
    if not result.exact:
        head += (f" (median over {result.draws} directions; 10-90 %: {result.spread[0]:.6g} to {result.spread[1]:.6g}: the "  # type: ignore[index]
                 "certified value is one draw, fixed once commitments exist: zkcert commit, then measure --commitments)")
    typer.echo(f"{head}\n  statement {st.describe()}, N={len(d)}; mean training loss {result.mean_loss:.4g}")
    if reference is not None:
        typer.echo(f"challenge (float reference): {reference.correct} of {reference.n_samples} correct "
                   f"({100 * reference.accuracy:.2f} %), summed loss {reference.loss_sum:.6g}")
    if suggestion is not None:
        typer.echo(suggestion.describe())
        where = "below" if result.value <= suggestion.threshold else "ABOVE"
        typer.echo(f"this model: {st.metric} = {result.value:.6g}, {where} the suggested T")


@app.command()
def commit(model: Path = MODEL, data: str = DATA, samples: int | None = SAMPLES, statement: str = STATEMENT,
           threshold: float | None = typer.Option(None, "--threshold", "-t", help="Public threshold T (kzg/v1: the circuit's key, which makes the commitments, fixes it)."),
           epsilon: float | None = EPS, directions: int | None = DIRS, metric: str | None = METRIC, direction: str | None = DIRECTION,
           input_scale: int | None = SCALE, commitment: str | None = COMMITMENT,
           out: Path = typer.Option(Path("commitments"), help="Commit folder: commitments.json (publish), salts.json (keep private), spec.json (kzg/v1)."),
           salts: Path | None = SALTS, shard_size: str | None = SHARD_SIZE, srs: Path | None = SRS,
           max_memory: float = typer.Option(12.0, "--max-memory", help="Memory budget per proof in GiB, for sizing shards (kzg/v1).")) -> None:
    """Commit to the model and data before the verifier issues a nonce; publish OUT/commitments.json."""
    from ..api import commit as commit_
    from ..proving import Execution, check_output_folder

    check_output_folder(out)  # before minutes of calibration and setup (kzg/v1)
    st = chosen(statement, metric=metric, direction=direction, epsilon=epsilon, directions=directions, input_scale=input_scale,
                commitment=commitment)
    m, d = load_inputs(model, data, samples)
    size = _shard_size(shard_size)
    owner_salts = read_salts(salts, sharded=size is not None and size != "all")
    execution = Execution(shard_size=size, max_memory_gb=max_memory)
    with console.status("committing") as status:
        published = commit_(m, d, statement=st, threshold=threshold, shard_size=size if isinstance(size, int) else None,
                            salts=owner_salts, srs_path=srs, execution=execution, say=lambda msg: status.update(msg))
    published.save(out)
    typer.echo(f"data commitment  {published.data_commitment}\nmodel commitment {published.model_commitment}")
    typer.echo(f"wrote {out}/commitments.json (publish it, then ask the verifier for a nonce) and {out}/salts.json (keep private)")


@app.command()
def prove(model: Path = MODEL, data: str = DATA, samples: int | None = SAMPLES,
          threshold: float = typer.Option(..., "--threshold", "-t", help="Public threshold T."),
          out: Path = typer.Option(..., "--out", "-o", help="Certificate folder to write."),
          statement: str = STATEMENT, epsilon: float | None = EPS, directions: int | None = DIRS, metric: str | None = METRIC,
          direction: str | None = DIRECTION, input_scale: int | None = SCALE, commitment: str | None = COMMITMENT,
          nonce: str = NONCE, commitments: Path | None = COMMITTED, salts: Path | None = SALTS, srs: Path | None = SRS,
          include_srs: bool = typer.Option(False, help="Ship the SRS in the certificate (verifiers are warned)."),
          shard_size: str | None = typer.Option(None, "--shard-size", help="Samples per proof: a number (shards, each proved, plus an aggregation proof), 'auto' (the most that fit --max-memory) or 'all' (one proof). Default: one proof if it fits --max-memory, else auto."),
          max_memory: float = typer.Option(12.0, "--max-memory", help="Memory budget per proof in GiB (2**30 bytes)."),
          inner_cols: int | None = typer.Option(None, "--inner-cols", help="ezkl columns per layout row (default 2, or as sized): more columns, fewer rows and logrows, more memory per row."),
          workers: int | None = typer.Option(None, help="Proofs run at once in the local process pool (default: one shard per two cores; claim proofs as many as cores and --max-memory hold)."),
          ray_address: str | None = typer.Option(None, help="Prove shards on this Ray cluster ('local' starts one here)."),
          work: Path | None = typer.Option(None, help="Private work folder of a sharded run, for resuming (default: OUT.work)."),
          sample: int | None = typer.Option(None, "--sample", help="Spot check: prove only this many shards, picked by a challenge from the commitments."),
          challenge: Path | None = CHALLENGE,
          min_correct: int | None = typer.Option(None, "--min-correct", help="With --challenge: the A claimed (correct >= A; default: the circuit's count)."),
          challenge_block: int | None = typer.Option(None, "--challenge-block", help="With --challenge: challenge samples per held-out proof (default: one proof, or under kzg/v1 the most that fit the committed circuit)."),
          resilience: str | None = typer.Option(None, "--resilience", help="Also prove the resilience claim (resilience/v1) at degree e with Q seeded neighbours per sample, given as E:Q (e.g. 0.1:4).")) -> None:
    """Prove the statement (metric <= T) and write a certificate folder (nothing if the metric is above T)."""
    from ..challenge import check_sample_size
    from ..owner import shard_count
    from ..proving import Execution
    from ..published import Published

    st = chosen(statement, metric=metric, direction=direction, epsilon=epsilon, directions=directions, input_scale=input_scale,
                commitment=commitment)
    published = Published.load(commitments) if commitments is not None else None
    size = _shard_size(shard_size)
    execution = Execution(shard_size=size, sample=sample, max_memory_gb=max_memory, inner_cols=inner_cols, workers=workers,
                          ray_address=ray_address, work_dir=work)
    m, d = load_inputs(model, data, samples)
    claims = [] if challenge is None else [_heldout_job(challenge, m, min_correct, challenge_block)]
    if resilience is not None:
        claims.append(_resilience_job(resilience, d))
    owner_salts = None if published is not None else read_salts(salts, sharded=isinstance(size, int))
    if isinstance(size, int):  # a bad shard or sample size is a one-line error, before any progress bar
        n_shards = shard_count(len(d), size)
        if sample is not None:
            check_sample_size(n_shards, sample)
    result = _prove_with_progress(m, d, threshold=threshold, out=out, statement=st, nonce=nonce, salts=owner_salts,
                                  published=published, srs_path=srs, include_srs=include_srs, execution=execution, claims=claims)
    _print_proved(result, work=work or Path(f"{out}.work"))
    if st.commitment == KZG and published is None:
        _publish_kzg(result, Path(f"{out}.commitments"))


def _heldout_job(path: Path, model: nn.Module, min_correct: int | None = None, block: int | None = None) -> Any:
    """The held-out claim for --challenge, checked against the model before anything is proved (one line if it does not fit)."""
    from ..heldout import Challenge, HeldoutJob

    return HeldoutJob(Challenge.load(path), model, min_correct, block)


def _resilience_job(value: str, data: Dataset) -> Any:
    """The resilience claim for --resilience E:Q (one line if E or Q is malformed or out of range)."""
    from ..resilience import ResilienceJob

    degree, sep, count = value.partition(":")
    try:
        e, q = float(degree), int(count)
    except ValueError:
        raise InputError(f"--resilience takes E:Q, a degree and a neighbour count such as 0.1:4, got {value!r}") from None
    if not sep:
        raise InputError(f"--resilience takes E:Q, a degree and a neighbour count such as 0.1:4, got {value!r}")
    return ResilienceJob(e, q, data)


def _float_side(reported: dict[str, Any]) -> str:
    """The float counts a claim's prover reported beside the circuit's, for the owner to compare."""
    if "circuit_correct" in reported:  # heldout/v1
        return f"; circuit counts {reported['circuit_correct']} correct (float {reported.get('float_correct')})"
    if "float_weak" in reported:  # resilience/v1
        return f"; float counts: {reported['float_weak']} weak, {reported.get('float_pairs')} pairs"
    return ""


def _publish_kzg(result: ProveResult, folder: Path) -> None:
    """kzg/v1 without `zkcert commit` first: prove made the commitments, so it writes the commit folder (and warns)."""
    from ..published import Published

    st = result.manifest.statement
    Published(st.data_commitment, st.model_commitment, getattr(st, "shard_commitments", None), result.salts,  # type: ignore[arg-type]
              st.spec).save(folder)
    typer.echo(f"wrote {folder}/commitments.json (publish it) and {folder}/salts.json (keep private)")
    err_console.print("[yellow]warning:[/] these commitments were made in the same run as the proof, so the nonce "
                      f"{result.manifest.statement.nonce!r} did not stop grinding: commit first (zkcert commit), publish, "
                      "then prove with --commitments and the nonce the verifier issued after that", highlight=False)


def _shard_size(text: str | None) -> int | str | None:
    """--shard-size: a positive number of samples, 'auto', 'all', or not given."""
    if text is None or text in ("auto", "all"):
        return text
    try:
        return int(text)
    except ValueError:
        raise InputError(f"--shard-size {text!r} is neither a number of samples nor 'auto' or 'all'") from None


def _prove_with_progress(m: nn.Module, d: Dataset, **kwargs: Any) -> ProveResult:
    """zkcert.prove with a spinner (one proof) or a progress bar over the shards."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..proving import prove as prove_

    if kwargs["execution"].shard_size in (None, "all") and kwargs["execution"].sample is None:
        with console.status("proving") as status:
            return prove_(m, d, say=lambda msg: status.update(msg), **kwargs)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console) as bar:
        phase = bar.add_task("preparing", total=None)
        shards = bar.add_task("shards proved", total=None, visible=False)

        def tick(done: int, total: int) -> None:
            bar.update(shards, completed=done, total=total, visible=True)

        return prove_(m, d, say=lambda msg: bar.update(phase, description=msg), tick=tick, **kwargs)


def _print_proved(result: ProveResult, *, work: Path) -> None:
    """Where the certificate went, its values, and the gap warning."""
    from ..statement import SampledStatement, Statement

    rep, st = result.manifest.reported, result.manifest.statement
    sharded, sampled = not isinstance(st, Statement), isinstance(st, SampledStatement)
    typer.echo(f"certificate written to {result.certificate}: {st.describe()}")
    typer.echo(f"float metric {rep['float_metric']:.6g}, circuit value {rep['circuit_metric']}")
    if rep.get("circuit_correct") is not None:
        typer.echo(f"training accuracy on the committed samples (certified): {rep['circuit_correct']} / {st.n_samples}")
    if (gap := rep.get("relative_gap")) is not None and gap > GAP_WARNING:
        err_console.print(
            f"[yellow]warning:[/] the circuit's fixed-point value is {100 * gap:.1f} % from the float value: the certificate "
            "is about the fixed-point one. Small training losses and small eps make the numerator tiny; a larger "
            "--input-scale or --epsilon narrows it (README)",
            highlight=False)
    for claim in result.manifest.claims:
        typer.echo(f"{claim.name}: {claim.statement.get('text')}{_float_side(claim.reported)}")
    if sampled:
        typer.echo(f"challenged shards {[s['index'] for s in rep['shards']]}, worst float metric among them {rep['challenged_float_max']:.6g}")
    if sharded:
        typer.echo(f"work folder {work} keeps the private salts and shard proofs (for resuming); keep it private")
