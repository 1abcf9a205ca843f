import numpy as np
import pytest

from zkcert.data import BUNDLED, Dataset, load_bundled, load_data
from zkcert.errors import InputError


@pytest.mark.parametrize("name,shape", [("digits", (1, 8, 8)), ("mnist5k", (1, 28, 28)), ("cifar10", (3, 32, 32))])
def test_bundled_datasets_are_real_and_shuffled(name, shape):
    data = load_bundled(name, "all")
    assert data.x.shape[1:] == shape and data.x.dtype == np.float32
    assert 0.0 <= data.x.min() and data.x.max() <= 1.0 and data.x.std() > 0.1
    assert len(np.unique(data.y[:50])) >= 5, "the first rows must mix classes (mnist5k ships sorted by class)"


def test_mnist5k_has_500_of_each_digit():
    data = load_bundled("mnist5k", "all")
    np.testing.assert_array_equal(np.bincount(data.y), [500] * 10)


def test_splits_are_disjoint_and_stable():
    train, test = load_bundled("digits", "train"), load_bundled("digits", "test")
    assert len(train) + len(test) == 1797
    np.testing.assert_array_equal(train.x[:3], load_bundled("digits", "train").x[:3])


def test_npz_roundtrip(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.random.rand(5, 3).astype(np.float32), y=np.array([0, 1, 2, 1, 0]))
    data = load_data(tmp_path / "d.npz")
    assert len(data) == 5 and data.num_classes == 3
    assert len(load_data(tmp_path / "d.npz", samples=2)) == 2


@pytest.mark.parametrize(
    "arrays,message",
    [
        ({"x": np.array([[np.nan, 1.0]]), "y": np.array([0])}, "NaN or inf"),
        ({"x": np.array([[np.inf, 1.0]]), "y": np.array([0])}, "NaN or inf"),
        ({"x": np.ones((3, 2)), "y": np.array([0, 1])}, "3 samples but y has 2"),
        ({"x": np.ones((2, 2)), "y": np.array([0, -1])}, "labels must lie"),
        ({"x": np.ones((2, 2)), "y": np.array([0, 5]), "num_classes": np.array(3)}, "labels must lie"),
        ({"x": np.ones(4), "y": np.array([0])}, "batch axis"),
        ({"x": np.ones((2, 2)), "y": np.array([0.5, 1.0])}, "integer labels"),
        ({"x": np.ones((2, 2))}, "must contain arrays 'x' and 'y'"),
    ],
)
def test_bad_npz_gets_one_line_error(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(InputError, match=message):
        load_data(tmp_path / "bad.npz")


def test_missing_and_truncated_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_data(tmp_path / "nope.npz")
    np.savez(tmp_path / "ok.npz", x=np.ones((2, 2), dtype=np.float32), y=np.array([0, 1]))
    raw = (tmp_path / "ok.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputError, match="cannot read"):
        load_data(tmp_path / "cut.npz")


def test_unknown_bundled_name_and_bad_head():
    with pytest.raises(InputError, match="cannot read|not found"):
        load_data("imagenet")
    with pytest.raises(InputError, match="asked for 10 samples"):
        Dataset(np.ones((2, 2), np.float32), np.array([0, 1]), 2).head(10)
    assert set(BUNDLED) == {"digits", "mnist5k", "cifar10"}
