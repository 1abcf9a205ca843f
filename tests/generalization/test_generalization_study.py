"""The generalization studies: the pre-registered metric study of issue 11 (run.py: candidates' formulas, the
split, the bootstrap criteria, the decision rule, the quick end-to-end run) and the earlier flatness comparison
(flatness_run.py: Kendall, granulated Kendall, detection, its tiny run)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks" / "generalization"


def _load(name: str):
    """Import a benchmark module under a unique name, so it cannot clash with other benchmarks' modules."""
    spec = importlib.util.spec_from_file_location(f"zkcert_gen_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


analysis = _load("analysis")


def test_kendall_ci_brackets_tau_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    y = x + rng.normal(size=200)
    tau, lo, hi = analysis.kendall_ci(x, y, n_boot=300)
    assert tau == pytest.approx(stats.kendalltau(x, y).statistic)
    assert lo < tau < hi and 0.3 < tau < 0.7
    _, lo20, hi20 = analysis.kendall_ci(x[:20], y[:20], n_boot=300)
    assert hi20 - lo20 > hi - lo
    assert analysis.kendall_ci(x, -x, n_boot=50)[:1] == (-1.0,)


def test_granulated_kendall_averages_within_groups_only():
    df = pd.DataFrame({
        "base": ["a"] * 4 + ["b"] * 4,
        "varied": ["base", "lr", "lr", "wd"] * 2,
        "m": [1, 2, 3, 0, 1, 2, 3, 0],
        "gap": [0.1, 0.2, 0.3, 0.9, 0.3, 0.2, 0.1, 0.0],
    })
    g = analysis.granulated(df, "m", ("lr", "wd"))
    assert g["lr"] == pytest.approx(0.0)  # +1 in group a, -1 in group b
    assert g["wd"] == pytest.approx(0.0)  # -1 in a (0 -> 0.9 up while m goes down), +1 in b
    assert g["psi"] == pytest.approx(0.0)
    df.loc[4:, "gap"] = [0.1, 0.2, 0.3, 0.0]
    g = analysis.granulated(df, "m", ("lr", "wd"))
    assert g["lr"] == pytest.approx(1.0) and g["wd"] == pytest.approx(0.0)


def test_detection_auc_and_tpr_at_five_percent():
    positive = np.array([False] * 20 + [True] * 5)
    perfect = np.arange(25.0)
    assert analysis.detection(perfect, positive) == (1.0, 1.0)
    assert analysis.detection(-perfect, positive) == (0.0, 0.0)
    # one negative above every positive: AUC 1 - 5/100; at FPR 1/20 = 5 % all positives are caught
    scores = perfect.copy()
    scores[0] = 100
    assert analysis.detection(scores, positive) == (pytest.approx(0.95), 1.0)
    assert np.isnan(analysis.detection(perfect, np.zeros(25, bool))[0])


def test_labels_define_the_two_detection_tasks():
    df = pd.DataFrame({"gap": [0.05, 0.2, 0.01], "deviation": ["none", "none", "backdoor"]})
    assert analysis.labels(df, "gap").tolist() == [False, True, False]
    assert analysis.labels(df, "deviated").tolist() == [False, False, True]


def test_tiny_run_writes_every_output(tmp_path):
    """The flatness comparison (flatness_run.py) in its smallest setting: trains 5 models, measures them, writes the report."""
    proc = subprocess.run(
        [sys.executable, str(BENCH / "flatness_run.py"), "--tiny", "--out", str(tmp_path), "--cache", str(tmp_path / "models")],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in ("zoo.csv", "summary.csv", "report.md", "scatter.png", "roc_gap.png", "roc_deviated.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    zoo = pd.read_csv(tmp_path / "zoo.csv")
    assert len(zoo) == 5 and zoo.seed.nunique() == 5
    assert np.allclose(zoo.gap, zoo.train_acc - zoo.test_acc)
    assert (zoo["ds_k4_eps0.01__fwd"] == 9).all()  # 1 + 2K passes of the metric
    summary = pd.read_csv(tmp_path / "summary.csv")
    expected = {"holdout_gap", "ds_k1_eps0.01", "ds_k4_eps0.01", "keskar", "sam_one_step", "adaptive_avg",
                "adaptive_worst", "hessian_trace", "hessian_top_eig", "pac_bayes_mag"}
    assert set(summary.measure) == expected
    assert summary.tau_gap.between(-1, 1).all()
    assert summary.loc[summary.measure == "ds_k1_eps0.01", "cost_vs_ds"].item() == pytest.approx(1.0)
    assert "| ds_k1_eps0.01 |" in (tmp_path / "report.md").read_text()
    # a second run finds every row cached and reproduces the table exactly
    again = subprocess.run(
        [sys.executable, str(BENCH / "flatness_run.py"), "--tiny", "--out", str(tmp_path / "again"), "--cache", str(tmp_path / "models")],
        capture_output=True, text=True, timeout=120,
    )
    assert again.returncode == 0, again.stderr[-2000:]
    pd.testing.assert_frame_equal(zoo, pd.read_csv(tmp_path / "again" / "zoo.csv"))


# ==== the pre-registered metric study (run.py, PROTOCOL.md) ==============================================

sys.path.insert(0, str(BENCH))
import candidates as C  # noqa: E402
import study  # noqa: E402
import zoo as study_zoo_module  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.func import functional_call, grad, jvp  # noqa: E402

from zkcert.data import Dataset, load_bundled  # noqa: E402
from zkcert.metric import flat_params, hvp_sharpness, mean_loss  # noqa: E402
from zkcert.models import mlp, small_cnn  # noqa: E402
from zkcert.training import TrainConfig, train  # noqa: E402


@pytest.fixture(scope="module")
def trained_mlp():
    """A small digits MLP trained to a low (not zero) loss, and 200 of its training samples."""
    torch.manual_seed(0)
    data = load_bundled("digits", "train").head(200)
    model = train(mlp(64, [16], 10), data, TrainConfig(epochs=20, seed=0))
    return model, data


def _hvp_quadratic(model: nn.Module, data: Dataset, d: np.ndarray, loss) -> float:
    """Independent eps -> 0 limit of a candidate's numerator / (N K eps^2): mean over samples and directions of d^T H_l d."""
    import copy

    m64 = copy.deepcopy(model).double()
    names = [n for n, _ in m64.named_parameters()]
    shapes = [p.shape for _, p in m64.named_parameters()]
    x, y = torch.as_tensor(data.x, dtype=torch.float64), torch.as_tensor(data.y)

    def total(vec):
        params, off = {}, 0
        for n, shp in zip(names, shapes):
            size = int(np.prod(shp))
            params[n] = vec[off : off + size].view(shp)
            off += size
        return loss(functional_call(m64, params, (x,)), y).sum()

    theta = torch.as_tensor(flat_params(model))
    quad = [float(dk @ jvp(grad(total), (theta,), (dk,))[1]) for dk in torch.as_tensor(d)]
    return float(np.mean(quad) / len(data))


@pytest.fixture(scope="module")
def trained_linear():
    """Softmax regression on digits: smooth in theta (no ReLU kink), so second differences tend to d^T H d exactly.

    (In a ReLU network samples whose pre-activation lies within eps of a kink add O(eps^2) to the second
    difference that the Hessian does not see; it is small for cross-entropy on a fitted model but not for
    losses whose gradient stays large, such as the label-smoothed one.)
    """
    torch.manual_seed(0)
    data = load_bundled("digits", "train").head(200)
    return train(mlp(64, [], 10), data, TrainConfig(epochs=20, seed=0)), data


def test_cross_entropy_candidates_tend_to_the_hvp_limit_on_a_relu_net(trained_mlp):
    """DS and DS / L against zkcert.metric.hvp_sharpness (and hvp / L) for a small eps on an MLP."""
    model, data = trained_mlp
    d = C.family_directions("rabs", C.study_seed("t"), model, 2)
    h = hvp_sharpness(model, data, d)
    assert C.ds(model, data, d, 2.0**-10) == pytest.approx(h, rel=5e-3)
    assert C.rds(model, data, d, 2.0**-10) == pytest.approx(h / mean_loss(model, data), rel=5e-3)


def test_each_candidate_tends_to_its_hessian_formula(trained_linear):
    """Small eps: every normalization equals d^T H d of its loss over its denominator, computed independently."""
    model, data = trained_linear
    d = C.family_directions("rabs", C.study_seed("t"), model, 2)
    eps = 2.0**-10
    ce = lambda z, y: nn.functional.cross_entropy(z, y, reduction="none")  # noqa: E731
    with torch.no_grad():
        z = model.double()(torch.as_tensor(data.x, dtype=torch.float64))
        model.float()
        p = torch.softmax(z, 1)
        y = torch.as_tensor(data.y)
        v = float((p * (1 - p)).sum(1).mean())
        l_t = float(nn.functional.cross_entropy(z / 2, y))
        l_s = float(nn.functional.cross_entropy(z, y, label_smoothing=0.125))
    loss = mean_loss(model, data)
    h_ce = _hvp_quadratic(model, data, d, ce)
    assert h_ce == pytest.approx(hvp_sharpness(model, data, d), rel=1e-9)
    h_t = _hvp_quadratic(model, data, d, lambda z, y: nn.functional.cross_entropy(z / 2, y, reduction="none"))
    h_s = _hvp_quadratic(model, data, d, lambda z, y: nn.functional.cross_entropy(z, y, reduction="none", label_smoothing=0.125))
    expected = {"ds": h_ce, "rds": h_ce / loss, "pds": h_ce / v, "tds": h_t, "rtds": h_t / l_t, "lsds": h_s, "rlsds": h_s / l_s}
    for norm, fn in C.CANDIDATES.items():
        assert fn(model, data, d, eps) == pytest.approx(expected[norm], rel=1e-5), norm
    assert set(C.CANDIDATES) == set(C.NORMALIZATIONS)


def test_grid_matches_the_single_candidate_functions(trained_mlp):
    """all_candidates (shared forward passes, first K of 8 directions) equals each pure function on its own."""
    model, data = trained_mlp
    grid = C.all_candidates(model, data, "grid")
    assert list(grid) == C.all_names() or set(grid) == set(C.all_names())
    assert len(grid) == 7 * 2 * 6 * 4 == len(set(C.all_names()))
    seed = C.study_seed("grid")
    for family in C.FAMILIES:
        for k in (1, 4):
            d = C.family_directions(family, seed, model, k)
            for norm, fn in C.CANDIDATES.items():
                assert grid[C.name(norm, family, 3, k)] == pytest.approx(fn(model, data, d, 0.125), rel=1e-9), (norm, family, k)


def test_row_sign_direction_scales_each_unit():
    """row-sign/v1: theta + eps d scales every unit's incoming weights and bias by (1 + eps a_j), a_j = +/-1."""
    torch.manual_seed(1)
    for model in (mlp(5, [4, 3], 2), small_cnn((1, 4, 4), 3, 2)):
        d = C.family_directions("rsign", C.study_seed("rs"), model, 3)
        theta, off = flat_params(model), 0
        for layer in model:
            if not isinstance(layer, (nn.Linear, nn.Conv2d)):
                continue
            w = layer.weight.detach().double().numpy().reshape(layer.weight.shape[0], -1)
            b = layer.bias.detach().double().numpy()
            dw = d[:, off : off + w.size].reshape(3, *w.shape)
            db = d[:, off + w.size : off + w.size + b.size]
            a = db / b
            assert np.allclose(np.abs(a), 1) and np.allclose(dw, a[:, :, None] * w[None])
            off += w.size + b.size
        assert off == theta.size


def test_fixed_point_friendly_steps_and_names():
    eps = [2.0**-e for e in C.EPS_EXPONENTS]
    assert min(eps) == 2.0**-6 and max(eps) == 0.5
    assert all((e * 256).is_integer() for e in eps)  # exact at fixed-point scale 8 (2^8)
    assert C.parse(C.name("rds", "rsign", 3, 4)) == ("rds", "rsign", 3, 4)
    assert C.REFERENCE == "ds:rabs:e3:k1"


def test_split_puts_every_family_and_kind_in_both_halves():
    specs = study_zoo_module.study_zoo("full")
    assert len(specs) >= 150 and len({s.name for s in specs}) == len(specs) == len({s.seed for s in specs})
    cells = {}
    for s in specs:
        cells.setdefault((s.family, s.kind), []).append(s.half)
    for (family, kind), halves in cells.items():
        assert halves.count("selection") == halves.count("confirmation") >= 1, (family, kind)
    assert {f for f, _ in cells} == {"digits-mlp", "mnist-mlp", "digits-cnn"}
    kinds = {k for _, k in cells} - {"none"}
    assert len(kinds & set(study_zoo_module.DEVIATED_KINDS)) >= 6
    assert {"size_sweep", "duplication", "imbalance", "sorted", "prune", "weight_noise", "label_smoothing", "mixup"} <= kinds


def test_bootstrap_criteria_match_scipy_and_sklearn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    x, y = rng.normal(size=40), rng.normal(size=40)
    x[:5] = x[5]  # ties
    fams = np.array(["a"] * 20 + ["b"] * 20)
    idx = study.boot_indices(fams, n_boot=50, seed=1)
    assert (idx[0] == np.arange(40)).all()
    assert set(idx[1:, :20].ravel()) <= set(range(20))  # stratified: a family resamples only itself
    taus = study.kendall_tau_b(x, y, idx)
    for b in (0, 7, 31):
        assert taus[b] == pytest.approx(stats.kendalltau(x[idx[b]], y[idx[b]]).statistic)
    pos = y > 0.3
    aucs = study.auc(x, pos, idx)
    for b in (0, 9):
        assert aucs[b] == pytest.approx(roc_auc_score(pos[idx[b]], x[idx[b]]))


def test_decision_rule_prefers_the_cheaper_within_the_tolerance():
    names = ["rds:rabs:e3:k8", "rds:rsign:e3:k1", "ds:rsign:e2:k1", "pds:rsign:e1:k1", "tds:rsign:e4:k1"]
    table = pd.DataFrame({"measure": names, "primary": [0.50, 0.49, 0.40, 0.485, 0.49], "finite": True})
    selected, tied = study.select(table, names)
    # within 0.02 of 0.50: all but ds; K=1 before K=8; then tds < rds < pds (cheaper normalization)
    assert selected == "tds:rsign:e4:k1"
    assert set(tied.measure) == {"rds:rabs:e3:k8", "rds:rsign:e3:k1", "pds:rsign:e1:k1", "tds:rsign:e4:k1"}
    table.loc[4, "finite"] = False  # a candidate that is not finite on some model is excluded
    assert study.select(table, names)[0] == "rds:rsign:e3:k1"


def test_tiny_study_end_to_end(tmp_path):
    """`run.py --tiny` (the quick run's pipeline on 16 shorter-trained digits models): writes both halves' tables, and its
    choice is what the table says."""
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--tiny", "--boot", "200", "--out", str(tmp_path), "--cache", str(tmp_path / "models")],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in ("selection.csv", "selection.md", "confirmation.csv", "confirmation.md", "thresholds.csv",
                 "study_zoo.csv", "selected.json", "outcome.json", "scatter_selected.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    df = pd.read_csv(tmp_path / "study_zoo.csv")
    for (family, kind), g in df.groupby(["family", "kind"]):
        assert set(g.half) == {"selection", "confirmation"}, (family, kind)
    assert np.allclose(df.gap, df.train_acc - df.test_acc)
    measures = set(C.all_names()) | set(C.BASELINES)
    sel, conf = pd.read_csv(tmp_path / "selection.csv"), pd.read_csv(tmp_path / "confirmation.csv")
    assert set(sel.measure) == measures == set(conf.measure)
    # the decision rule, recomputed here from the selection table alone
    cand = sel[sel.measure.isin(C.all_names()) & sel.finite]
    close = cand[cand.primary >= cand.primary.max() - study.CLOSE - 1e-12]
    expected = min(close.measure, key=study.cost_key)
    chosen = json.loads((tmp_path / "selected.json").read_text())["selected"]
    assert chosen == expected
    # the primary criterion is the mean of the per-family taus, recomputed from the zoo table with scipy
    half = df[df.half == "selection"]
    taus = [stats.kendalltau(g[chosen], g.gap).statistic for _, g in half.groupby("family")]
    assert sel.set_index("measure").loc[chosen, "primary"] == pytest.approx(np.mean(taus))
    out = json.loads((tmp_path / "outcome.json").read_text())
    conf_primary = conf.set_index("measure").primary
    assert out["primary"] == pytest.approx(conf_primary[chosen])
    for bar in study.BARS:
        assert out["versus"][bar]["bar_primary"] == pytest.approx(conf_primary[bar])
    assert out["adopt"] == all(conf_primary[chosen] > conf_primary[b] for b in study.BARS)
    assert "TINY MODE" in (tmp_path / "confirmation.md").read_text()
    thr = pd.read_csv(tmp_path / "thresholds.csv")
    assert set(thr.measure) == {chosen, C.REFERENCE, "inv_loss"} and set(thr.family) == set(df.family)
