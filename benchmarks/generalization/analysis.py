"""The answers: Kendall tau with bootstrap CIs, granulated Kendall, detection ROC AUC and TPR at 5 % FPR, cost."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import roc_auc_score, roc_curve

GAP_LEVEL = 0.10  # a model "generalizes poorly" when train minus test accuracy exceeds this
DEVIATED_POSITIVE = ("label_noise", "random_labels", "backdoor")  # deviations that corrupt the training data
FPR_LEVEL = 0.05


def kendall_ci(x: np.ndarray, y: np.ndarray, *, n_boot: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """Kendall tau-b of (x, y) and its 95 % percentile bootstrap interval over models (pairs resampled)."""
    tau = float(stats.kendalltau(x, y).statistic)
    if n_boot == 0:
        return tau, float("nan"), float("nan")
    res = stats.bootstrap(
        (np.asarray(x), np.asarray(y)),
        lambda a, b: stats.kendalltau(a, b).statistic,
        paired=True,
        vectorized=False,
        n_resamples=n_boot,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return tau, float(res.confidence_interval.low), float(res.confidence_interval.high)


def granulated(df: pd.DataFrame, measure: str, hyperparameters: tuple[str, ...], target: str = "gap") -> dict[str, float]:
    """Jiang et al.'s granulated Kendall: per hyperparameter, the mean tau over groups varying only it; 'psi' is their mean."""
    out = {}
    for h in hyperparameters:
        taus = []
        for _, group in df[df.varied.isin(["base", h])].groupby("base"):
            if (group.varied == h).sum() == 0 or group[target].nunique() < 2:
                continue
            taus.append(stats.kendalltau(group[measure], group[target]).statistic)
        taus = [t for t in taus if np.isfinite(t)]
        out[h] = float(np.mean(taus)) if taus else float("nan")
    finite = [v for v in out.values() if np.isfinite(v)]
    out["psi"] = float(np.mean(finite)) if finite else float("nan")
    return out


def labels(df: pd.DataFrame, task: str) -> np.ndarray:
    """Positives of a detection task: 'gap' (gap > GAP_LEVEL) or 'deviated' (corrupted training data)."""
    if task == "gap":
        return (df.gap > GAP_LEVEL).to_numpy()
    if task == "deviated":
        return df.deviation.isin(DEVIATED_POSITIVE).to_numpy()
    raise ValueError(f"task must be 'gap' or 'deviated', got {task!r}")


def detection(scores: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """(ROC AUC, TPR at FPR <= 5 %) with higher score = flagged; NaN when one class is missing."""
    if positive.all() or not positive.any():
        return float("nan"), float("nan")
    fpr, tpr, _ = roc_curve(positive, scores)
    return float(roc_auc_score(positive, scores)), float(tpr[fpr <= FPR_LEVEL].max())


def summarize(df: pd.DataFrame, measures: list[str], hyperparameters: tuple[str, ...], reference: str, *, n_boot: int = 1000) -> pd.DataFrame:
    """One row per measure: tau vs gap (CI), tau vs loss gap, granulated, detection, cost."""
    rows = []
    ref_sec = df[f"{reference}__sec"].mean()
    for i, m in enumerate(measures):
        tau, lo, hi = kendall_ci(df[m].to_numpy(), df.gap.to_numpy(), n_boot=n_boot, seed=i)
        row = {"measure": m, "tau_gap": tau, "tau_lo": lo, "tau_hi": hi,
               "tau_loss_gap": float(stats.kendalltau(df[m], df.loss_gap).statistic)}
        row.update({f"gran_{h}": v for h, v in granulated(df, m, hyperparameters).items()})
        for task in ("gap", "deviated"):
            row[f"auc_{task}"], row[f"tpr5_{task}"] = detection(df[m].to_numpy(), labels(df, task))
        row["fwd_passes"] = df[f"{m}__fwd"].mean()
        row["bwd_passes"] = df[f"{m}__bwd"].mean()
        row["seconds"] = df[f"{m}__sec"].mean()
        row["cost_vs_ds"] = row["seconds"] / ref_sec
        rows.append(row)
    return pd.DataFrame(rows)


def _fmt(v: float, digits: int = 2) -> str:
    return "n/a" if not np.isfinite(v) else f"{v:.{digits}f}"


def markdown(summary: pd.DataFrame, df: pd.DataFrame, hyperparameters: tuple[str, ...], mode: str) -> str:
    """The report: zoo composition, the main table, granulated Kendall, and plain statements of who wins."""
    n_gap, n_dev = int(labels(df, "gap").sum()), int(labels(df, "deviated").sum())
    lines = [
        f"# Does directional sharpness predict generalization? ({mode} run)",
        "",
        f"{len(df)} models ({', '.join(f'{k}: {v}' for k, v in df.base.value_counts().sort_index().items())}); "
        f"gap = train accuracy - test accuracy, median {df.gap.median():.3f}, max {df.gap.max():.3f}. "
        f"Poor generalization: gap > {GAP_LEVEL} ({n_gap} models). Deviated: training data corrupted by "
        f"{', '.join(DEVIATED_POSITIVE)} ({n_dev} models).",
        "",
        "| measure | Kendall tau vs gap [95% CI] | tau vs loss gap | granulated psi | AUC gap>0.1 | TPR@5%FPR | AUC deviated | TPR@5%FPR | fwd | bwd | s/model | cost vs DS(K=1) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary.itertuples():
        lines.append(
            f"| {r.measure} | {_fmt(r.tau_gap)} [{_fmt(r.tau_lo)}, {_fmt(r.tau_hi)}] | {_fmt(r.tau_loss_gap)} | "
            f"{_fmt(r.gran_psi)} | {_fmt(r.auc_gap)} | {_fmt(r.tpr5_gap)} | {_fmt(r.auc_deviated)} | "
            f"{_fmt(r.tpr5_deviated)} | {r.fwd_passes:.1f} | {r.bwd_passes:.1f} | {r.seconds:.3f} | {r.cost_vs_ds:.1f}x |"
        )
    lines += ["", "## Granulated Kendall per hyperparameter", "",
              "| measure | " + " | ".join(hyperparameters) + " |", "|---|" + "---|" * len(hyperparameters)]
    for r in summary.to_dict("records"):
        lines.append(f"| {r['measure']} | " + " | ".join(_fmt(r[f'gran_{h}']) for h in hyperparameters) + " |")
    ds = summary[summary.measure.str.startswith("ds_")]
    others = summary[~summary.measure.str.startswith("ds_")]
    best_ds, best_other = ds.loc[ds.tau_gap.idxmax()], others.loc[others.tau_gap.idxmax()]
    lines += ["", "## What the numbers say (generated)", "",
              f"- Best directional-sharpness variant by tau vs gap: {best_ds.measure} ({best_ds.tau_gap:.2f}); "
              f"best other measure: {best_other.measure} ({best_other.tau_gap:.2f}).",
              "- Measures beating the best DS variant on tau vs gap: "
              + (", ".join(others[others.tau_gap > best_ds.tau_gap].measure) or "none") + ".",
              "- Measures beating the best DS variant on AUC (gap > 0.1): "
              + (", ".join(others[others.auc_gap > ds.auc_gap.max()].measure) or "none") + ".",
              "- Per-model results: zoo.csv; per-measure summary: summary.csv; plots: scatter.png, roc_gap.png, roc_deviated.png."]
    return "\n".join(lines) + "\n"
