"""The three steps end to end (analyze, evaluate, enhance), each writing CSV, markdown and plots to a folder.

The CLI calls exactly these; Python users can too, or compose the lower-level functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from torch import nn

from .._internal.io import atomic_write_bytes
from ..data import Dataset
from ..models import save_model
from ._common import SEVERITIES
from .attacks import deepfool_l2, pgd_linf_bisection
from .enhance import STRATEGIES, EnhanceConfig, enhance
from .evaluate import Evaluation, evaluate, evaluation_sets
from .perturbations import PERTURBATIONS
from .report import evaluation_markdown, markdown_table, plot_severity_curves, plot_strategies, write_csv
from .resilience import ResilienceResult, resilience_scores, select_weak_robust

__all__ = ["Selection", "analyze_to", "evaluate_to", "enhance_to"]


@dataclass(frozen=True)
class Selection:
    """How weak-robust samples are chosen: bottom-k, or resilience below a threshold."""

    k: int | None = 200
    threshold: float | None = None


def _write_md(path: Path, text: str) -> Path:
    atomic_write_bytes(path, text.encode())
    return path


def analyze_to(
    model: nn.Module, train: Dataset, out: str | Path, *, selection: Selection = Selection(), attacks: bool = False,
    degrees: Sequence[float] = (0.1, 0.2, 0.3), neighbours: int = 20, seed: int = 0, progress: bool = False,
) -> tuple[ResilienceResult, np.ndarray, list[Path]]:
    """Score every training sample, select the weak-robust ones, write analysis.csv and analysis.md."""
    out = Path(out)
    res = resilience_scores(model, train, degrees=degrees, neighbours=neighbours, seed=seed, progress=progress)
    weak = select_weak_robust(res, k=selection.k, threshold=selection.threshold)
    is_weak = np.zeros(len(train), dtype=bool)
    is_weak[weak] = True
    cols: dict[str, np.ndarray] = {"index": np.arange(len(train)), "label": train.y, "correct": res.correct,
                                   "resilience": res.resilience, "weak_robust": is_weak}
    if attacks:
        cols["deepfool_l2"] = deepfool_l2(model, train, progress=progress).size
        cols["pgd_linf"] = pgd_linf_bisection(model, train, seed=seed, progress=progress).size
    rows = [{k: (float(v[i]) if v.dtype.kind == "f" else (bool(v[i]) if v.dtype.kind == "b" else int(v[i])))
             for k, v in cols.items()} for i in range(len(train))]
    csv_path = write_csv(out / "analysis.csv", rows)
    text = (f"# Weak-robust analysis of {train.name}\n\n"
            f"{len(train)} samples, {int(res.correct.sum())} classified correctly; neighbours {neighbours} per degree "
            f"at degrees {list(res.degrees)}.\n\n"
            f"- samples with any misclassified neighbour: {int((res.fragility > 0).sum())}\n"
            f"- weak-robust selected: {len(weak)} (resilience {res.resilience[weak].min():.4f} to "
            f"{res.resilience[weak].max():.4f})\n"
            f"- weak-robust labels: {np.bincount(train.y[weak], minlength=train.num_classes).tolist()}\n")
    if attacks:
        for name in ("deepfool_l2", "pgd_linf"):
            v = cols[name]
            ok = res.correct & np.isfinite(v)
            text += (f"- median {name} minimal perturbation: weak-robust {np.median(v[weak][np.isfinite(v[weak])]):.4f}, "
                     f"all correct {np.median(v[ok]):.4f}\n")
    return res, weak, [csv_path, _write_md(out / "analysis.md", text)]


def evaluate_to(
    model: nn.Module, train: Dataset, test: Dataset, out: str | Path, *, selection: Selection = Selection(),
    perturbations: Sequence[str] = PERTURBATIONS, severities: Sequence[int] = SEVERITIES, seed: int = 0,
    progress: bool = False,
) -> tuple[Evaluation, np.ndarray, list[Path]]:
    """Accuracy per perturbation and severity on weak-robust, random and test sets; CSV, markdown, PNG."""
    out = Path(out)
    sets, weak, _ = evaluation_sets(model, train, test, k=selection.k, threshold=selection.threshold, seed=seed,
                                    progress=progress)
    ev = evaluate(model, sets, perturbations=perturbations, severities=severities, seed=seed, progress=progress)
    csv_path = write_csv(out / "evaluation.csv", ev.as_dicts())
    png = plot_severity_curves(ev, out / "evaluation.png", title=f"{train.name}: {len(weak)} weak-robust samples")
    text = (f"# Robustness evaluation\n\nWeak-robust set: {len(weak)} training samples; random set: {len(weak)} "
            f"training samples; test set: {len(test)} samples. Mean accuracy over severities {list(severities)}:\n\n"
            + evaluation_markdown(ev) + f"\n![accuracy against severity]({png.name})\n")
    return ev, weak, [csv_path, png, _write_md(out / "evaluation.md", text)]


def enhance_to(
    model: nn.Module, train: Dataset, test: Dataset, out: str | Path, *, selection: Selection = Selection(),
    config: EnhanceConfig = EnhanceConfig(), perturbations: Sequence[str] = PERTURBATIONS,
    severities: Sequence[int] = SEVERITIES, progress: bool = False,
) -> tuple[dict[str, Evaluation], tuple[str, ...], list[Path]]:
    """Guide fine-tuning by the weak-robust evaluation; compare strategies on the perturbed test set."""
    out = Path(out)
    sets, weak, _ = evaluation_sets(model, train, test, k=selection.k, threshold=selection.threshold,
                                    seed=config.seed, progress=progress)
    guide = evaluate(model, {"weak": sets["weak"]}, perturbations=perturbations, severities=severities,
                     seed=config.seed)
    result = enhance(model, train, weak, guide, config=config, perturbations=perturbations)
    cache: dict = {}
    evals = {name: evaluate(m, {"test": test}, perturbations=perturbations, severities=severities,
                            seed=config.seed + 7, cache=cache, progress=progress)
             for name, m in result.models.items()}
    rows = [{"strategy": s, **r} for s, ev in evals.items() for r in ev.as_dicts()]
    csv_path = write_csv(out / "enhance.csv", rows)
    png = plot_strategies(evals, out / "enhance.png")
    summary = [{"strategy": s, "clean": ev.accuracy("test", "clean", 0), "mean_perturbed": ev.mean_accuracy("test"),
                "mean_on_guided_types": float(np.mean([ev.mean_accuracy("test", p) for p in result.guided_types]))}
               for s, ev in evals.items()]
    model_path = out / "enhanced_guided.pt"
    save_model(result.models["guided"], model_path)
    text = (f"# Validation-guided fine-tuning\n\nWeakest types on the {len(weak)} weak-robust samples: "
            f"{', '.join(result.guided_types)}. Each strategy adds {result.pool_size} samples and fine-tunes "
            f"{config.epochs} epochs at lr {config.lr} (strategies: {', '.join(STRATEGIES)}).\n\n"
            + markdown_table(summary) + f"\n![test accuracy by strategy]({png.name})\n\n"
            f"Guided model saved to {model_path.name}.\n")
    return evals, result.guided_types, [csv_path, png, _write_md(out / "enhance.md", text), model_path]
