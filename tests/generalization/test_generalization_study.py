"""The study's plumbing (Kendall, granulated Kendall, detection) and the tiny end-to-end run."""

from __future__ import annotations

import importlib.util
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
    """The end-to-end run in its smallest setting: trains 5 models, measures them, writes the report."""
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--tiny", "--out", str(tmp_path), "--cache", str(tmp_path / "models")],
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
        [sys.executable, str(BENCH / "run.py"), "--tiny", "--out", str(tmp_path / "again"), "--cache", str(tmp_path / "models")],
        capture_output=True, text=True, timeout=120,
    )
    assert again.returncode == 0, again.stderr[-2000:]
    pd.testing.assert_frame_equal(zoo, pd.read_csv(tmp_path / "again" / "zoo.csv"))


def test_quick_mode_regenerates_the_quick_study(tmp_path):
    """`run.py --quick` (the mode the README promises under 5 minutes) runs cold and writes its report."""
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--quick", "--out", str(tmp_path), "--cache", str(tmp_path / "models")],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    zoo = pd.read_csv(tmp_path / "zoo.csv")
    assert len(zoo) == 15 and zoo.seed.nunique() == 15
    assert set(zoo.deviation) > {"none"}, "the quick zoo must include deviated training"
    assert "| ds_k1_eps0.01 |" in (tmp_path / "report.md").read_text()
