"""Regenerate the pre-registered amendment of issue 21, item 1 (benchmarks/generalization/PROTOCOL-2.md).

    python benchmarks/generalization/amendment.py           # 108 fresh models, results/generalization/amendment/
    python benchmarks/generalization/amendment.py --quick   # 16 short-trained models (CI), .../amendment/quick/ (QUICK)

Trains (or loads) the fresh replicates r2 (selection) and r3 (confirmation) of the digits families, computes every
candidate (rds, flips, tail quantiles along row-sign directions; eps 2^-3..2^-1, K 1..16), its spread over 30
direction draws and the baselines on every model; then applies the decision rule on the selection half, measuring
the witness-level fixed-point gap lazily (zkcert's circuit, calibration and gen_witness only), writes the choice,
and only then evaluates the confirmation half. Models and per-model rows are cached under .../models/ (git-ignored).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import candidates as C  # noqa: E402
import study  # noqa: E402
from zkcert.data import Dataset  # noqa: E402
from zkcert.direction import ROW_SIGN, derive_seed, directions, unit_counts  # noqa: E402
from zkcert.metric import RDS, as_double  # noqa: E402
from zkcert.models import layer_configs  # noqa: E402
from zkcert.threshold import suggest_threshold  # noqa: E402
from zkcert.training import accuracy, mean_loss  # noqa: E402
from zoo import _BASES, StudySpec, _configs, splits, study_trained, study_training_data, trained_row  # noqa: E402

FAMILIES = ("digits-mlp", "digits-cnn")  # PROTOCOL-2.md section 1 (mnist-mlp left out)
REPLICATES = {"selection": 2, "confirmation": 3}
EPS_EXPONENTS = (3, 2, 1)
KS = (1, 2, 4, 8, 16)
KMAX = max(KS)
KINDS = ("rds", "flips", "q50rds", "q90rds")
ELIGIBLE, SECOND = "rds", "flips"
SPREAD_MAX, GAP_MAX, CLOSE = 1.5, 0.01, 0.02
SECOND_GAIN = 0.05
BOOT_SEED = 20261206
REFERENCE = "rds:rabs:e6:k4"  # zkcert's current default statement, reported
BASELINES = ("inv_loss", "train_error", "neg_margin_q10", "holdout_gap")
BARS = ("inv_loss", "train_error")
ROWS_PER_SAMPLE = {1: 2130, 2: 2822, 4: 4207, 8: 6977, 16: 12510}  # graph 5, 4 columns, MNIST 784-32-10; K 2, 16 fitted
MODES = {
    "full": dict(n_eval=1000, draws=30, n_gap=64, gap_cap=20 * 60, conf_gap_cap=10 * 60, boot=study.N_BOOT),
    "quick": dict(n_eval=200, draws=30, n_gap=16, gap_cap=40, conf_gap_cap=20, boot=200),
}
ROW_VERSION = "amendment-row/v1"


def name(kind: str, e: int, k: int) -> str:
    return f"{kind}:rsign:e{e}:k{k}"


def parse(candidate: str) -> tuple[str, int, int]:
    kind, _, e, k = candidate.split(":")
    return kind, int(e[1:]), int(k[1:])


def names(kind: str) -> list[str]:
    return [name(kind, e, k) for e in EPS_EXPONENTS for k in KS]


def cost_key(candidate: str) -> tuple:
    """PROTOCOL-2.md section 2: fewer rows per sample (smaller K), then larger eps (smaller exponent), then name."""
    _, e, k = parse(candidate)
    return (ROWS_PER_SAMPLE[k], e, candidate)


# ---- the zoo -------------------------------------------------------------------------------------------


def amendment_zoo(mode: str = "full") -> list[StudySpec]:
    """PROTOCOL-2.md section 1: zoo._configs of the digits families, replicates r2 and r3 (quick: 4 configs, short)."""
    specs = []
    for family in FAMILIES:
        configs = _configs(family)
        if mode == "quick":
            wanted, kept = ["base", "lr", "label_noise", "prune"], []
            for w in wanted:
                kept.append(next(c for c in configs if c[0] == w))
            configs = kept
        for varied, kind, rate, changes in configs:
            cfg = {**_BASES[family], **changes}
            if mode == "quick":
                cfg["epochs"], cfg["train_size"] = min(cfg["epochs"], 8), min(cfg["train_size"], 300)
            label = "" if varied == "base" else f"-{varied}" + "".join(f"-{k}{v}" for k, v in changes.items()) + (f"-r{rate:g}" if rate else "")
            for rep in REPLICATES.values():
                specs.append(StudySpec(name=f"{family}{label}-rep{rep}", family=family, varied=varied, kind=kind, rate=rate,
                                       replicate=rep, **cfg))  # type: ignore[arg-type]
    return specs


def half_of(spec: StudySpec) -> str:
    return next(h for h, r in REPLICATES.items() if r == spec.replicate)


# ---- row-sign perturbations, fast: theta + s eps d scales unit j's output by (1 + s eps a_j) ---------------


def unit_signs(seed: bytes, model: nn.Module, k: int) -> np.ndarray:
    """(K, U) row-sign/v1 signs (what the circuit takes as its direction input)."""
    return directions(seed, sum(u for u, _ in unit_counts(layer_configs(model))), k)


_HOMOGENEOUS = (nn.ReLU, nn.AvgPool2d, nn.MaxPool2d, nn.Flatten)


def _shared_head(layers: list[nn.Module], first: torch.Tensor, first_idx: int) -> tuple[torch.Tensor, int, int]:
    """The first affine layer's output carried through the ReLU / pooling / Flatten layers after it, once for all variants.

    These commute with multiplying each unit (channel) by a positive factor (1 +/- eps a_j > 0 for eps < 1), so a
    variant's activation there is the factor times this shared tensor. Returns (tensor, next layer index, spatial
    size per channel after a Flatten, 1 otherwise).
    """
    h, i, spatial = first, first_idx + 1, 1
    while i < len(layers) and isinstance(layers[i], _HOMOGENEOUS):
        if isinstance(layers[i], nn.Flatten) and h.dim() == 4:
            spatial = h.shape[2] * h.shape[3]
        h = layers[i](h)
        i += 1
    return h, i, spatial


def _expand(f: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """(V, units) factors broadcast against (N, units, ...) activations: (V, 1, units, 1, ...)."""
    return f.reshape(f.shape[0], 1, f.shape[1], *([1] * (h.dim() - 2)))


def _scaled_forward(layers: list[nn.Module], shared: torch.Tensor, start: int, spatial: int, factors: list[torch.Tensor]) -> torch.Tensor:
    """Logits (V, N, C) of V perturbations from the shared head (_shared_head), factors[l] (V, units_l) per affine layer."""
    v, n = factors[0].shape[0], shared.shape[0]
    f0 = factors[0].repeat_interleave(spatial, dim=1) if spatial > 1 else factors[0]
    h = (shared.unsqueeze(0) * _expand(f0, shared)).reshape(v * n, *shared.shape[1:])
    li = 1
    for layer in layers[start:]:
        h = layer(h)
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            hv = h.reshape(v, n, *h.shape[1:])
            h = (hv * _expand(factors[li], hv[0])).reshape(v * n, *h.shape[1:])
            li += 1
    return h.reshape(v, n, -1)


def perturbed_stats(model: nn.Module, data: Dataset, signs: np.ndarray, eps: float, chunk: int = 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Delta (D, N) of cross-entropy, flips (D, N) in {0, 1, 2}, l(theta) (N,)) along row-sign directions with unit signs (D, U), float64."""
    model64 = as_double(model)
    layers = list(model64)
    affine = [i for i, m in enumerate(layers) if isinstance(m, (nn.Linear, nn.Conv2d))]
    sizes = [u for u, _ in unit_counts(layer_configs(model))]
    x, y = torch.as_tensor(data.x, dtype=torch.float64), torch.as_tensor(data.y)
    with torch.no_grad():
        h = x
        for layer in layers[: affine[0] + 1]:
            h = layer(h)
        shared, start, spatial = _shared_head(layers, h, affine[0])
        z0 = model64(x)
        l0 = nn.functional.cross_entropy(z0, y, reduction="none")
        p0 = z0.argmax(dim=1)
        a = torch.as_tensor(signs, dtype=torch.float64)
        deltas, flips = [], []
        for s in range(0, len(a), chunk):
            block = a[s : s + chunk]
            both = torch.cat([block, block])  # +eps then -eps
            sgn = torch.cat([torch.ones(len(block)), -torch.ones(len(block))]).double()[:, None]
            factors, off = [], 0
            for u in sizes:
                factors.append(1.0 + sgn * eps * both[:, off : off + u])
                off += u
            z = _scaled_forward(layers, shared, start, spatial, factors)
            ce = nn.functional.cross_entropy(z.reshape(-1, z.shape[-1]), y.repeat(len(both)), reduction="none").reshape(len(both), -1)
            m = len(block)
            deltas.append(ce[:m] - 2 * l0 + ce[m:])
            changed = (z.argmax(dim=2) != p0).to(torch.int8)
            flips.append(changed[:m] + changed[m:])
    return torch.cat(deltas).numpy(), torch.cat(flips).numpy(), l0.numpy()


def draw_values(delta: np.ndarray, flips: np.ndarray, l0: np.ndarray, e: int) -> dict[str, float]:
    """Every candidate of one draw (first K of the draw's directions, for each K) at eps 2^-e."""
    eps2, out = 2.0 ** (-2 * e), {}
    n, lsum = delta.shape[1], float(l0.sum())
    for k in KS:
        out[name("rds", e, k)] = C._from_sums("rds", float(delta[:k].sum()), n, k, 2.0**-e, lsum)
        out[name("flips", e, k)] = float(flips[:k].sum()) / (2 * n * k)
        per_sample = delta[:k].sum(axis=0) / (k * eps2)
        mean_l = lsum / n
        for p, kind in ((0.5, "q50rds"), (0.9, "q90rds")):
            out[name(kind, e, k)] = float(np.quantile(per_sample, p)) / mean_l if mean_l > 0 else math.inf
    return out


def spread_of(values: Iterable[float]) -> tuple[float, float, float]:
    """(p10, p90, spread = p90 / p10) of draws; spread is inf when p10 <= 0 or a value is not finite (PROTOCOL-2.md 3c)."""
    v = np.asarray(list(values), dtype=np.float64)
    if not np.isfinite(v).all():
        return math.nan, math.nan, math.inf
    p10, p90 = (float(q) for q in np.percentile(v, [10, 90]))
    return p10, p90, (p90 / p10 if p10 > 0 else math.inf)


def spread_seed(nonce: str, j: int) -> bytes:
    return derive_seed("0x0", "0x0", f"{nonce}/spread{j}")


def model_candidates(model: nn.Module, data: Dataset, nonce: str, draws: int) -> tuple[dict[str, float], dict[str, tuple[float, float, float]]]:
    """(candidate values along the model's own directions, spread (p10, p90, ratio) of each over `draws` fresh draws)."""
    seeds = [C.study_seed(nonce)] + [spread_seed(nonce, j) for j in range(draws)]
    signs = np.concatenate([unit_signs(s, model, KMAX) for s in seeds])
    values: dict[str, float] = {}
    per_draw: dict[str, list[float]] = {}
    for e in EPS_EXPONENTS:
        delta, flips, l0 = perturbed_stats(model, data, signs, 2.0**-e)
        for j in range(len(seeds)):
            vals = draw_values(delta[j * KMAX : (j + 1) * KMAX], flips[j * KMAX : (j + 1) * KMAX], l0, e)
            if j == 0:
                values.update(vals)
            else:
                for key, v in vals.items():
                    per_draw.setdefault(key, []).append(v)
    return values, {key: spread_of(v) for key, v in per_draw.items()}


# ---- one model -----------------------------------------------------------------------------------------


def _row(spec: StudySpec, mode: str, cache: Path, data_cache: dict) -> dict:
    cfg = MODES[mode]
    key = hashlib.sha256(f"{spec.key()}|{cfg['n_eval']}|{cfg['draws']}|{ROW_VERSION}".encode()).hexdigest()[:12]
    path = cache / f"{spec.name}-arow-{key}.json"
    if path.is_file():
        return json.loads(path.read_text())
    model, data, proxy, row = trained_row(spec, half_of(spec), cache, data_cache)
    evalset = data.head(min(cfg["n_eval"], len(data)))
    start = time.perf_counter()
    base = C.baselines(model, evalset, proxy)
    row.update({k: base[k] for k in ("inv_loss", "train_loss", "neg_margin_q10", "holdout_gap")})
    row["train_error"] = 1.0 - accuracy(model, evalset)
    row[REFERENCE] = C.rds(model, evalset, C.family_directions("rabs", C.study_seed(spec.name), model, 4), 2.0**-6)
    values, spreads = model_candidates(model, evalset, spec.name, cfg["draws"])
    row.update(values)
    for cand, (p10, p90, ratio) in spreads.items():
        row[f"{cand}|p10"], row[f"{cand}|p90"], row[f"{cand}|spread"] = p10, p90, ratio
    row["measure_seconds"] = time.perf_counter() - start
    path.write_text(json.dumps(row))
    return row


# ---- the witness-level fixed-point gap (PROTOCOL-2.md 3b) -------------------------------------------------


def witness_gap(model: nn.Module, data: Dataset, signs: np.ndarray, eps: float, run_args: dict | None = None) -> dict:
    """Circuit vs float rds/v1 along row-sign signs (K, U) on `data`, at scale 2^12 (graph 5), by calibration + witness.

    Inputs are kzg/v1-committed (provisional commitments, as zkcert calibrates kzg/v1 circuits): the same arithmetic
    as a Poseidon circuit without the in-circuit hashing of the inputs. Returns float, circuit, gap, logrows, or error.
    """
    from zkcert import circuit
    from zkcert._internal import ezkl as _ezkl
    from zkcert._internal.io import atomic_write_json
    from zkcert.commitments import KZG, KZG_SALT_LEN, Salts
    from zkcert.owner import float_metric, make_spec, plan, provisional_committer
    from zkcert.spec import LEAN_GRAPH

    start = time.perf_counter()
    k = len(signs)
    spec = make_spec(model, data, threshold=1e6, epsilon=eps, n_directions=k, input_scale=12, metric=RDS,
                     direction=ROW_SIGN, commitment=KZG)
    # PROTOCOL-2.md fixed graph 5; newer graphs (7 gathers what 5 slices) compute the same fixed-point values.
    spec = dataclasses.replace(spec, graph=LEAN_GRAPH)
    if run_args:  # PROTOCOL-2.md addendum A1: e.g. decomp_legs = 3
        spec = spec.with_run_args(run_args)
    salts = Salts(tuple(range(1, KZG_SALT_LEN + 1)), tuple(range(11, KZG_SALT_LEN + 11)), KZG)
    p = plan(model, data, spec=spec, nonce="amendment-gap", salts=salts, commitment=KZG, committer=provisional_committer)
    p = dataclasses.replace(p, r=np.asarray(signs, dtype=np.int8), float_metric=float_metric(spec, model, data, signs))
    out = {"graph": spec.graph, "float": p.float_metric, "circuit": math.nan, "gap": math.nan, "logrows": -1, "error": ""}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            cal = circuit.calibrate_spec(spec, p.shard_input(0), tmp)
            files = circuit.compile_spec(cal)
            atomic_write_json(tmp / "witness-input.json", p.shard_input(0))
            witness = _ezkl.gen_witness(tmp / "witness-input.json", files.compiled, tmp / "witness.json")
            _, value = circuit.flag_and_value(cal, circuit.witness_outputs(witness, files.settings_json()))
        out.update(circuit=value, gap=abs(value - p.float_metric) / abs(p.float_metric), logrows=cal.logrows)
    except Exception as exc:  # an uncalibratable circuit fails the candidate (PROTOCOL-2.md 3a)
        out["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    out["seconds"] = time.perf_counter() - start
    return out


# ---- the decision rule (PROTOCOL-2.md section 5), pure given a gap oracle -------------------------------


def spread_feasible(df: pd.DataFrame, candidate: str) -> bool:
    s = df[f"{candidate}|spread"].to_numpy(dtype=np.float64)
    return bool(np.all(np.isfinite(s) & (s <= SPREAD_MAX)))


def decide(table: pd.DataFrame, spread_ok: dict[str, bool], gap_passes: Callable[[str], bool | None]) -> tuple[str | None, list[dict]]:
    """The lazy decision rule: among spread-feasible candidates, best primary, tied within CLOSE in cost order; the
    first whose gap passes is chosen. gap_passes returns True, False, or None (cap reached: stop, unmeasured).

    Returns (chosen or None, the log of gap checks in the order made).
    """
    t = table[table.measure.isin([m for m, ok in spread_ok.items() if ok]) & np.isfinite(table.primary)]
    remaining, log = dict(zip(t.measure, t.primary)), []
    while remaining:
        best = max(remaining.values())
        tied = sorted((m for m, v in remaining.items() if v >= best - CLOSE - 1e-12), key=cost_key)
        for m in tied:
            ok = gap_passes(m)
            log.append({"candidate": m, "primary": remaining[m], "gap_passes": ok})
            if ok is None:
                return None, log
            if ok:
                return m, log
            del remaining[m]
    return None, log


def pick_second(table: pd.DataFrame, spread_ok: dict[str, bool]) -> str | None:
    """Section 6: among spread-feasible flips settings, the best AUC deviated; ties within CLOSE by cost."""
    t = table[table.measure.isin([m for m, ok in spread_ok.items() if ok and parse(m)[0] == SECOND]) & np.isfinite(table.auc_deviated)]
    if t.empty:
        return None
    best = t.auc_deviated.max()
    return sorted(t.measure[t.auc_deviated >= best - CLOSE - 1e-12], key=cost_key)[0]


def _threshold(values: np.ndarray, fpr: float) -> tuple[float, str]:
    values = values[np.isfinite(values)]
    try:
        s = suggest_threshold(values, fpr=fpr)
    except Exception:
        s = suggest_threshold(values, fpr=fpr, method="empirical")
    return s.threshold, s.method


def two_bound(sel: pd.DataFrame, conf: pd.DataFrame, first: str, second: str) -> pd.DataFrame:
    """Per family and pooled: single bound (first, fpr 0.10) vs two bounds (each fpr 0.05), on both halves."""
    rows = []
    flags = {"selection": {}, "confirmation": {}}
    for fam in sorted(set(sel.family)):
        honest = sel[(sel.family == fam) & ~sel.deviated.astype(bool)]
        t_single, m_single = _threshold(honest[first].to_numpy(dtype=float), 0.10)
        t1, m1 = _threshold(honest[first].to_numpy(dtype=float), 0.05)
        t2, m2 = _threshold(honest[second].to_numpy(dtype=float), 0.05)
        for hname, h in (("selection", sel), ("confirmation", conf)):
            f = h[h.family == fam]
            flags[hname][fam] = (f, f[first] > t_single, (f[first] > t1) | (f[second] > t2))
        rows.append({"family": fam, "T_single": t_single, "method_single": m_single, "T1": t1, "method_T1": m1, "T2": t2, "method_T2": m2})
    out = []
    for hname, per in flags.items():
        parts = list(per.items()) + [("pooled", (pd.concat([v[0] for v in per.values()]), pd.concat([v[1] for v in per.values()]),
                                                 pd.concat([v[2] for v in per.values()])))]
        for fam, (f, single, both) in parts:
            dev, poor = f.deviated.astype(bool), f.gap > study.GAP_LEVEL
            thr = next((r for r in rows if r["family"] == fam), {})
            for rule, flag in (("single", single), ("two-bound", both)):
                out.append({"half": hname, "family": fam, "rule": rule, **({k: v for k, v in thr.items() if k != "family"}),
                            "fpr_honest": float(flag[~dev].mean()), "n_honest": int((~dev).sum()),
                            "detect_deviated": float(flag[dev].mean()), "n_deviated": int(dev.sum()),
                            "detect_poor": float(flag[poor].mean()) if poor.any() else math.nan, "n_poor": int(poor.sum())})
    return pd.DataFrame(out)


# ---- reporting helpers -----------------------------------------------------------------------------------


def spread_summary(df: pd.DataFrame, cands: list[str]) -> pd.DataFrame:
    rows = []
    for c in cands:
        s = df[f"{c}|spread"].to_numpy(dtype=np.float64)
        interp = df.train_loss.to_numpy() < 0.01
        rows.append({"candidate": c, "models": len(s), "fail": int((~(np.isfinite(s) & (s <= SPREAD_MAX))).sum()),
                     "p10_nonpositive": int((~np.isfinite(s)).sum()), "median_spread": float(np.median(s)),
                     "worst_spread": float(np.max(s)), "worst_spread_interpolating": float(np.max(s[interp])) if interp.any() else math.nan,
                     "feasible": spread_feasible(df, c)})
    return pd.DataFrame(rows)


def _md(df: pd.DataFrame, floatfmt: str = ".3g") -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            cells.append(format(v, floatfmt) if isinstance(v, (float, np.floating)) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _models(specs: list[StudySpec], cache: Path, data_cache: dict) -> dict[str, tuple[nn.Module, Dataset]]:
    out = {}
    for spec in specs:
        if spec.dataset not in data_cache:
            data_cache[spec.dataset] = splits(spec.dataset)
        data = study_training_data(spec, data_cache[spec.dataset][0])
        out[spec.name] = (study_trained(spec, data, cache), data)
    return out


class GapOracle:
    """Measures a candidate's witness gap model by model (stopping at the first failure) under a wall-clock cap."""

    def __init__(self, specs: list[StudySpec], models: dict, n_gap: int, cap_s: float, log: list[dict], run_args: dict | None = None):
        self.specs, self.models, self.n_gap, self.cap, self.log, self.run_args = specs, models, n_gap, cap_s, log, run_args
        self.start = time.perf_counter()

    def __call__(self, candidate: str, stop_at_failure: bool = True) -> bool | None:
        _, e, k = parse(candidate)
        passed = True
        for spec in self.specs:
            if time.perf_counter() - self.start > self.cap:
                print(f"  gap cap reached during {candidate}", flush=True)
                self.log.append({"candidate": candidate, "model": spec.name, "half": half_of(spec), "error": "cap reached", "passes": False})
                return None
            model, data = self.models[spec.name]
            evalset = data.head(min(self.n_gap, len(data)))
            signs = unit_signs(C.study_seed(spec.name), model, k)
            res = witness_gap(model, evalset, signs, 2.0**-e, self.run_args)
            ok = not res["error"] and res["gap"] <= GAP_MAX
            self.log.append({"candidate": candidate, "model": spec.name, "half": half_of(spec),
                             "train_loss_64": mean_loss(model, evalset), **res, "passes": ok})
            print(f"  gap {candidate} {spec.name}: {res['gap']:.4%} {res['error'][:60]} ({res['seconds']:.0f} s)", flush=True)
            if not ok:
                passed = False
                if stop_at_failure:
                    return False
        return passed


VARIANTS = {"default": None, "legs3": {"decomp_legs": 3}}  # PROTOCOL-2.md sections 3-7; addendum A1


def status(c: str, spread_sel: pd.DataFrame, gaps: pd.DataFrame) -> str:
    """Which constraint a candidate met or failed, in words."""
    s = spread_sel.set_index("candidate").loc[c]
    if not s.feasible:
        return f"fails spread on {s.fail} of {s.models} models (worst {s.worst_spread:.3g})"
    g = gaps[gaps.candidate == c] if len(gaps) else gaps
    if len(g) == 0:
        return "passes spread; gap not measured (not reached by the rule)"
    err = g.error.fillna("").astype(str)
    if (err == "cap reached").any():
        return "passes spread; gap unmeasured (time cap reached)"
    if (err != "").any():
        return f"circuit not buildable at 2^12 on {g.model[err != ''].iloc[0]} (ezkl calibration failed)"
    if (~g.passes.astype(bool)).any():
        return f"gap {g.gap.max():.2%} > 1 % on {g.model[~g.passes.astype(bool)].iloc[0]}"
    return f"passes spread and gap (max gap {g.gap.max():.3%} over {len(g)} models)"


def gap_summary(gaps: pd.DataFrame) -> pd.DataFrame:
    if not len(gaps):
        return pd.DataFrame()
    rows = []
    for c, g in gaps.groupby("candidate", sort=False):
        err = g.error.fillna("").astype(str)
        ok = g[err == ""]
        interp = ok[ok.train_loss_64 < 0.01]
        rows.append({"candidate": c, "models_tried": len(g), "calibration_failed": int(((err != "") & (err != "cap reached")).sum()),
                     "measured": len(ok), "median_gap": float(ok.gap.median()) if len(ok) else math.nan,
                     "max_gap": float(ok.gap.max()) if len(ok) else math.nan,
                     "over_1pct": int((ok.gap > GAP_MAX).sum()), "interpolating_measured": len(interp),
                     "max_gap_interpolating": float(interp.gap.max()) if len(interp) else math.nan})
    return pd.DataFrame(rows)


def select_variant(variant: str, selection: pd.DataFrame, spread_sel: pd.DataFrame, sel_specs: list[StudySpec], models: dict,
                   cfg: dict, sel_df: pd.DataFrame) -> dict:
    """Sections 5-6 for one circuit variant, on the selection half only."""
    spread_ok = dict(zip(spread_sel.candidate, spread_sel.feasible))
    eligible = names(ELIGIBLE)
    rds_table = selection[selection.measure.isin(eligible)]
    log: list[dict] = []
    print(f"[{variant}] measuring the witness gap lazily (selection half)", flush=True)
    chosen, decision_log = decide(rds_table, {c: spread_ok[c] for c in eligible}, GapOracle(sel_specs, models, cfg["n_gap"], cfg["gap_cap"], log, VARIANTS[variant]))
    top = str(rds_table.sort_values("primary", ascending=False).measure.iloc[0])
    fast = name("rds", 3, 1)
    if not chosen and not any(g["candidate"] == top for g in log):  # section 5: the best one's gap, feasibility ignored
        GapOracle(sel_specs, models, cfg["n_gap"], cfg["gap_cap"] / 2, log, VARIANTS[variant])(top)
    if not any(g["candidate"] == fast and g.get("error") != "cap reached" for g in log):  # the fast statement, every model
        GapOracle(sel_specs, models, cfg["n_gap"], cfg["gap_cap"] / 2, log, VARIANTS[variant])(fast, stop_at_failure=False)
    elif fast != chosen and len([g for g in log if g["candidate"] == fast]) < len(sel_specs):
        done = {g["model"] for g in log if g["candidate"] == fast}
        GapOracle([s for s in sel_specs if s.name not in done], models, cfg["n_gap"], cfg["gap_cap"] / 2, log,
                  VARIANTS[variant])(fast, stop_at_failure=False)
    gaps = pd.DataFrame(log)
    res: dict = {"variant": variant, "run_args": VARIANTS[variant] or {}, "chosen": chosen, "decision_log": decision_log, "gaps": gaps,
                 "status": {c: status(c, spread_sel, gaps) for c in eligible}, "top": top}
    second = pick_second(selection, spread_ok) if chosen else None
    res["second"] = second
    res["two"], res["two_gain"], res["adopt_two"] = None, None, False
    return res


def chosen_entry(res: dict) -> dict:
    out: dict = {"run_args": res["run_args"]}
    chosen = res["chosen"]
    if chosen:
        _, e, k = parse(chosen)
        out["chosen"] = {"candidate": chosen, "metric": RDS, "direction": ROW_SIGN, "epsilon": 2.0**-e, "n_directions": k,
                         "input_scale": 12, "graph": 5, "commitment_for_gap": "kzg/v1", "rows_per_sample": ROWS_PER_SAMPLE[k]}
        sec = res["second"]
        out["second_bound"] = ({"candidate": sec, "adopted": res["adopt_two"], "detection_gain_selection": res["two_gain"],
                                "status": "recommended pending a circuit and its witness-level gap" if res["adopt_two"] else "not adopted"}
                               if sec else {"candidate": None, "adopted": False, "status": "no flips setting passes the spread constraint"})
    else:
        out["chosen"] = "none feasible"
        out["default_unchanged"] = "rds/v1, rademacher-abs/v1, eps 2^-6, K 4"
    out["candidates"] = res["status"]
    out["decision_log"] = res["decision_log"]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="16 short-trained models for CI (a couple of minutes)")
    p.add_argument("--out", type=Path)
    p.add_argument("--cache", type=Path)
    args = p.parse_args(argv)
    mode = "quick" if args.quick else "full"
    cfg = MODES[mode]
    base_out = ROOT / "results" / "generalization" / "amendment"
    out = args.out or (base_out if mode == "full" else base_out / "quick")
    cache = args.cache or out / "models"
    torch.set_num_threads(1)
    out.mkdir(parents=True, exist_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    label = "" if mode == "full" else " (QUICK MODE: short training, 16 models; not the amendment's result)"

    specs, rows, data_cache, t0 = amendment_zoo(mode), [], {}, time.perf_counter()
    for i, spec in enumerate(specs, 1):
        rows.append(_row(spec, mode, cache, data_cache))
        print(f"[{i}/{len(specs)}] {spec.name}: gap {rows[-1]['gap']:.3f} ({time.perf_counter() - t0:.0f} s)", flush=True)
    df = pd.DataFrame(rows)
    t_models = time.perf_counter() - t0
    cands = {kind: names(kind) for kind in KINDS}
    all_cands = [c for kind in KINDS for c in cands[kind]]
    shown = cands[ELIGIBLE] + cands[SECOND]
    measures = [*all_cands, REFERENCE, *BASELINES]
    df.to_csv(out / "zoo.csv", index=False)

    # 1. selection half only --------------------------------------------------------------------------
    sel_df = df[df.half == "selection"].reset_index(drop=True)
    sel = study.Half(sel_df, n_boot=cfg["boot"], seed=BOOT_SEED)
    families = sel.families
    selection = sel.table(measures)
    spread_sel = spread_summary(sel_df, all_cands)
    selection = selection.merge(spread_sel.rename(columns={"candidate": "measure", "fail": "spread_fail_models", "feasible": "spread_ok"})
                                [["measure", "spread_fail_models", "worst_spread", "spread_ok"]], on="measure", how="left")
    selection.to_csv(out / "selection.csv", index=False)
    spread_sel.to_csv(out / "spread_selection.csv", index=False)
    sel_specs = [s for s in specs if half_of(s) == "selection"]
    sel_models = _models(sel_specs, cache, data_cache)
    results = {v: select_variant(v, selection, spread_sel, sel_specs, sel_models, cfg, sel_df) for v in VARIANTS}
    conf_raw = df[df.half == "confirmation"].reset_index(drop=True)
    for res in results.values():
        if res["chosen"] and res["second"]:  # thresholds come from the selection half only; confirmation rates reported later
            res["two"] = two_bound(sel_df, conf_raw, res["chosen"], res["second"])
            pooled = res["two"][(res["two"].half == "selection") & (res["two"].family == "pooled")].set_index("rule")
            res["two_gain"] = float(pooled.loc["two-bound", "detect_deviated"] - pooled.loc["single", "detect_deviated"])
            res["adopt_two"] = res["two_gain"] >= SECOND_GAIN - 1e-12
        res["gaps"].to_csv(out / f"gap_selection_{res['variant']}.csv", index=False)
    chosen_json = {"mode": mode, "protocol": "benchmarks/generalization/PROTOCOL-2.md",
                   **chosen_entry(results["default"]), "secondary_decomp_legs3": chosen_entry(results["legs3"])}
    (out / "chosen.json").write_text(json.dumps(chosen_json, indent=2, default=str))

    rds_table = selection[selection.measure.isin(cands[ELIGIBLE])].set_index("measure")
    lines = [f"# Amendment (PROTOCOL-2.md): selection half{label}", "",
             f"{len(sel_df)} models (replicate r2, families {', '.join(families)}). {cfg['boot']} stratified bootstrap resamples, "
             f"seed {BOOT_SEED}. Every candidate (tail quantiles included): selection.csv; spread per candidate: spread_selection.csv; "
             "per-model witness gaps: gap_selection_default.csv, gap_selection_legs3.csv.", ""]
    for v, res in results.items():
        what = "Primary rule (default circuit run arguments)" if v == "default" else "Secondary, addendum A1 (decomp_legs = 3 pinned)"
        lines += [f"**{what}: {('`' + res['chosen'] + '` chosen') if res['chosen'] else 'none feasible'}.**", ""]
    lines += [f"Best rds candidate by primary criterion, feasibility ignored: `{results['default']['top']}` "
              f"({rds_table.loc[results['default']['top'], 'primary']:+.3f}).", "",
              "## Feasibility of every rds candidate", "",
              _md(pd.DataFrame([{"candidate": c, "rows/sample": ROWS_PER_SAMPLE[parse(c)[2]], "primary": float(rds_table.loc[c, "primary"]),
                                 "AUC deviated": float(rds_table.loc[c, "auc_deviated"]),
                                 "default circuit": results["default"]["status"][c], "decomp_legs 3": results["legs3"]["status"][c]}
                                for c in cands[ELIGIBLE]])), "",
              "## Spread over 30 draws (p90 / p10), selection half", "",
              "fail = models with spread > 1.5 or p10 <= 0; p10_nonpositive = models with p10 <= 0.", "",
              _md(spread_sel[spread_sel.candidate.isin(shown)]), ""]
    for v, res in results.items():
        lines += [f"## Witness-level gaps measured, {v} circuit (64 samples, scale 2^12, graph 5, in the order of the rule)", "",
                  _md(gap_summary(res["gaps"])) if len(res["gaps"]) else "none", ""]
    lines += ["## Criteria (rds and flips candidates, reference, baselines)", "",
              "\n".join(study.table_markdown(selection[selection.measure.isin([*shown, REFERENCE, *BASELINES])], families)), ""]
    (out / "selection.md").write_text("\n".join(lines))
    print("chosen: " + ", ".join(f"{v}: {r['chosen']}" for v, r in results.items()), flush=True)

    # 2. confirmation half ---------------------------------------------------------------------------
    conf_df = conf_raw
    conf = study.Half(conf_df, n_boot=cfg["boot"], seed=BOOT_SEED)
    confirmation = conf.table(measures)
    spread_conf = spread_summary(conf_df, all_cands)
    spread_conf.to_csv(out / "spread_confirmation.csv", index=False)
    confirmation.to_csv(out / "confirmation.csv", index=False)
    conf_specs = [s for s in specs if half_of(s) == "confirmation"]
    conf_models = None
    lines = [f"# Amendment (PROTOCOL-2.md): confirmation half{label}", "", f"{len(conf_df)} models (replicate r3).", ""]
    outcome: dict = {"mode": mode}
    for v, res in results.items():
        chosen = res["chosen"]
        focus = chosen or res["top"]
        versus = {}
        for bar in (*BARS, "holdout_gap", REFERENCE):
            d, lo, hi = conf.difference(focus, bar)
            versus[bar] = {"bar_primary": float(conf.primary(bar)[0]), "difference": d, "lo": lo, "hi": hi, "beats": d > 0, "significant": lo > 0}
        o: dict = {"chosen": chosen, "focus": focus, "primary": float(conf.primary(focus)[0]), "versus": versus}
        head = "Primary rule (default circuit)" if v == "default" else "Secondary (addendum A1, decomp_legs = 3)"
        lines += [f"## {head}", ""]
        if chosen:
            if conf_models is None:
                conf_models = _models(conf_specs, cache, data_cache)
            clog: list[dict] = []
            GapOracle(conf_specs, conf_models, cfg["n_gap"], cfg["conf_gap_cap"], clog, VARIANTS[v])(chosen, stop_at_failure=False)
            cg = pd.DataFrame(clog)
            cg.to_csv(out / f"gap_confirmation_{v}.csv", index=False)
            measured = cg[cg.error.fillna("").astype(str) != "cap reached"]
            spread_pass = spread_feasible(conf_df, chosen)
            gap_pass = bool(len(measured) and measured.passes.astype(bool).all())
            o.update(spread_ok=spread_pass, gap_ok_measured=gap_pass, gap_models_measured=len(measured),
                     gap_models_unmeasured=len(conf_specs) - len(measured),
                     confirmed=all(versus[b]["beats"] for b in BARS) and spread_pass and gap_pass)
            lines += [f"Chosen on the selection half: `{chosen}`. **{'Confirmed' if o['confirmed'] else 'Not confirmed'}** under "
                      f"PROTOCOL-2.md section 7: spread <= 1.5 on every confirmation model: {spread_pass}; gap <= 1 % on every measured "
                      f"model: {gap_pass} ({len(measured)} of {len(conf_specs)} measured).", "",
                      _md(gap_summary(cg)), ""]
        else:
            lines += [f"None feasible, so nothing is confirmed; the best rds candidate by primary criterion (feasibility ignored), "
                      f"`{focus}`, is compared with the bars for information only.", ""]
        lines += ["| versus | its mean within-family tau | " + focus + " minus it [paired 95% CI] | beats | CI above 0 |", "|---|---|---|---|---|"]
        for bar, vv in versus.items():
            lines.append(f"| {bar} | {vv['bar_primary']:+.3f} | {vv['difference']:+.3f} [{vv['lo']:+.3f}, {vv['hi']:+.3f}] | "
                         f"{'yes' if vv['beats'] else 'no'} | {'yes' if vv['significant'] else 'no'} |")
        lines.append("")
        if res["two"] is not None:
            res["two"].to_csv(out / f"two_bound_{v}.csv", index=False)
            lines += [f"Two-bound statement (section 6): second bound `{res['second']}`; adopted on the selection half: {res['adopt_two']} "
                      f"(detection gain {res['two_gain']:+.3f}, needed {SECOND_GAIN}).", "",
                      _md(res["two"][["half", "family", "rule", "fpr_honest", "n_honest", "detect_deviated", "n_deviated", "detect_poor", "n_poor"]]), ""]
        outcome[v] = o
    order = list(selection.sort_values("primary", ascending=False).measure)
    keep = set(shown + [REFERENCE, *BASELINES])
    shown_conf = confirmation.set_index("measure").loc[[m for m in order if m in keep]].reset_index()
    lines += ["## Spread over 30 draws, confirmation half", "", _md(spread_conf[spread_conf.candidate.isin(shown)]), "",
              "## Criteria, in selection-half order (rds, flips, reference, baselines; every candidate: confirmation.csv)", "",
              "\n".join(study.table_markdown(shown_conf, families)), ""]
    (out / "confirmation.md").write_text("\n".join(lines))
    (out / "outcome.json").write_text(json.dumps(outcome, indent=2, default=str))
    print(f"models {t_models:.0f} s, total {time.perf_counter() - t0:.0f} s; wrote {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
