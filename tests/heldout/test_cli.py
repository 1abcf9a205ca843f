"""The challenge's command line: `zkcert challenge new`, and the bad-input rows of --challenge (one line, exit 3, nothing written)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from certs import TINY_ARGS
from zkcert.cli import main
from zkcert.heldout import Challenge
from zkcert.models import mlp, save_model

BAD_INPUT = 3


@pytest.fixture(scope="module")
def files(tmp_path_factory, digits_train) -> dict[str, Path]:
    """A 64-4-10 model file, an honest challenge, and one challenge file per bad row."""
    base = tmp_path_factory.mktemp("heldout-cli")
    torch.manual_seed(0)
    save_model(mlp(64, [4], 10), base / "m.pt")
    pool = digits_train.subset(list(range(400, 600)))
    honest = Challenge.issue(pool, 4, nonce="cli")
    honest.save(base / "honest.npz")
    fields = {"num_classes": np.int64(10), "nonce": np.str_("cli"), "sha256": np.str_(honest.sha256),
              "schema": np.str_("zkcert-challenge/v1")}
    x, y = honest.x.copy(), honest.y.copy()
    rows = {
        "edited": (x + np.float32(1 / 16), y, {}),
        "duplicate": (np.concatenate([x[:3], x[:1]]), y, {}),
        "nan": (np.where(np.arange(x.size).reshape(x.shape) == 5, np.nan, x).astype(np.float32), y, {}),
        "shape": (x.reshape(len(x), -1)[:, :32], y, {}),
        "classes": (x, y % 5, {"num_classes": np.int64(5)}),
    }
    for name, (bx, by, extra) in rows.items():
        np.savez(base / f"{name}.npz", x=bx, y=by, **{**fields, **extra})
    np.savez(base / "nan-pool.npz", x=np.where(np.arange(x.size).reshape(x.shape) == 5, np.nan, x).astype(np.float32), y=y)
    return {"base": base, "model": base / "m.pt", **{n: base / f"{n}.npz" for n in ["honest", *rows]}}


def test_challenge_new_prints_its_hash_and_nonce(tmp_path, capsys):
    assert main(["challenge", "new", "--data", "digits", "--samples", "8", "--out", str(tmp_path / "c.npz")]) == 0
    out = capsys.readouterr().out
    issued = Challenge.load(tmp_path / "c.npz")
    assert issued.sha256 in out and issued.nonce in out and len(issued) == 8


@pytest.mark.parametrize("args, match", [
    (["--data", "{base}/nan-pool.npz", "--samples", "2"], "NaN|finite"),
    (["--data", "digits", "--samples", "0"], "cannot draw"),
    (["--data", "digits", "--samples", "100000"], "cannot draw"),
])
def test_challenge_new_bad_inputs(files, tmp_path, capsys, args, match):
    out = tmp_path / "c.npz"
    code = main(["challenge", "new", *[a.format(base=files["base"]) for a in args], "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == BAD_INPUT and len(err.splitlines()) == 1 and not out.exists()
    assert pytest.importorskip("re").search(match, err), err


ROWS = {
    "edited": "edited after issue",
    "duplicate": "duplicate samples",
    "nan": "NaN|finite",
    "shape": "does not fit the model|shape",
    "classes": "classes",
}


@pytest.mark.parametrize("row", sorted(ROWS))
@pytest.mark.parametrize("command", ["prove", "measure", "verify"])
def test_bad_challenges_stop_in_one_line_writing_nothing(files, tmp_path, capsys, row, command):
    import re

    out = tmp_path / "cert"
    model_data = ["--model", str(files["model"]), "--data", "digits", "--samples", "2"]
    argv = {
        "prove": ["prove", *model_data, *TINY_ARGS, "--shard-size", "all", "--threshold", "1000", "--out", str(out),
                  "--challenge", str(files[row])],
        "measure": ["measure", *model_data, "--challenge", str(files[row])],
        "verify": ["verify", str(out), "--unanchored", "--challenge", str(files[row])],
    }[command]
    if command == "verify" and row in ("shape", "classes"):
        pytest.skip("verify has no model: a challenge that does not fit fails the certificate's 'heldout-challenge' check")
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == BAD_INPUT, err
    assert len(err.splitlines()) == 1 and re.search(ROWS[row], err), err
    assert not out.exists() and not list(tmp_path.iterdir())
