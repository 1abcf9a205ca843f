"""The pre-registered analysis (PROTOCOL.md sections 4-7): criteria with stratified paired bootstrap intervals,
the decision rule on the selection half, the outcome rule and threshold guidance on the confirmation half."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from candidates import FAMILIES, NORMALIZATIONS, REFERENCE, parse
from zkcert.threshold import false_positive_rate, suggest_threshold

GAP_LEVEL = 0.10
N_BOOT = 2000
BOOT_SEED = 20261124
CLOSE = 0.02  # candidates within this of the best primary criterion are a tie, broken toward the cheaper
BARS = ("inv_loss", REFERENCE)  # the selected metric must beat both on the confirmation half
THRESHOLD_FPR = 0.10
_FAMILY_ORDER = ("rsign", "rabs")  # cheaper first
assert set(_FAMILY_ORDER) == set(FAMILIES)


def boot_indices(families: np.ndarray, n_boot: int = N_BOOT, seed: int = BOOT_SEED) -> np.ndarray:
    """(n_boot + 1, n) row indices: row 0 the identity (the point estimate), then resamples within each family."""
    rng = np.random.default_rng(seed)
    n = len(families)
    idx = np.empty((n_boot + 1, n), dtype=np.int64)
    idx[0] = np.arange(n)
    for fam in sorted(set(families)):
        pos = np.flatnonzero(families == fam)
        idx[1:, pos] = rng.choice(pos, size=(n_boot, len(pos)), replace=True)
    return idx


def kendall_tau_b(x: np.ndarray, y: np.ndarray, idx: np.ndarray, chunk: int = 250) -> np.ndarray:
    """Kendall tau-b of (x[idx[b]], y[idx[b]]) for every row b of idx (NaN where one side is constant)."""
    out = np.empty(len(idx))
    for s in range(0, len(idx), chunk):
        xs, ys = x[idx[s : s + chunk]], y[idx[s : s + chunk]]
        sx = np.sign(xs[:, :, None] - xs[:, None, :]).astype(np.int8)
        sy = np.sign(ys[:, :, None] - ys[:, None, :]).astype(np.int8)
        num = (sx.astype(np.int32) * sy).sum(axis=(1, 2))
        den = np.sqrt(np.abs(sx).sum(axis=(1, 2), dtype=np.float64) * np.abs(sy).sum(axis=(1, 2), dtype=np.float64))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[s : s + chunk] = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
    return out


def auc(scores: np.ndarray, positive: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """ROC AUC (higher score = flagged, ties count half) for every row of idx; NaN where a class is missing."""
    s, p = scores[idx], positive[idx]
    ranks = rankdata(s, axis=1)
    n_pos = p.sum(axis=1)
    n_neg = p.shape[1] - n_pos
    u = (ranks * p).sum(axis=1) - n_pos * (n_pos + 1) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n_pos > 0) & (n_neg > 0), u / (n_pos * n_neg), np.nan)


class Half:
    """One half of the zoo with its bootstrap resamples, shared by every measure (so differences are paired)."""

    def __init__(self, df: pd.DataFrame, n_boot: int = N_BOOT, seed: int = BOOT_SEED):
        self.df = df.reset_index(drop=True)
        fams = self.df.family.to_numpy()
        self.families = sorted(set(fams))
        self.idx = boot_indices(fams, n_boot, seed)
        # within-family resamples: the columns of each family in the stratified index
        self.fam_idx = {f: self.idx[:, np.flatnonzero(fams == f)] for f in self.families}
        self.gap = self.df.gap.to_numpy(dtype=np.float64)
        self.poor = self.gap > GAP_LEVEL
        self.deviated = self.df.deviated.to_numpy(dtype=bool)

    def primary(self, measure: str) -> np.ndarray:
        """Mean within-family tau-b with the gap: point estimate first, then one value per resample."""
        x = self.df[measure].to_numpy(dtype=np.float64)
        return np.nanmean([kendall_tau_b(x, self.gap, self.fam_idx[f]) for f in self.families], axis=0)

    def row(self, measure: str) -> dict[str, float]:
        """Every criterion of a measure on this half, with 95 % percentile intervals."""
        x = self.df[measure].to_numpy(dtype=np.float64)
        out: dict[str, float] = {"measure": measure, "finite": bool(np.isfinite(x).all())}
        series = {"primary": self.primary(measure), "pooled_tau": kendall_tau_b(x, self.gap, self.idx),
                  "auc_gap": auc(x, self.poor, self.idx), "auc_deviated": auc(x, self.deviated, self.idx)}
        for f in self.families:
            out[f"tau_{f}"] = float(kendall_tau_b(x, self.gap, self.fam_idx[f][:1])[0])
        for key, s in series.items():
            out[key] = float(s[0])
            out[f"{key}_lo"], out[f"{key}_hi"] = (float(v) for v in np.nanpercentile(s[1:], [2.5, 97.5]))
        return out

    def table(self, measures: list[str]) -> pd.DataFrame:
        return pd.DataFrame([self.row(m) for m in measures])

    def difference(self, a: str, b: str) -> tuple[float, float, float]:
        """Primary criterion of a minus that of b, with its paired 95 % bootstrap interval."""
        d = self.primary(a) - self.primary(b)
        lo, hi = np.nanpercentile(d[1:], [2.5, 97.5])
        return float(d[0]), float(lo), float(hi)


def cost_key(candidate: str) -> tuple:
    """The tie-break order of PROTOCOL.md section 5: fewer K, row-sign, cheaper normalization, larger eps, name."""
    norm, family, eps_exp, k = parse(candidate)
    return (k, _FAMILY_ORDER.index(family), NORMALIZATIONS.index(norm), eps_exp, candidate)


def select(selection: pd.DataFrame, candidates: list[str]) -> tuple[str, pd.DataFrame]:
    """The decision rule: among finite candidates within CLOSE of the best primary criterion, the cheapest.

    Returns the selected name and the tied set (sorted by cost). Reads only the selection half's table.
    """
    table = selection[selection.measure.isin(candidates) & selection.finite & np.isfinite(selection.primary)]
    best = table.primary.max()
    tied = table[table.primary >= best - CLOSE - 1e-12]
    tied = tied.assign(_cost=[cost_key(m) for m in tied.measure]).sort_values("_cost").drop(columns="_cost")
    return str(tied.measure.iloc[0]), tied


def outcome(confirmation: Half, selected: str) -> dict:
    """The outcome rule of PROTOCOL.md section 6 on the confirmation half."""
    res: dict = {"selected": selected, "primary": float(confirmation.primary(selected)[0])}
    beats = {}
    for bar in (*BARS, "holdout_gap"):
        diff, lo, hi = confirmation.difference(selected, bar)
        beats[bar] = {"bar_primary": float(confirmation.primary(bar)[0]), "difference": diff, "lo": lo, "hi": hi,
                      "beats": diff > 0, "significant": lo > 0}
    res["versus"] = beats
    res["adopt"] = all(beats[b]["beats"] for b in BARS)
    return res


def thresholds(selection: pd.DataFrame, confirmation: pd.DataFrame, measures: list[str], fpr: float = THRESHOLD_FPR) -> pd.DataFrame:
    """Per measure and family: T from honest selection models, then FPR / detection rates on the confirmation half."""
    rows = []
    for m in measures:
        for fam in sorted(set(selection.family)):
            sel, conf = selection[selection.family == fam], confirmation[confirmation.family == fam]
            honest = sel.loc[~sel.deviated.astype(bool), m].to_numpy(dtype=np.float64)
            honest = honest[np.isfinite(honest)]
            try:
                sug = suggest_threshold(honest, fpr=fpr)
            except Exception:  # too few honest models for the conformal guarantee
                sug = suggest_threshold(honest, fpr=fpr, method="empirical")
            c_honest = conf[~conf.deviated.astype(bool)]
            dev, poor = conf[conf.deviated.astype(bool)], conf[conf.gap > GAP_LEVEL]
            rows.append({"measure": m, "family": fam, "threshold": sug.threshold, "method": sug.method,
                         "n_honest_selection": sug.n_honest, "target_fpr": fpr,
                         "fpr_confirmation": false_positive_rate(c_honest[m].to_numpy(), sug.threshold),
                         "n_honest_confirmation": len(c_honest),
                         "detect_deviated": float((dev[m] > sug.threshold).mean()) if len(dev) else float("nan"),
                         "n_deviated": len(dev),
                         "detect_poor": float((poor[m] > sug.threshold).mean()) if len(poor) else float("nan"),
                         "n_poor": len(poor)})
    return pd.DataFrame(rows)


# ---- markdown --------------------------------------------------------------------------------------------


def _ci(r: pd.Series, key: str) -> str:
    v, lo, hi = r[key], r[f"{key}_lo"], r[f"{key}_hi"]
    return "n/a" if not np.isfinite(v) else f"{v:+.2f} [{lo:+.2f}, {hi:+.2f}]" if key != "auc_gap" and key != "auc_deviated" else f"{v:.2f} [{lo:.2f}, {hi:.2f}]"


def table_markdown(table: pd.DataFrame, families: list[str]) -> list[str]:
    lines = ["| measure | mean within-family tau [95% CI] | " + " | ".join(f"tau {f}" for f in families)
             + " | pooled tau [95% CI] | AUC gap>0.10 [95% CI] | AUC deviated [95% CI] |",
             "|---|---|" + "---|" * len(families) + "---|---|---|"]
    for _, r in table.iterrows():
        lines.append(f"| {r.measure} | {_ci(r, 'primary')} | " + " | ".join(f"{r[f'tau_{f}']:+.2f}" for f in families)
                     + f" | {_ci(r, 'pooled_tau')} | {_ci(r, 'auc_gap')} | {_ci(r, 'auc_deviated')} |")
    return lines


def describe(measure: str) -> str:
    """A candidate name in words."""
    try:
        norm, family, e, k = parse(measure)
    except ValueError:
        return measure
    return f"{norm} ({'rademacher-abs/v1' if family == 'rabs' else 'row-sign/v1'}, eps 2^-{e} = {2.0**-e:g}, K {k})"
