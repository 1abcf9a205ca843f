"""The study's candidate certified metrics and baselines, each a pure function of (model, data, directions, eps).

Notation (benchmarks/generalization/PROTOCOL.md, section 3): N samples, K directions d_k, step eps, z_i the
logits of sample i, p_i = softmax(z_i), and for a per-sample loss l the second difference
    Delta_ik(l) = l_i(theta + eps d_k) - 2 l_i(theta) + l_i(theta - eps d_k).
Every candidate is S(l) = sum_ik Delta_ik(l) divided by something the circuit also computes as a sum over
samples, so a certificate "candidate <= T" is the division-free inequality S(l) <= T * K * eps^2 * Den with
both sides summed sample by sample (per-sample cost: 1 + 2K forward passes, no per-parameter work beyond
forming theta +/- eps d_k, and none at all for the row-sign family).

The cross-entropy candidates reuse zkcert.metric (second_differences, per_sample_losses, value_from_sums);
only the temperature-scaled and label-smoothed losses are written here, as functions of the logits.
`all_candidates` computes the whole grid of the study from one set of perturbed forward passes and
uses the same `_from_sums` as the single-candidate functions, so each formula exists once.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from zkcert.data import Dataset
from zkcert.direction import derive_seed, directions, row_sign_directions, scale_invariant
from zkcert.metric import (
    DS,
    RDS,
    as_double,
    directional_sharpness,
    flat_params,
    loss_normalized_sharpness,
    mean_loss,
    per_sample_losses,
    second_differences,
    unflatten,
    value_from_sums,
)

TEMPERATURE = 2.0  # logits / 2: a one-bit shift in fixed point
SMOOTHING = 0.125  # 1/8: exact in fixed point
EPS_EXPONENTS = (6, 5, 4, 3, 2, 1)  # eps = 2^-j: exactly representable in fixed point at scale 8
KS = (1, 2, 4, 8)
FAMILIES = {"rabs": "rademacher-abs/v1", "rsign": "row-sign/v1"}
# cheapest first (PROTOCOL.md section 5): the circuit's extra per-sample work of each normalization
NORMALIZATIONS = ("ds", "tds", "rds", "rtds", "lsds", "rlsds", "pds")
REFERENCE = "ds:rabs:e3:k1"  # today's default: ds/v1, rademacher-abs/v1, eps 2^-3 = 0.125, K = 1
BASELINES = ("inv_loss", "train_loss", "neg_margin_mean", "neg_margin_q10", "holdout_gap")


def name(norm: str, family: str, eps_exp: int, k: int) -> str:
    """Column name of a candidate, e.g. 'rds:rsign:e3:k1' = rds/v1, row-sign/v1, eps 2^-3, K 1."""
    return f"{norm}:{family}:e{eps_exp}:k{k}"


def parse(candidate: str) -> tuple[str, str, int, int]:
    """(normalization, family, eps exponent, K) of a candidate name."""
    norm, family, e, k = candidate.split(":")
    return norm, family, int(e[1:]), int(k[1:])


def all_names() -> list[str]:
    """Every candidate of the study: 7 normalizations x 2 families x 6 eps x 4 K = 336."""
    return [name(n, f, e, k) for n in NORMALIZATIONS for f in FAMILIES for e in EPS_EXPONENTS for k in KS]


# ---- per-sample losses written here (cross-entropy itself is zkcert.metric.per_sample_losses) ----------


def tempered_ce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """l^T_i = CE(z_i / T, y_i), T = 2. Circuit: the same log-sum-exp as CE on logits shifted right by one bit."""
    return nn.functional.cross_entropy(logits / TEMPERATURE, y, reduction="none")


def smoothed_ce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """l^a_i = (1 - a) CE(z_i, y_i) + a mean_c(-log p_ic), a = 1/8 = logsumexp(z_i) - (1 - a) z_iy - a mean_c z_ic.

    Circuit: the log-sum-exp of CE plus C additions per sample; a = 1/8 is exact in fixed point.
    """
    return nn.functional.cross_entropy(logits, y, reduction="none", label_smoothing=SMOOTHING)


def prob_variance(logits: torch.Tensor) -> torch.Tensor:
    """v_i = sum_c p_ic (1 - p_ic) = 1 - sum_c p_ic^2: the factor by which CE's curvature J^T(diag p - p p^T)J vanishes.

    Circuit: the softmax is already formed for the log-sum-exp; C products and a sum per sample.
    """
    p = torch.softmax(logits, dim=1)
    return 1.0 - (p * p).sum(dim=1)


def _logits(model: nn.Module, data: Dataset, theta: np.ndarray) -> torch.Tensor:
    """Float64 logits at parameters theta (zkcert.metric's float64 functional call)."""
    model64 = as_double(model)
    vec = torch.as_tensor(theta, dtype=torch.float64)
    return functional_call(model64, unflatten(model64, vec), (torch.as_tensor(data.x, dtype=torch.float64),))


def _loss_second_differences(model: nn.Module, data: Dataset, d: np.ndarray, eps: float,
                             loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> tuple[np.ndarray, np.ndarray]:
    """(Delta (K, N) of a logit-based loss, its per-sample values at theta (N,)), float64."""
    theta, y = flat_params(model), torch.as_tensor(data.y)
    with torch.no_grad():
        base = loss(_logits(model, data, theta), y)
        rows = [loss(_logits(model, data, theta + eps * dk), y) - 2 * base + loss(_logits(model, data, theta - eps * dk), y)
                for dk in d]
    return torch.stack(rows).numpy(), base.numpy()


# ---- the one place each normalization's formula lives ------------------------------------------------


def _from_sums(norm: str, numerator: float, n: int, k: int, eps: float, den_sum: float) -> float:
    """A candidate's value from S = sum_ik Delta_ik and the denominator's per-sample sum.

    ds, tds, lsds: S / (N K eps^2) (den_sum unused); rds, rtds, rlsds: S / (K eps^2 sum_i l_i(theta));
    pds: S / (K eps^2 sum_i v_i(theta)). The ds and rds cases are zkcert.metric.value_from_sums itself.
    """
    if norm in ("ds", "tds", "lsds"):
        return value_from_sums(DS, numerator, None, n, k, eps)
    if norm in ("rds", "rtds", "rlsds", "pds"):
        return value_from_sums(RDS, numerator, den_sum, n, k, eps)
    raise ValueError(f"unknown normalization {norm!r}")


def _ce_parts(model: nn.Module, data: Dataset, d: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """(Delta (K, N) of cross-entropy, l_i(theta) (N,)) from zkcert.metric."""
    with torch.no_grad():
        base = per_sample_losses(model, data, flat_params(model)).numpy()
    return second_differences(model, data, d, eps), base


def ds(model: nn.Module, data: Dataset, d: np.ndarray, eps: float) -> float:
    """"ds/v1": DS = sum_ik Delta_ik(CE) / (N K eps^2). Circuit: S <= T N K eps^2 (today's statement)."""
    return directional_sharpness(model, data, d, eps)


def rds(model: nn.Module, data: Dataset, d: np.ndarray, eps: float) -> float:
    """"rds/v1": DS / L = sum_ik Delta_ik(CE) / (K eps^2 sum_i l_i(theta)).

    Circuit: sum_k sum_i [l_i(theta+eps d_k) - 2 l_i(theta) + l_i(theta-eps d_k)] <= T K eps^2 sum_i l_i(theta),
    both sides in the circuit; l_i(theta) is already computed for the numerator, so the extra cost is one sum.
    """
    return loss_normalized_sharpness(model, data, d, eps)


def pds(model: nn.Module, data: Dataset, d: np.ndarray, eps: float) -> float:
    """DS / V, V = mean_i sum_c p_ic (1 - p_ic) at theta: sum_ik Delta_ik(CE) / (K eps^2 sum_i v_i).

    Circuit: S <= T K eps^2 sum_i (1 - sum_c p_ic^2); the softmax at theta is already computed for l_i(theta),
    so the extra cost is C products per sample.
    """
    diffs, _ = _ce_parts(model, data, d, eps)
    with torch.no_grad():
        v = prob_variance(_logits(model, data, flat_params(model))).numpy()
    return _from_sums("pds", float(diffs.sum()), len(data), len(d), eps, float(v.sum()))


def tds(model: nn.Module, data: Dataset, d: np.ndarray, eps: float) -> float:
    """DS of the temperature-2 loss: sum_ik Delta_ik(l^T) / (N K eps^2). Circuit: as ds/v1 on logits >> 1."""
    diffs, _ = _loss_second_differences(model, data, d, eps, tempered_ce)
    return _from_sums("tds", float(diffs.sum()), len(data), len(d), eps, 0.0)


def rtds(model: nn.Module, data: Dataset, d: np.ndarray, eps: float) -> float:
    """DS of l^T over its mean: sum_ik Delta_ik(l^T) / (K eps^2 sum_i l^T_i(theta)). Circuit: as rds/v1 with l^T."""
    diffs, base = _loss_second_differences(model, data, d, eps, tempered_ce)
    return _from_sums("rtds", float(diffs.sum()), len(data), len(d), eps, float(base.sum()))


def lsds(model: nn.Module, data: Dataset, d: np.ndarray, eps: float) -> float:
    """DS of the label-smoothed loss (a = 1/8): sum_ik Delta_ik(l^a) / (N K eps^2). Circuit: as ds/v1 with l^a."""
    diffs, _ = _loss_second_differences(model, data, d, eps, smoothed_ce)
    return _from_sums("lsds", float(diffs.sum()), len(data), len(d), eps, 0.0)


def rlsds(model: nn.Module, data: Dataset, d: np.ndarray, eps: float) -> float:
    """DS of l^a over its mean: sum_ik Delta_ik(l^a) / (K eps^2 sum_i l^a_i(theta)). Circuit: as rds/v1 with l^a."""
    diffs, base = _loss_second_differences(model, data, d, eps, smoothed_ce)
    return _from_sums("rlsds", float(diffs.sum()), len(data), len(d), eps, float(base.sum()))


CANDIDATES: dict[str, Callable[[nn.Module, Dataset, np.ndarray, float], float]] = {
    "ds": ds, "tds": tds, "rds": rds, "rtds": rtds, "lsds": lsds, "rlsds": rlsds, "pds": pds,
}


def family_directions(family: str, seed: bytes, model: nn.Module, k: int) -> np.ndarray:
    """(K, P) directions: 'rabs' d = r * |theta| (rademacher-abs/v1), 'rsign' d_W[j] = a_j W[j] (row-sign/v1)."""
    if family == "rabs":
        theta = flat_params(model)
        return scale_invariant(directions(seed, theta.size, k), theta)
    if family == "rsign":
        return row_sign_directions(seed, model, k)
    raise ValueError(f"unknown direction family {family!r}")


def study_seed(nonce: str) -> bytes:
    """The study's direction seed: dummy commitments, the model's name as nonce (one direction per model)."""
    return derive_seed("0x0", "0x0", nonce)


def all_candidates(model: nn.Module, data: Dataset, nonce: str, *, eps_exponents=EPS_EXPONENTS, ks=KS) -> dict[str, float]:
    """Every candidate of the grid on one model, from shared forward passes (the first K of max(ks) directions)."""
    seed, kmax = study_seed(nonce), max(ks)
    with torch.no_grad():
        z = _logits(model, data, flat_params(model))
    v_sum = float(prob_variance(z).sum())
    out: dict[str, float] = {}
    for family in FAMILIES:
        d = family_directions(family, seed, model, kmax)
        for e in eps_exponents:
            eps = 2.0**-e
            ce, ce_base = _ce_parts(model, data, d, eps)
            t, t_base = _loss_second_differences(model, data, d, eps, tempered_ce)
            ls, ls_base = _loss_second_differences(model, data, d, eps, smoothed_ce)
            parts = {"ds": (ce, 0.0), "rds": (ce, ce_base.sum()), "pds": (ce, v_sum), "tds": (t, 0.0),
                     "rtds": (t, t_base.sum()), "lsds": (ls, 0.0), "rlsds": (ls, ls_base.sum())}
            for k in ks:
                for norm in NORMALIZATIONS:
                    diffs, den = parts[norm]
                    out[name(norm, family, e, k)] = _from_sums(norm, float(diffs[:k].sum()), len(data), k, eps, float(den))
    return out


# ---- baselines ---------------------------------------------------------------------------------------


def inv_loss(model: nn.Module, data: Dataset) -> float:
    """1/L, L the mean training cross-entropy (zkcert.metric.mean_loss): the bar a sharpness metric must beat."""
    loss = mean_loss(model, data)
    return 1.0 / loss if loss > 0 else math.inf


def normalized_margins(model: nn.Module, data: Dataset) -> np.ndarray:
    """(z_iy - max_{c != y} z_ic) / prod over Linear/Conv2d layers of ||W||_F (Bartlett-style scale normalization)."""
    with torch.no_grad():
        z = _logits(model, data, flat_params(model))
        y = torch.as_tensor(data.y)
        true = z.gather(1, y[:, None])[:, 0]
        other = z.scatter(1, y[:, None], -math.inf).max(dim=1).values
        scale = math.prod(float(m.weight.detach().double().norm()) for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d)))
    return ((true - other) / scale).numpy()


def baselines(model: nn.Module, data: Dataset, proxy: Dataset) -> dict[str, float]:
    """The baselines of PROTOCOL.md section 3 (oriented so that higher = predicted worse, except train_loss)."""
    from zkcert.training import accuracy

    margins = normalized_margins(model, data)
    return {
        "inv_loss": inv_loss(model, data),
        "train_loss": mean_loss(model, data),
        "neg_margin_mean": -float(margins.mean()),
        "neg_margin_q10": -float(np.quantile(margins, 0.10)),
        "holdout_gap": accuracy(model, data) - accuracy(model, proxy),
    }
