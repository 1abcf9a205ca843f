"""Figures: each measure against the generalization gap, and ROC curves of both detection tasks."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: the benchmark runs on servers and in tests
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from analysis import GAP_LEVEL, labels


def scatter(df: pd.DataFrame, measures: list[str], path: Path) -> None:
    """One panel per measure: measure value (symlog x) against gap, coloured by kind of training."""
    cols = 4
    rows = int(np.ceil(len(measures) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    kinds = sorted(df.deviation.unique())
    colours = dict(zip(kinds, plt.cm.tab10.colors))
    for ax, m in zip(axes.flat, measures):
        for kind in kinds:
            sub = df[df.deviation == kind]
            ax.scatter(sub[m], sub.gap, s=14, color=colours[kind], label=kind)
        ax.set_xscale("symlog", linthresh=max(float(np.abs(df[m]).replace(0, np.nan).min()), 1e-12))
        ax.axhline(GAP_LEVEL, color="grey", lw=0.6, ls="--")
        ax.set_title(m, fontsize=9)
        ax.set_ylabel("gap", fontsize=8)
    for ax in axes.flat[len(measures):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def roc(df: pd.DataFrame, measures: list[str], task: str, path: Path) -> None:
    """ROC curves of all measures for one detection task ('gap' or 'deviated')."""
    positive = labels(df, task)
    fig, ax = plt.subplots(figsize=(6, 5))
    if positive.any() and not positive.all():
        for m in measures:
            fpr, tpr, _ = roc_curve(positive, df[m])
            ax.plot(fpr, tpr, lw=1.8 if m.startswith("ds_") else 1.0, ls="-" if m.startswith("ds_") else "--", label=m)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.5)
    ax.axvline(0.05, color="grey", lw=0.5, ls=":")
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.set_title(f"detecting {'gap > %.2f' % GAP_LEVEL if task == 'gap' else 'corrupted training data'}")
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def selected_scatter(df: pd.DataFrame, measures: list[str], path: Path) -> None:
    """Rows: measures (the selected metric first); columns: families. Measure (log x) against the gap;
    filled markers selection half, open markers confirmation half; colour = kind of training."""
    families = sorted(df.family.unique())
    kinds = sorted(df.kind.unique())
    palette = list(plt.cm.tab10.colors) + list(plt.cm.Dark2.colors[:4]) + list(plt.cm.Set1.colors)
    colours = dict(zip(kinds, palette))
    fig, axes = plt.subplots(len(measures), len(families), figsize=(4.6 * len(families), 3.4 * len(measures)), squeeze=False)
    for i, m in enumerate(measures):
        for j, fam in enumerate(families):
            ax = axes[i, j]
            for kind in kinds:
                for half, face in (("selection", None), ("confirmation", "none")):
                    sub = df[(df.family == fam) & (df.kind == kind) & (df.half == half)]
                    if len(sub):
                        ax.scatter(sub[m], sub.gap, s=18, edgecolors=colours[kind], facecolors=face or colours[kind],
                                   label=kind if (half == "selection") else None)
            vals = df.loc[df.family == fam, m]
            if (vals > 0).all():
                ax.set_xscale("log")
            ax.axhline(GAP_LEVEL, color="grey", lw=0.6, ls="--")
            ax.set_title(f"{m} - {fam}", fontsize=9)
            ax.set_ylabel("gap (train - test accuracy)", fontsize=8)
    handles, labels_ = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels_, fontsize=7, loc="lower center", ncol=min(6, len(labels_)))
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, dpi=90)
    plt.close(fig)
