"""Bad inputs to measure, commit and prove: one line naming the problem, exit 3, no traceback, nothing written.

Each row of CASES is run through every command of the CLI (zkcert.cli.main returns the exit code);
the README's "Bad inputs" table lists the same rows. The API rejects the same inputs when the Dataset
or model is built or first checked (test_api_rejects_at_construction).
"""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from zkcert.cli import main
from zkcert.data import Dataset
from zkcert.errors import InputError, UnsupportedLayerError
from zkcert.models import MODEL_FORMAT, mlp, save_model

BAD_INPUT = 3  # zkcert.errors.InputError.exit_code
X = np.random.default_rng(0).random((4, 1, 8, 8)).astype(np.float32)
Y = np.array([0, 1, 2, 3])
_MARKER = "pickle-code-ran"


class _RunsCode:
    """A pickle that would create a marker file if anything unpickled it with code execution allowed."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _with(x: np.ndarray, index: int, value: float) -> np.ndarray:
    x = x.copy()
    x.flat[index] = value
    return x


def _npz(path: Path, **arrays) -> None:
    np.savez(path, **arrays)


def _corrupt(path: Path) -> None:
    """A zip whose directory is intact but whose x.npy bytes are flipped (CRC mismatch)."""
    np.savez(path, x=X, y=Y)
    raw = bytearray(path.read_bytes())
    at = raw.index(b"\x93NUMPY") + 200
    raw[at:at + 16] = bytes(b ^ 0xFF for b in raw[at:at + 16])
    path.write_bytes(bytes(raw))


def _state(model: nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# Data files: name -> writer. The model is the 64-4-10 MLP of `good_model`.
DATA = {
    "nan.npz": lambda p: _npz(p, x=_with(X, 5, np.nan), y=Y),
    "inf.npz": lambda p: _npz(p, x=_with(X, 70, -np.inf), y=Y),
    "label-high.npz": lambda p: _npz(p, x=X, y=np.array([0, 1, 2, 10]), num_classes=10),
    "label-negative.npz": lambda p: _npz(p, x=X, y=np.array([0, -1, 2, 3])),
    "label-float.npz": lambda p: _npz(p, x=X, y=np.array([0.5, 1.0, 2.0, 3.0])),
    "lengths.npz": lambda p: _npz(p, x=X, y=Y[:3]),
    "shape.npz": lambda p: _npz(p, x=X[:, :, :7, :7].copy(), y=Y),
    "classes.npz": lambda p: _npz(p, x=X, y=np.array([0, 1, 2, 0]), num_classes=3),
    "empty.npz": lambda p: _npz(p, x=np.zeros((0, 1, 8, 8), np.float32), y=np.zeros(0, np.int64)),
    "truncated.npz": lambda p: (_npz(p, x=X, y=Y), p.write_bytes(p.read_bytes()[:300])),
    "corrupt.npz": _corrupt,
    "no-x.npz": lambda p: _npz(p, y=Y),
    "no-y.npz": lambda p: _npz(p, x=X),
    "object.npz": lambda p: _npz(p, x=np.array([[1.0], ["a"]], dtype=object), y=Y[:2]),
    "huge.npz": lambda p: _npz(p, x=X * np.float32(1e6), y=Y, num_classes=10),
}

# Model files: name -> writer, given the good model.
MODELS = {
    "random.pt": lambda p, m: p.write_bytes(np.random.default_rng(1).bytes(4096)),
    "state-dict.pt": lambda p, m: torch.save(m.state_dict(), p),
    "whole-module.pt": lambda p, m: torch.save(m, p),
    "plain.pkl": lambda p, m: p.write_bytes(pickle.dumps({"weights": [1, 2, 3]})),
    "code.pkl": lambda p, m: p.write_bytes(pickle.dumps(_RunsCode(str(p.parent / _MARKER)))),
    "truncated.pt": lambda p, m: (save_model(m, p), p.write_bytes(p.read_bytes()[:500])),
    "sigmoid.pt": lambda p, m: torch.save({"format": MODEL_FORMAT, "state_dict": _state(m), "layers": [
        {"type": "Flatten"}, {"type": "Linear", "in_features": 64, "out_features": 4}, {"type": "Sigmoid"},
        {"type": "Linear", "in_features": 4, "out_features": 10}]}, p),
    "nan-weights.pt": lambda p, m: (save_model(m, p), _poison(p)),
    "no-layers.pt": lambda p, m: torch.save({"format": MODEL_FORMAT, "state_dict": _state(m)}, p),
}


def _poison(path: Path) -> None:
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["1.weight"][0, 0] = float("nan")
    torch.save(payload, path)


# (case id, model file or None for the good one, data, extra arguments, message)
CASES = [
    ("NaN feature", None, "nan.npz", [], "x contains 1 NaN or inf values (in 1 samples, first sample 0)"),
    ("infinite feature", None, "inf.npz", [], "x contains 1 NaN or inf values (in 1 samples, first sample 1)"),
    ("label >= num_classes", None, "label-high.npz", [], "labels must lie in [0, 9], got range [0, 10]"),
    ("negative label", None, "label-negative.npz", [], "labels must lie in [0, 3], got range [-1, 3]"),
    ("non-integer label", None, "label-float.npz", [], "y must hold integer labels, got float64"),
    ("x and y lengths", None, "lengths.npz", [], "x has 4 samples but y has 3"),
    ("sample shape vs model", None, "shape.npz", [], "model does not accept inputs of shape (1, 7, 7)"),
    ("classes vs model", None, "classes.npz", [], "model outputs 10 classes but the data has 3 classes"),
    ("empty dataset", None, "empty.npz", [], "the dataset is empty"),
    ("truncated .npz", None, "truncated.npz", [], "as .npz: it is not a zip archive (truncated, or not an .npz)"),
    ("corrupt .npz", None, "corrupt.npz", [], "corrupt.npz as .npz (BadZipFile: Bad CRC-32"),
    (".npz without x", None, "no-x.npz", [], "must contain arrays 'x' and 'y', found ['y']"),
    (".npz without y", None, "no-y.npz", [], "must contain arrays 'x' and 'y', found ['x']"),
    (".npz of objects", None, "object.npz", [], "it holds object (pickled) arrays"),
    ("features beyond the fixed point", None, "huge.npz", [], "the circuit holds values below"),
    ("missing data file", None, "nope.npz", [], "data file not found"),
    ("unknown dataset name", None, "digitz", [], "data file not found: digitz (nor a bundled dataset: digits, mnist5k, cifar10)"),
    ("negative --samples", None, "digits", ["--samples", "-1"], "asked for -1 samples; the number of samples must be at least 1"),
    ("zero --samples", None, "digits", ["--samples", "0"], "asked for 0 samples; the number of samples must be at least 1"),
    ("model: random bytes", "random.pt", "digits", [], "as a zkcert model"),
    ("model: torch.save(state_dict)", "state-dict.pt", "digits", [], "is not a zkcert-model/v1 file; save models with zkcert.save_model"),
    ("model: torch.save(module)", "whole-module.pt", "digits", [], "as a zkcert model (UnpicklingError)"),
    ("model: plain pickle", "plain.pkl", "digits", [], "as a zkcert model (UnpicklingError)"),
    ("model: pickle that runs code", "code.pkl", "digits", [], "as a zkcert model (UnpicklingError)"),
    ("model: truncated", "truncated.pt", "digits", [], "as a zkcert model"),
    ("model: unsupported layer", "sigmoid.pt", "digits", [], "layer 2 (Sigmoid) in"),
    ("model: NaN weight", "nan-weights.pt", "digits", [], "has 1 NaN or infinite values in parameter 1.weight"),
    ("model: no layers", "no-layers.pt", "digits", [], "needs a list 'layers' and a dict 'state_dict'"),
    ("model: missing file", "missing.pt", "digits", [], "model file not found"),
]

COMMANDS = {
    "measure": [],
    "commit": ["--out", "{out}/pub"],
    "prove": ["--threshold", "1000", "--nonce", "n", "--out", "{out}/cert"],
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, proof_mlp) -> Path:
    folder = tmp_path_factory.mktemp("bad-inputs")
    save_model(proof_mlp, folder / "good.pt")
    for name, write in DATA.items():
        write(folder / name)
    for name, write in MODELS.items():
        write(folder / name, proof_mlp)
    return folder


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("case,model,data,extra,message", CASES, ids=[c[0] for c in CASES])
def test_bad_input(case, model, data, extra, message, command, inputs, tmp_path, monkeypatch, capsys):
    work, tmp = tmp_path / "cwd", tmp_path / "tmp"
    work.mkdir()
    tmp.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))  # where prove's private temporary folder would go
    data_arg = str(inputs / data) if data.endswith(".npz") else data
    argv = [command, "--model", str(inputs / (model or "good.pt")), "--data", data_arg, *extra]
    argv += [a.replace("{out}", str(work / "out")) for a in COMMANDS[command]]
    if "--samples" not in extra and data == "digits":
        argv += ["--samples", "2"]

    assert main(argv) == BAD_INPUT
    captured = capsys.readouterr()
    err = " ".join(captured.err.split())  # rich wraps long lines at the console width
    assert err.startswith("error: ") and message in err, err
    assert captured.err.count("error:") == 1 and "Traceback" not in captured.err
    assert captured.out == ""
    assert list(work.iterdir()) == [] and list(tmp.iterdir()) == [], "a bad input must write nothing"
    assert not (inputs / _MARKER).exists(), "loading a model file ran pickled code"


def _bad_dataset(kind: str) -> None:
    x, y = X.astype(np.float32), Y
    {
        "nan": lambda: Dataset(_with(x, 0, np.nan), y, 10),
        "label": lambda: Dataset(x, np.array([0, 1, 2, 10]), 10),
        "float label": lambda: Dataset(x, y.astype(np.float64), 10),
        "lengths": lambda: Dataset(x, y[:3], 10),
        "empty": lambda: Dataset(x[:0], y[:0], 10),
        "num_classes": lambda: Dataset(x, y, 4.5),
        "head": lambda: Dataset(x, y, 10).head(-1),
    }[kind]()


@pytest.mark.parametrize("kind,message", [
    ("nan", "NaN or inf"), ("label", "labels must lie in"), ("float label", "integer labels"),
    ("lengths", "4 samples but y has 3"), ("empty", "the dataset is empty"), ("num_classes", "num_classes must be an integer"),
    ("head", "at least 1"),
])
def test_api_rejects_bad_data_at_construction(kind, message):
    with pytest.raises(InputError, match=message):
        _bad_dataset(kind)


@pytest.mark.parametrize("kind,error,message", [
    ("sigmoid", UnsupportedLayerError, r"layer 2 \(Sigmoid\) is not supported"),
    ("nan weight", InputError, "NaN or infinite values in parameter 1.weight"),
    ("input shape", InputError, r"does not accept inputs of shape \(1, 8, 8\)"),
])
def test_api_rejects_bad_models(kind, error, message, tmp_path, monkeypatch):
    from zkcert.api import commit, measure
    from zkcert.proving import prove

    model = mlp(64, [4], 10)
    if kind == "sigmoid":
        model[2] = nn.Sigmoid()
    elif kind == "nan weight":
        with torch.no_grad():
            model[1].weight[0, 0] = float("nan")
    else:
        model = mlp(32, [4], 10)
    data = Dataset(X, Y, 10)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for call in (lambda: measure(model, data), lambda: commit(model, data),
                 lambda: prove(model, data, threshold=1000.0, out=tmp_path / "cert")):
        with pytest.raises(error, match=message):
            call()
    assert list(tmp_path.iterdir()) == []


def test_output_path_under_a_file_is_one_line(inputs, tmp_path, capsys):
    (tmp_path / "file").write_text("")
    argv = ["commit", "-m", str(inputs / "good.pt"), "-d", "digits", "-n", "2", "--out", str(tmp_path / "file" / "pub")]
    assert main(argv) == BAD_INPUT
    err = " ".join(capsys.readouterr().err.split())
    assert "is a file, not a folder" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"] and (tmp_path / "file").read_text() == ""


@pytest.mark.parametrize("data, message", [
    ("shape.npz", "model does not accept inputs of shape"),
    # Single-proof and shard plans build their vectors in one place, which checks the range up front.
    ("huge.npz", "the circuit holds values below"),
])
def test_sharded_prove_of_bad_input_leaves_no_work_folder(inputs, tmp_path, monkeypatch, capsys, data, message):
    """The private work folder (OUT.work) is created only once the inputs passed their checks."""
    monkeypatch.chdir(tmp_path)
    argv = ["prove", "-m", str(inputs / "good.pt"), "-d", str(inputs / data), "--shard-size", "2",
            "-t", "1000", "--out", "cert"]
    assert main(argv) == BAD_INPUT
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
