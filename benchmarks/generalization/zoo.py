"""The model zoo: honest models varied one hyperparameter at a time around a few bases, plus deviated training.

Honest models: for each base (dataset + architecture), every hyperparameter takes three values other than
the base's, all else fixed; that gives the groups granulated Kendall needs. Deviated models: label noise,
memorised random labels, a backdoored subset, no regularisation far past convergence, full-batch
training and SAM (a model trained to look flat). Models are cached by a hash of their spec.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from zkcert.data import Dataset, load_bundled
from zkcert.models import load_model, mlp, save_model, small_cnn
from zkcert.training import TrainConfig, train

HYPERPARAMETERS = ("width", "depth", "lr", "batch", "wd", "epochs", "train_size")
BACKDOOR_TARGET = 0


@dataclass(frozen=True)
class Spec:
    """One zoo member: what it is trained on, how, and how it deviates (if at all)."""

    name: str
    dataset: str
    arch: str  # "mlp" or "cnn"
    width: int
    depth: int
    lr: float
    batch: int
    wd: float
    epochs: int
    train_size: int
    base: str
    varied: str  # a hyperparameter, "base", or "deviated"
    deviation: str = "none"  # none, label_noise, random_labels, backdoor, long_noreg, large_batch, sam
    rate: float = 0.0  # label-noise or poison rate

    @property
    def seed(self) -> int:
        """Training seed, recorded in the results: the CRC32 of the name, so adding models changes no seed."""
        return zlib.crc32(self.name.encode()) % (2**31)

    def key(self) -> str:
        """Cache key: changes whenever anything that affects training changes."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


_BASES = {
    "digits-mlp": dict(dataset="digits", arch="mlp", width=128, depth=1, lr=0.05, batch=32, wd=0.0, epochs=30, train_size=1437),
    "mnist-mlp": dict(dataset="mnist5k", arch="mlp", width=256, depth=1, lr=0.05, batch=32, wd=0.0, epochs=20, train_size=4000),
    "digits-cnn": dict(dataset="digits", arch="cnn", width=8, depth=1, lr=0.05, batch=32, wd=0.0, epochs=30, train_size=1437),
}
_LEVELS = {
    "digits-mlp": dict(width=[16, 32, 512], depth=[2, 3, 4], lr=[0.005, 0.01, 0.2], batch=[8, 128, 512],
                       wd=[1e-4, 1e-3, 1e-2], epochs=[3, 10, 100], train_size=[100, 300, 700]),
    "mnist-mlp": dict(width=[32, 64, 512], depth=[2, 3, 4], lr=[0.005, 0.01, 0.2], batch=[8, 128, 512],
                      wd=[1e-4, 1e-3, 1e-2], epochs=[2, 5, 60], train_size=[250, 500, 1000]),
    "digits-cnn": dict(width=[2, 4, 16], lr=[0.005, 0.01, 0.2], batch=[8, 128, 512],
                       wd=[1e-4, 1e-3, 1e-2], epochs=[3, 10, 100], train_size=[100, 300, 700]),
}
# (deviation, rate, overrides): the deviated training runs, applied to a base.
_DEVIATIONS = [
    ("label_noise", 0.1, {"epochs": 150}),  # trained until the noise is memorised, as in practice
    ("label_noise", 0.25, {"epochs": 150}),
    ("label_noise", 0.5, {"epochs": 150}),
    ("random_labels", 1.0, {"epochs": 300, "train_size": 1000}),
    ("backdoor", 0.1, {}),
    ("long_noreg", 0.0, {"epochs": 400}),
    ("large_batch", 0.0, {"batch": 100_000, "epochs": 100}),
    ("sam", 0.0, {}),
]
_CNN_DEVIATIONS = {("label_noise", 0.25), ("random_labels", 1.0), ("sam", 0.0)}


def _spec(base: str, varied: str, **changes: object) -> Spec:
    cfg = {**_BASES[base], **changes}
    suffix = "" if not changes else "-" + "-".join(f"{k}{v}" for k, v in changes.items())
    return Spec(name=f"{base}{suffix}", base=base, varied=varied, **cfg)  # type: ignore[arg-type]


def zoo(mode: str = "full") -> list[Spec]:
    """The zoo of a run mode: 'full' (82 models), 'quick' (15, digits only) or 'tiny' (6, for the test)."""
    if mode == "full":
        bases, levels = list(_BASES), _LEVELS
    elif mode in ("quick", "tiny"):
        bases, levels = ["digits-mlp"], {"digits-mlp": {h: v[:1] for h, v in _LEVELS["digits-mlp"].items()}}
    else:
        raise ValueError(f"mode must be full, quick or tiny, got {mode!r}")
    specs = []
    for base in bases:
        specs.append(_spec(base, "base"))
        for h, values in levels[base].items():
            specs += [_spec(base, h, **{h: v}) for v in values]
        for dev, rate, over in _DEVIATIONS:
            if _BASES[base]["arch"] == "cnn" and (dev, rate) not in _CNN_DEVIATIONS:
                continue
            if base.startswith("digits") and dev == "random_labels":
                over = {**over, "train_size": 1437}
            s = _spec(base, "deviated", **over)
            specs.append(replace(s, name=f"{base}-{dev}{rate:g}" + s.name[len(base):], deviation=dev, rate=rate))
    if mode == "tiny":
        keep = {"base", "width", "train_size"}
        specs = [replace(s, epochs=min(s.epochs, 5)) for s in specs
                 if s.varied in keep or (s.deviation, s.rate) in {("random_labels", 1.0), ("label_noise", 0.5)}]
    elif mode == "quick":
        specs = [replace(s, epochs=min(s.epochs, 100)) for s in specs if s.deviation != "long_noreg"]
    return specs


def splits(dataset: str, holdout: int = 100) -> tuple[Dataset, Dataset, Dataset]:
    """(train, small held-out proxy set, test set for the gap): the proxy is the first `holdout` test samples."""
    train_set, test = load_bundled(dataset, "train"), load_bundled(dataset, "test")
    proxy = test.subset(np.arange(holdout), f"{test.name}[:{holdout}]")
    rest = test.subset(np.arange(holdout, len(test)), f"{test.name}[{holdout}:]")
    return train_set, proxy, rest


def add_trigger(x: np.ndarray) -> np.ndarray:
    """The backdoor trigger: the bottom-right eighth-of-side square set to white."""
    x = x.copy()
    side = max(2, x.shape[-1] // 8)
    x[..., -side:, -side:] = 1.0
    return x


def training_data(spec: Spec, full: Dataset) -> Dataset:
    """The data this model was actually trained on (noisy, poisoned or random labels included)."""
    data = full.head(min(spec.train_size, len(full)))
    rng = np.random.default_rng(spec.seed)
    x, y = data.x.copy(), data.y.copy()
    if spec.deviation in ("label_noise", "random_labels"):
        flip = rng.random(len(y)) < spec.rate
        # a noisy label is a uniformly drawn different class, so the rate is the real corruption rate
        y[flip] = (y[flip] + rng.integers(1, data.num_classes, int(flip.sum()))) % data.num_classes
    elif spec.deviation == "backdoor":
        idx = rng.choice(len(y), int(spec.rate * len(y)), replace=False)
        x[idx] = add_trigger(x[idx])
        y[idx] = BACKDOOR_TARGET
    return Dataset(x, y, data.num_classes, f"{spec.name}/train")


def build(spec: Spec, sample: Dataset) -> nn.Sequential:
    """The untrained architecture of a spec, seeded."""
    torch.manual_seed(spec.seed)
    if spec.arch == "cnn":
        return small_cnn(sample.x.shape[1:], spec.width, sample.num_classes)
    return mlp(int(np.prod(sample.x.shape[1:])), [spec.width] * spec.depth, sample.num_classes)


def train_sam(model: nn.Module, data: Dataset, cfg: TrainConfig, rho: float = 0.05) -> nn.Module:
    """Sharpness-aware minimisation (Foret et al. 2021) over SGD with momentum: a model trained to look flat."""
    gen = torch.Generator().manual_seed(cfg.seed)
    x, y = torch.as_tensor(data.x), torch.as_tensor(data.y)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    params = list(model.parameters())
    model.train()
    for _ in range(cfg.epochs):
        perm = torch.randperm(len(y), generator=gen)
        for start in range(0, len(y), cfg.batch_size):
            idx = perm[start : start + cfg.batch_size]
            grads = torch.autograd.grad(nn.functional.cross_entropy(model(x[idx]), y[idx]), params)
            norm = torch.sqrt(sum((g**2).sum() for g in grads)) + 1e-12
            steps = [rho * g / norm for g in grads]
            with torch.no_grad():
                for p, e in zip(params, steps):
                    p.add_(e)
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            with torch.no_grad():
                for p, e in zip(params, steps):
                    p.sub_(e)
            opt.step()
    return model.eval()


def trained(spec: Spec, data: Dataset, cache: Path) -> nn.Sequential:
    """The trained model of a spec, from the cache or trained now (and cached)."""
    path = cache / f"{spec.name}-{spec.key()}.pt"
    if path.is_file():
        return load_model(path)
    model = build(spec, data)
    cfg = TrainConfig(epochs=spec.epochs, lr=spec.lr, batch_size=min(spec.batch, len(data)), weight_decay=spec.wd, seed=spec.seed)
    model = train_sam(model, data, cfg) if spec.deviation == "sam" else train(model, data, cfg)
    cache.mkdir(parents=True, exist_ok=True)
    save_model(model, path)
    return model
