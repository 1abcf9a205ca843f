"""`zkcert robust ...` through zkcert.cli.main: files written, numbers printed, clean errors."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from zkcert.cli import main
from zkcert.models import mlp, save_model
from zkcert.training import TrainConfig, train


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, digits_train):
    torch.manual_seed(0)
    model = train(mlp(64, [16], 10), digits_train.head(400), TrainConfig(epochs=10, seed=0))
    path = tmp_path_factory.mktemp("m") / "digits.pt"
    save_model(model, path)
    return path


def test_analyze_writes_ranked_csv(tmp_path, model_file, capsys):
    rc = main(["robust", "analyze", "--model", str(model_file), "--data", "digits", "--samples", "300",
               "--k", "12", "--neighbours", "5", "--attacks", "--out", str(tmp_path), "--no-progress"])
    assert rc == 0
    assert "12 weak-robust samples of 300" in capsys.readouterr().out
    with open(tmp_path / "analysis.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 300
    weak = [r for r in rows if r["weak_robust"] == "True"]
    assert len(weak) == 12 and all(r["correct"] == "True" for r in weak)
    res_weak = max(float(r["resilience"]) for r in weak)
    others = [float(r["resilience"]) for r in rows if r["weak_robust"] == "False" and r["correct"] == "True"]
    assert res_weak <= min(others)  # bottom-k really is the bottom
    assert np.median([float(r["deepfool_l2"]) for r in weak]) < np.median(
        [float(r["deepfool_l2"]) for r in rows if r["correct"] == "True"])


def test_evaluate_and_enhance(tmp_path, model_file, capsys):
    common = ["--model", str(model_file), "--data", "digits", "--samples", "300", "--k", "20", "--perturbations",
              "fgsm,contrast", "--severities", "1,5", "--out", str(tmp_path), "--no-progress"]
    assert main(["robust", "evaluate", *common]) == 0
    assert "mean perturbed accuracy: weak-robust" in capsys.readouterr().out
    for name in ("evaluation.csv", "evaluation.md", "evaluation.png"):
        assert (tmp_path / name).stat().st_size > 100
    assert main(["robust", "enhance", *common, "--top-types", "1", "--copies", "2", "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "guided by:" in out and "uniform: clean" in out
    assert (tmp_path / "enhanced_guided.pt").is_file()
    assert "| guided |" in (tmp_path / "enhance.md").read_text()


def test_default_model_is_trained_when_omitted(tmp_path, capsys):
    rc = main(["robust", "analyze", "--data", "digits", "--samples", "200", "--k", "5", "--neighbours", "3",
               "--out", str(tmp_path), "--no-progress"])
    assert rc == 0
    assert "no --model given: training the default model" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", "missing.npz"], "data file not found"),
        (["--data", "digits", "--perturbations", "fog"], "unknown perturbation"),
        (["--data", "digits", "--severities", "1,x"], "--severities must be"),
        (["--data", "digits", "--threshold", "0.0", "--samples", "50"], "resilience below 0"),
    ],
)
def test_errors_are_one_line_exit_3(tmp_path, args, message, capsys):
    rc = main(["robust", "evaluate", *args, "--out", str(tmp_path), "--no-progress"])
    assert rc == 3  # InputError: bad input
    err = capsys.readouterr().err
    # rich wraps long messages at the console width, so compare with whitespace collapsed
    assert err.startswith("error:") and message in " ".join(err.split()).replace("( ", "(")
    assert "Traceback" not in err


def test_wrong_model_for_data(tmp_path, model_file, capsys):
    rc = main(["robust", "analyze", "--model", str(model_file), "--data", "cifar10", "--out", str(tmp_path),
               "--no-progress"])
    assert rc == 3  # InputError: bad input
    assert "model does not accept inputs of shape" in capsys.readouterr().err


def test_npz_data_needs_test_data(tmp_path, capsys):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.random.default_rng(0).random((20, 1, 8, 8)).astype(np.float32), y=np.arange(20) % 2)
    rc = main(["robust", "evaluate", "--data", str(path), "--out", str(tmp_path), "--no-progress"])
    assert rc == 3  # InputError: bad input
    assert "--test-data is required" in capsys.readouterr().err
