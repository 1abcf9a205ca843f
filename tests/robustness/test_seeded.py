"""`zkcert robust analyze --seeded`: the resilience claim's float counts, printed; bad input is one line and writes nothing."""

from __future__ import annotations

import pytest

from zkcert.cli import main
from zkcert.commitments import Salts
from zkcert.data import load_bundled
from zkcert.models import load_model, save_model
from zkcert.published import Published
from zkcert.robustness.seeded import seeded_resilience

C_THETA, C_DATA = "0x" + "12" * 32, "0x" + "34" * 32


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_mlp):
    """(model file, commit folder) of the session's small digits model."""
    model = tiny_mlp
    base = tmp_path_factory.mktemp("seeded")
    save_model(model, base / "m.pt")
    Published(C_DATA, C_THETA, None, Salts.fresh()).save(base / "committed")
    return base / "m.pt", base / "committed"


def test_cli_prints_the_api_counts(files, capsys) -> None:
    model, committed = files
    rc = main(["robust", "analyze", "--seeded", "--model", str(model), "--data", "digits", "--samples", "200",
               "--commitments", str(committed), "--nonce", "n1", "--degrees", "0.25", "--neighbours", "4"])
    assert rc == 0
    counts = seeded_resilience(load_model(model), load_bundled("digits", "train").head(200), model_commitment=C_THETA,
                               data_commitment=C_DATA, nonce="n1", degree=0.25, neighbours=4, input_scale=12)
    assert counts.describe() in capsys.readouterr().out
    assert 0 < counts.weak < 200 and counts.weak <= counts.pairs <= 4 * counts.weak  # a degree that separates samples


@pytest.mark.parametrize("args, message", [
    (["--degrees", "0"], "degree e must lie in (0, 1]"),
    (["--degrees", "1.5"], "degree e must lie in (0, 1]"),
    (["--degrees", "0.1", "--neighbours", "0"], "neighbours Q must be an integer of at least 1"),
    (["--degrees", "0.1,0.2"], "one degree"),
])
def test_bad_input_is_one_line_and_writes_nothing(files, tmp_path, capsys, args, message) -> None:
    model, committed = files
    rc = main(["robust", "analyze", "--seeded", "--model", str(model), "--data", "digits", "--samples", "20",
               "--commitments", str(committed), "--nonce", "n1", "--out", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err
    assert rc == 3 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_seeded_needs_the_commitments(files, capsys) -> None:
    rc = main(["robust", "analyze", "--seeded", "--model", str(files[0]), "--data", "digits", "--samples", "20", "--degrees", "0.1"])
    assert rc == 3 and "--commitments" in capsys.readouterr().err
