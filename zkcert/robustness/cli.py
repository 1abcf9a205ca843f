"""`zkcert robust analyze|evaluate|enhance`: argument parsing, one workflow call, output."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from torch import nn

from ..data import BUNDLED, Dataset, load_data
from ..errors import InputError
from ..models import load_model, mlp, small_cnn
from ..training import TrainConfig, train
from .enhance import EnhanceConfig
from .perturbations import PERTURBATIONS, check_perturbations
from .workflow import Selection, analyze_to, enhance_to, evaluate_to

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Robustness validation from weak-robust training samples (after REVa, arXiv 2509.19197).")
console = Console()

MODEL_HELP = ("Model file saved with zkcert.save_model. If omitted, a default model is trained on the training "
              "split of --data first (MLP with 128 hidden units, 10 epochs, seed 0; CNN for colour images).")
DATA_HELP = f"Bundled dataset ({', '.join(BUNDLED)}) or an .npz with x (N,C,H,W) in [0,1] and y."
TEST_HELP = "Test data: bundled name or .npz. Default: the test split of a bundled --data (required for .npz data)."
K_HELP = "Select the k least resilient correctly classified training samples."
THR_HELP = "Select instead every correctly classified training sample with resilience below this value."


def _train_data(data: str, samples: Optional[int]) -> Dataset:
    return load_data(data, samples=samples, split="train")


def _test_data(data: str, test_data: Optional[str]) -> Dataset:
    if test_data is not None:
        return load_data(test_data, split="test")
    if data not in BUNDLED:
        raise InputError(f"--test-data is required when --data is a file ({data})")
    return load_data(data, split="test")


def _model(path: Optional[Path], train_data: Dataset) -> nn.Module:
    """Load the model file, or train the documented default model on the training data."""
    if path is not None:
        return load_model(path)
    shape = train_data.x.shape[1:]
    if len(shape) == 3 and shape[0] == 3:
        model = small_cnn(shape, 16, train_data.num_classes)
    else:
        features = int(train_data.x[0].size)
        model = mlp(features, [128], train_data.num_classes)
    console.print(f"no --model given: training the default model on {train_data.name}")
    return train(model, train_data, TrainConfig(epochs=10, lr=0.05, seed=0))


def _selection(k: Optional[int], threshold: Optional[float]) -> Selection:
    if threshold is not None:
        return Selection(k=None, threshold=threshold)
    return Selection(k=200 if k is None else k)


def _perturbations(spec: Optional[str]) -> tuple[str, ...]:
    if spec is None:
        return PERTURBATIONS
    return check_perturbations([p.strip() for p in spec.split(",") if p.strip()])


def _severities(spec: str) -> tuple[int, ...]:
    try:
        return tuple(int(s) for s in spec.split(","))
    except ValueError:
        raise InputError(f"--severities must be comma-separated integers from 1 to 5, got {spec!r}") from None


def _done(paths: list[Path]) -> None:
    for p in paths:
        console.print(f"wrote {p}")


ModelOpt = typer.Option(None, "--model", "-m", help=MODEL_HELP)
DataOpt = typer.Option("mnist5k", "--data", "-d", help=DATA_HELP)
SamplesOpt = typer.Option(None, "--samples", help="Use only the first N training samples.")
KOpt = typer.Option(None, "--k", help=K_HELP + " Default 200.")
ThrOpt = typer.Option(None, "--threshold", help=THR_HELP)
OutOpt = typer.Option(Path("results/robustness/cli"), "--out", "-o", help="Folder for CSV, markdown and plots.")
SeedOpt = typer.Option(0, "--seed")
ProgressOpt = typer.Option(True, "--progress/--no-progress", help="Show progress bars.")
PertOpt = typer.Option(None, "--perturbations", help=f"Comma-separated subset of: {','.join(PERTURBATIONS)}.")
SevOpt = typer.Option("1,2,3,4,5", "--severities", help="Comma-separated severities (1 to 5).")
TestOpt = typer.Option(None, "--test-data", help=TEST_HELP)


@app.command()
def analyze(
    model: Optional[Path] = ModelOpt, data: str = DataOpt, samples: Optional[int] = SamplesOpt,
    k: Optional[int] = KOpt, threshold: Optional[float] = ThrOpt, out: Path = OutOpt, seed: int = SeedOpt,
    neighbours: int = typer.Option(20, "--neighbours", help="Random neighbours per perturbation degree."),
    degrees: str = typer.Option("0.1,0.2,0.3", "--degrees", help="Comma-separated perturbation degrees e."),
    attacks: bool = typer.Option(False, "--attacks/--no-attacks", help="Also DeepFool L2 and PGD-bisection Linf."),
    progress: bool = ProgressOpt,
    seeded: bool = typer.Option(False, "--seeded", help="Count instead what a resilience/v1 claim certifies: the "
                                "neighbours derived from --commitments and --nonce at one degree (--degrees), unclipped."),
    commitments: Optional[Path] = typer.Option(None, "--commitments", help="With --seeded: the commit folder (zkcert commit)."),
    nonce: Optional[str] = typer.Option(None, "--nonce", help="With --seeded: the nonce the verifier issued."),
    input_scale: Optional[int] = typer.Option(None, "--input-scale", help="With --seeded: the circuit's scale 2**s "
                                              "(default: the commit folder's spec, else 12)."),
) -> None:
    """Score the resilience of every training sample and select the weak-robust ones."""
    try:
        degs = [float(e) for e in degrees.split(",")]
    except ValueError:
        raise InputError(f"--degrees must be comma-separated numbers, got {degrees!r}") from None
    if seeded:
        _seeded(model, data, samples, degs, neighbours, commitments, nonce, input_scale)
        return
    train_data = _train_data(data, samples)
    _, weak, paths = analyze_to(_model(model, train_data), train_data, out, selection=_selection(k, threshold),
                                attacks=attacks, degrees=degs, neighbours=neighbours, seed=seed, progress=progress)
    console.print(f"{len(weak)} weak-robust samples of {len(train_data)}")
    _done(paths)


def _seeded(model: Optional[Path], data: str, samples: Optional[int], degrees: list[float], neighbours: int,
            commitments: Optional[Path], nonce: Optional[str], input_scale: Optional[int]) -> None:
    """analyze --seeded: the resilience claim's float counts, printed (nothing written)."""
    from ..published import Published
    from ..spec import DEFAULT_INPUT_SCALE
    from ..neighbours import check_neighbours
    from .seeded import seeded_resilience

    if len(degrees) != 1:
        raise InputError(f"--seeded counts at one degree: give one value in --degrees, got {degrees}")
    check_neighbours(degrees[0], neighbours)
    if commitments is None or nonce is None or model is None:
        raise InputError("--seeded needs --model, --commitments (the commit folder) and --nonce")
    published = Published.load(commitments)
    scale = input_scale if input_scale is not None else (published.spec.input_scale if published.spec else DEFAULT_INPUT_SCALE)
    if published.spec is not None and scale != published.spec.input_scale:
        raise InputError(f"--input-scale {scale} differs from the commit folder's circuit scale {published.spec.input_scale}")
    counts = seeded_resilience(load_model(model), _train_data(data, samples), model_commitment=published.model_commitment,
                               data_commitment=published.data_commitment, nonce=nonce, degree=degrees[0],
                               neighbours=neighbours, input_scale=scale)
    console.print(counts.describe(), soft_wrap=True)


@app.command("evaluate")
def evaluate_cmd(
    model: Optional[Path] = ModelOpt, data: str = DataOpt, test_data: Optional[str] = TestOpt,
    samples: Optional[int] = SamplesOpt, k: Optional[int] = KOpt, threshold: Optional[float] = ThrOpt,
    out: Path = OutOpt, perturbations: Optional[str] = PertOpt, severities: str = SevOpt, seed: int = SeedOpt,
    progress: bool = ProgressOpt,
) -> None:
    """Accuracy under perturbations on the weak-robust set, a random training subset and the test set."""
    perts, sevs = _perturbations(perturbations), _severities(severities)  # fail fast, before any training
    train_data = _train_data(data, samples)
    test = _test_data(data, test_data)
    ev, weak, paths = evaluate_to(_model(model, train_data), train_data, test, out, selection=_selection(k, threshold),
                                  perturbations=perts, severities=sevs, seed=seed, progress=progress)
    console.print(f"mean perturbed accuracy: weak-robust {ev.mean_accuracy('weak'):.3f}, "
                  f"random {ev.mean_accuracy('random'):.3f}, test {ev.mean_accuracy('test'):.3f}")
    _done(paths)


@app.command("enhance")
def enhance_cmd(
    model: Optional[Path] = ModelOpt, data: str = DataOpt, test_data: Optional[str] = TestOpt,
    samples: Optional[int] = SamplesOpt, k: Optional[int] = KOpt, threshold: Optional[float] = ThrOpt,
    out: Path = OutOpt, perturbations: Optional[str] = PertOpt, severities: str = SevOpt, seed: int = SeedOpt,
    top_types: int = typer.Option(3, "--top-types", help="How many of the weakest perturbation types to train on."),
    copies: int = typer.Option(5, "--copies", help="Perturbed copies per selected sample."),
    epochs: int = typer.Option(3, "--epochs", help="Fine-tuning epochs."),
    progress: bool = ProgressOpt,
) -> None:
    """Fine-tune on the perturbation types the weak-robust set fails most; compare with no and uniform augmentation."""
    perts, sevs = _perturbations(perturbations), _severities(severities)  # fail fast, before any training
    train_data = _train_data(data, samples)
    test = _test_data(data, test_data)
    config = EnhanceConfig(top_types=top_types, copies=copies, epochs=epochs, seed=seed)
    evals, guided, paths = enhance_to(_model(model, train_data), train_data, test, out,
                                      selection=_selection(k, threshold), config=config,
                                      perturbations=perts, severities=sevs, progress=progress)
    console.print(f"guided by: {', '.join(guided)}")
    for name, ev in evals.items():
        console.print(f"{name:>8}: clean {ev.accuracy('test', 'clean', 0):.3f}, "
                      f"mean perturbed {ev.mean_accuracy('test'):.3f}")
    _done(paths)
