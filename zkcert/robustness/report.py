"""Reports: CSV, markdown and matplotlib plots (Agg) of analyze, evaluate and enhance results."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .._internal.extras import optional_import
from .._internal.io import atomic_write_bytes
from ..errors import InputError
from .evaluate import Evaluation

__all__ = ["write_csv", "plot_severity_curves", "plot_strategies", "markdown_table", "evaluation_markdown"]

_SET_STYLE = {"weak": ("tab:red", "weak-robust"), "random": ("tab:blue", "random train"), "test": ("tab:green", "test")}


def write_csv(path: str | Path, rows: Sequence[Mapping[str, object]]) -> Path:
    """Write dict rows as CSV (columns from the first row), atomically."""
    if not rows:
        raise InputError(f"nothing to write to {path}")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_bytes(path, buf.getvalue().encode())
    return Path(path)


def _pyplot():  # noqa: ANN202
    matplotlib = optional_import("matplotlib", extra="robust", needed_for="the robustness plots")
    matplotlib.use("Agg")  # files only: never open a window, works headless in CI
    return optional_import("matplotlib.pyplot", extra="robust", needed_for="the robustness plots")



def _save(plt, fig, path: str | Path) -> Path:
    """Write a figure to path (creating folders) and free it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path

def plot_severity_curves(evaluations: Mapping[str, Evaluation] | Evaluation, path: str | Path, *, title: str = "") -> Path:
    """Accuracy against severity, one panel per perturbation, one line per set (weak, random, test)."""
    plt = _pyplot()
    evals = {"": evaluations} if isinstance(evaluations, Evaluation) else dict(evaluations)
    first = next(iter(evals.values()))
    perts = first.perturbations()
    cols = 5
    rows = int(np.ceil(len(perts) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False, sharey=True)
    for ax, pert in zip(axes.flat, perts):
        for set_name in first.sets():
            color, label = _SET_STYLE.get(set_name, ("gray", set_name))
            sev = sorted({r.severity for r in first.rows if r.perturbation == pert})
            # Mean over the given evaluations (one model, or a zoo) with the clean accuracy at severity 0.
            acc = [np.mean([e.accuracy(set_name, "clean", 0) for e in evals.values()])]
            acc += [np.mean([e.accuracy(set_name, pert, s) for e in evals.values()]) for s in sev]
            ax.plot([0, *sev], acc, marker="o", ms=3, color=color, label=label)
        ax.set_title(pert, fontsize=9)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(perts):]:
        ax.axis("off")
    axes[0, 0].legend(fontsize=7)
    fig.supxlabel("severity (0 = clean)")
    fig.supylabel("accuracy")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(plt, fig, path)


def plot_strategies(evaluations: Mapping[str, Evaluation], path: str | Path, *, set_name: str = "test") -> Path:
    """Mean accuracy over severities per perturbation, one bar group per strategy, plus clean accuracy."""
    plt = _pyplot()
    names = list(evaluations)
    perts = ["clean", *next(iter(evaluations.values())).perturbations()]
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(max(8, len(perts) * 0.9), 3.6))
    for i, name in enumerate(names):
        ev = evaluations[name]
        vals = [ev.accuracy(set_name, "clean", 0) if p == "clean" else ev.mean_accuracy(set_name, p) for p in perts]
        ax.bar(np.arange(len(perts)) + i * width, vals, width, label=name)
    ax.set_xticks(np.arange(len(perts)) + 0.4 - width / 2, perts, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel(f"{set_name} accuracy (mean over severities)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, ncol=len(names))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _save(plt, fig, path)


def markdown_table(rows: Sequence[Mapping[str, object]], *, digits: int = 3) -> str:
    """A GitHub markdown table of dict rows (floats rounded)."""
    if not rows:
        return "(no rows)\n"
    cols = list(rows[0])

    def fmt(v: object) -> str:
        return f"{v:.{digits}f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def evaluation_markdown(ev: Evaluation) -> str:
    """Per perturbation: mean accuracy over severities on each set, and clean accuracy first."""
    sets = ev.sets()
    rows = [{"perturbation": "clean", **{s: ev.accuracy(s, "clean", 0) for s in sets}}]
    rows += [{"perturbation": p, **{s: ev.mean_accuracy(s, p) for s in sets}} for p in ev.perturbations()]
    return markdown_table(rows)
