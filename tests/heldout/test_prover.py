"""Sizing the held-out circuit's blocks: rows grow linearly in the block size past a fixed part, and the sizing uses that line."""

from __future__ import annotations

import pytest

from zkcert import circuit
from zkcert._internal.io import read_json
from zkcert.commitments import KZG, KZG_SALT_LEN, Salts, model_vector
from zkcert.heldout import Challenge
from zkcert.heldout.prover import HeldoutSpec, block_columns, block_inputs, blocks_that_fit, challenge_columns
from zkcert.metric import flat_params
from zkcert.models import layer_configs


def test_blocks_fit_the_line_not_one_sample_times_the_block():
    # Calibrated rows of MNIST 784-32-10 at 2 columns (2026-12-06), one challenge column (layout 1): 8 samples
    # 60,935, 32 samples 126,395, so about 39,000 fixed and 2,727 per sample. At logrows 17 a block of 25 fits; one
    # sample's 54,546 rows times the block size (the old estimate) allowed 2, and 1,000 challenge samples took 500 proofs.
    assert blocks_that_fit(1000, {8: 60_935, 32: 126_395}, 17)[0] == 25
    assert blocks_that_fit(1000, {8: 60_935, 32: 126_395}, 18)[0] == 50
    # Gathers instead of slices (layout 2): 8 samples 28,144, 16 samples 43,532, so 1,923.5 per sample and 12,756 fixed.
    assert blocks_that_fit(1000, {8: 28_144, 16: 43_532}, 17)[0] == 50
    assert blocks_that_fit(1000, {8: 28_144, 16: 43_532}, 16)[0] == 25
    assert blocks_that_fit(7, {7: 10**9}, 15) == [1]  # nothing fits: the caller's calibration decides
    assert blocks_that_fit(6, {6: 600}, 15)[0] == 6  # one measured size: rows per sample through the origin


def test_padded_blocks_need_not_divide_m_and_take_the_fewest_proofs():
    # Layout 3 on MNIST 784-32-10 at 2 columns (gen_settings, 2026-12-07): 8 samples 28,207 rows, 32 samples 74,491.
    # At logrows 16 at most 27 fit; 1,000 samples then take 38 proofs (40 of 25 unpadded).
    measured = {8: 28_207, 32: 74_491}
    assert blocks_that_fit(1000, measured, 16)[0] == 25
    padded = blocks_that_fit(1000, measured, 16, padded=True)
    assert padded[:3] == [27, 26, 25] and -(-1000 // padded[0]) == 38
    # A block that would leave the proof count unchanged is cut to the smallest with that count: 10 of at most 4 is 3 x 4,
    # 10 of at most 9 is 2 x 5 (not 9 + 1 padded to 9).
    assert blocks_that_fit(10, {1: 100}, 10, padded=True)[:2] == [10, 5]
    assert blocks_that_fit(10, {4: 4000}, 12, padded=True)[:2] == [4, 3]


def test_columns_cut_whole_blocks_and_sizing_may_take_the_first_of_any_size(digits_train):
    """Sizing measures blocks of 8 and 32 samples, which need not divide M (1,000 once ran past the end)."""
    from zkcert.errors import InputError

    challenge = Challenge.issue(digits_train.subset(list(range(400, 1000))), 40, nonce="blocks")
    assert len(challenge_columns(challenge, 8, 10, KZG)) == 5
    (first,) = challenge_columns(challenge, 32, 10, KZG, first=1)
    assert len(first) == 32 * (64 + 10)  # 32 samples' features, then their one-hot labels
    assert first[32 * 64 : 32 * 64 + 10] == [float(v == challenge.y[0]) for v in range(10)]
    with pytest.raises(InputError, match="do not hold"):
        challenge_columns(challenge, 32, 10, KZG)
    with pytest.raises(InputError, match="do not hold"):
        challenge_columns(challenge, 32, 10, KZG, first=2)


def test_padded_columns_end_in_zero_samples_with_zero_labels(digits_train):
    """Layout 3: 40 samples in blocks of 16 are 3 columns, the last with 8 samples and 8 padding samples."""
    from zkcert.errors import InputError

    challenge = Challenge.issue(digits_train.subset(list(range(400, 1000))), 40, nonce="padded")
    columns = challenge_columns(challenge, 16, 10, KZG, padded=True)
    assert len(columns) == 3 and {len(c) for c in columns} == {16 * 74}
    assert columns[:2] == block_columns(challenge.dataset().subset(list(range(32))), 16, 10, KZG)  # full blocks: as unpadded
    last = columns[2]
    features, labels = last[: 16 * 64], last[16 * 64 :]
    assert features[: 8 * 64] == [float(v) for v in challenge.x[32:].ravel()] and not any(features[8 * 64 :])
    assert labels[: 8 * 10] == [float(c == y) for y in challenge.y[32:] for c in range(10)] and not any(labels[8 * 10 :])
    assert challenge_columns(challenge, 16, 10, KZG, padded=True, first=3)[2] == last
    with pytest.raises(InputError, match="do not hold"):  # a fourth block would be all padding
        challenge_columns(challenge, 16, 10, KZG, padded=True, first=4)


def test_rows_are_linear_in_the_block_size(proof_mlp, digits_train, tmp_path):
    """The line through 8 and 32 samples predicts 64 (the sizing's assumption), measured on the tiny model."""
    theta = flat_params(proof_mlp)
    model_col = list(model_vector(theta, Salts.fresh(KZG).model, 10, KZG))
    rows = {}
    for size in (8, 32, 64):
        challenge = Challenge.issue(digits_train.subset(list(range(400, 1000))), size, nonce="rows")
        spec = HeldoutSpec(layers=layer_configs(proof_mlp), input_shape=(64,), num_classes=10, num_params=len(theta),
                           n_samples=size, input_scale=10, commitment=KZG)
        (tmp_path / str(size)).mkdir()
        circuit.calibrate_spec(spec, block_inputs(challenge_columns(challenge, size, 10, KZG)[0], model_col), tmp_path / str(size))
        rows[size] = int(read_json(tmp_path / str(size) / "settings.json")["num_rows"])
    per = (rows[32] - rows[8]) / 24
    assert rows[64] == pytest.approx(rows[8] + per * 56, rel=0.05)


def _spec(**kw) -> HeldoutSpec:
    base = dict(layers=({"type": "Linear", "in_features": 64, "out_features": 10},), input_shape=(64,), num_classes=10,
                num_params=650, n_samples=4, input_scale=10, commitment=KZG)
    return HeldoutSpec(**{**base, **kw})


def test_a_spec_without_a_layout_is_the_first_releases_and_an_unknown_one_is_refused(tmp_path):
    """Layout 1 (slices) is what certificates of the first release were proved with; layouts 2 and 3 gather (module docstring)."""
    from collections import Counter

    import onnx

    from zkcert.errors import CertificateError

    new = _spec()
    old = HeldoutSpec.from_json({k: v for k, v in new.to_json().items() if k != "layout"})
    assert (new.layout, old.layout) == (3, 1) and new.input_lengths() == old.input_lengths() == (4 * 74, 650 + KZG_SALT_LEN)
    assert old.digest() != new.digest()  # another circuit, so another cached key
    ops = {}
    for spec in (old, new):
        spec.export_onnx(tmp_path / f"{spec.layout}.onnx")
        ops[spec.layout] = Counter(node.op_type for node in onnx.load(tmp_path / f"{spec.layout}.onnx").graph.node)
    # Layout 3 gathers the samples, the labels, the weight and the bias, and keeps no _tail (a double negation).
    assert (ops[1]["Gather"], ops[3]["Gather"]) == (1, 4) and ops[1]["Neg"] > 0 == ops[3]["Neg"]
    assert ops[3]["Slice"] < ops[1]["Slice"]
    assert _spec(layout=2).layout == 2 and not _spec(layout=2).padded and new.padded  # layout 2's certificates still read
    for bad in (4, True):
        with pytest.raises(CertificateError, match="layout"):
            _spec(layout=bad)
