"""The model zoo: honest models varied one hyperparameter at a time around a few bases, plus deviated training.

Honest models: for each base (dataset + architecture), every hyperparameter takes three values other than
the base's, all else fixed; that gives the groups granulated Kendall needs. Deviated models: label noise,
memorised random labels, a backdoored subset, no regularisation far past convergence, full-batch
training and SAM (a model trained to look flat). Models are cached by a hash of their spec.
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from zkcert.data import Dataset, load_bundled
from zkcert.models import load_model, mlp, save_model, small_cnn
from zkcert.training import TrainConfig, accuracy, mean_loss, train

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
    if spec.deviation in CORRUPTIONS:
        corrupt(x, y, spec.deviation, spec.rate, rng, data.num_classes)
    return Dataset(x, y, data.num_classes, f"{spec.name}/train")


CORRUPTIONS = ("label_noise", "random_labels", "backdoor")


def corrupt(x: np.ndarray, y: np.ndarray, kind: str, rate: float, rng: np.random.Generator, num_classes: int) -> None:
    """Corrupt a training set in place: flipped labels (label_noise, random_labels) or a triggered, relabelled subset (backdoor)."""
    if kind in ("label_noise", "random_labels"):
        flip = rng.random(len(y)) < rate
        # a noisy label is a uniformly drawn different class, so the rate is the real corruption rate
        y[flip] = (y[flip] + rng.integers(1, num_classes, int(flip.sum()))) % num_classes
    else:
        idx = rng.choice(len(y), int(rate * len(y)), replace=False)
        x[idx] = add_trigger(x[idx])
        y[idx] = BACKDOOR_TARGET


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


# ======================================================================================================
# The issue-11 study zoo (benchmarks/generalization/PROTOCOL.md section 1): 3 families x 26-28
# configurations x 2 replicates = 164 models; replicate r0 is the selection half, r1 the confirmation half.

DEVIATED_KINDS = ("label_noise", "random_labels", "backdoor", "duplication", "imbalance", "sorted", "prune", "weight_noise")
REGULARIZER_KINDS = ("label_smoothing", "mixup")
SELECTION, CONFIRMATION = 0, 1
_STUDY_WIDTHS = {"digits-mlp": [32, 512], "mnist-mlp": [64, 512], "digits-cnn": [4, 16]}
_STUDY_SIZES = {"digits-mlp": [100, 200, 400, 800], "mnist-mlp": [250, 500, 1000, 2000], "digits-cnn": [100, 200, 400, 800]}
_DUP_UNIQUE = {"digits": 300, "mnist5k": 800}
DUP_FACTOR = 4
IMBALANCE_KEEP = 0.10  # fraction kept of classes 5-9
PRUNE_FRACTION = 0.8
WEIGHT_NOISE = 0.5
MIXUP_ALPHA = 0.4
LABEL_SMOOTHING = 0.1


@dataclass(frozen=True)
class StudySpec:
    """One model of the study zoo: family base, one change, a kind of training, and a replicate."""

    name: str
    family: str
    dataset: str
    arch: str
    width: int
    depth: int
    lr: float
    batch: int
    wd: float
    epochs: int
    train_size: int
    varied: str  # the hyperparameter changed, "base", or the kind
    kind: str = "none"  # none, size_sweep, label_smoothing, mixup, or one of DEVIATED_KINDS
    rate: float = 0.0  # label-noise or poison rate
    replicate: int = 0

    @property
    def seed(self) -> int:
        """Training seed: the CRC32 of the name (which includes the replicate), so adding models changes no seed."""
        return zlib.crc32(self.name.encode()) % (2**31)

    @property
    def deviated(self) -> bool:
        """A positive of the 'deviated training' task."""
        return self.kind in DEVIATED_KINDS

    @property
    def half(self) -> str:
        return "selection" if self.replicate == SELECTION else "confirmation"

    def key(self) -> str:
        """Cache key: changes whenever anything that affects training changes."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


def _configs(family: str) -> list[tuple[str, str, float, dict]]:
    """(varied, kind, rate, changes) of every configuration of a family (PROTOCOL.md section 1)."""
    base = _BASES[family]
    out: list[tuple[str, str, float, dict]] = [("base", "none", 0.0, {})]
    levels = {"width": _STUDY_WIDTHS[family], "depth": [2, 3] if base["arch"] == "mlp" else [],
              "lr": [0.01, 0.2], "batch": [8, 256], "wd": [1e-3, 1e-2], "epochs": [3, 100]}
    for h, values in levels.items():
        out += [(h, "none", 0.0, {h: v}) for v in values]
    for size in _STUDY_SIZES[family]:
        epochs = min(300, int(np.ceil(base["epochs"] * base["train_size"] / size)))
        out.append(("size_sweep", "size_sweep", 0.0, {"train_size": size, "epochs": epochs}))
    out += [("label_smoothing", "label_smoothing", LABEL_SMOOTHING, {}), ("mixup", "mixup", MIXUP_ALPHA, {})]
    out += [("label_noise", "label_noise", 0.2, {"epochs": 100}), ("label_noise", "label_noise", 0.5, {"epochs": 100})]
    out.append(("random_labels", "random_labels", 1.0, {"epochs": 200, "train_size": min(base["train_size"], 1437)}))
    out.append(("backdoor", "backdoor", 0.1, {}))
    out.append(("duplication", "duplication", float(DUP_FACTOR), {"train_size": _DUP_UNIQUE[base["dataset"]]}))
    out += [(k, k, r, {}) for k, r in (("imbalance", IMBALANCE_KEEP), ("sorted", 0.0), ("prune", PRUNE_FRACTION),
                                       ("weight_noise", WEIGHT_NOISE))]
    return out


def study_zoo(mode: str = "full") -> list[StudySpec]:
    """The study zoo: 'full' (164 models), 'quick' (3 families x 7 configurations x 2, short training) or 'tiny'
    (the test's: the 2 digits families x 4 configurations x 2, shorter still; it checks the pipeline, not the result)."""
    if mode not in ("full", "quick", "tiny"):
        raise ValueError(f"mode must be full, quick or tiny, got {mode!r}")
    specs = []
    for family in _BASES:
        if mode == "tiny" and not family.startswith("digits"):
            continue  # MNIST models take most of a quick run's time
        configs = _configs(family)
        if mode != "full":
            wanted = {("base", "none"), ("lr", "none"), ("label_noise", "label_noise"), ("prune", "prune")}
            if mode == "quick":
                wanted |= {("size_sweep", "size_sweep"), ("mixup", "mixup"), ("sorted", "sorted")}
            seen, kept = set(), []
            for c in configs:
                if (c[0], c[1]) in wanted and (c[0], c[1]) not in seen:
                    seen.add((c[0], c[1]))
                    kept.append(c)
            configs = kept
        for varied, kind, rate, changes in configs:
            cfg = {**_BASES[family], **changes}
            if mode != "full":
                cfg["epochs"] = min(cfg["epochs"], 8 if mode == "quick" else 4)
                cfg["train_size"] = min(cfg["train_size"], 800 if mode == "quick" else 400)
            label = "" if varied == "base" else f"-{varied}" + "".join(f"-{k}{v}" for k, v in changes.items()) + (f"-r{rate:g}" if rate else "")
            for rep in (SELECTION, CONFIRMATION):
                specs.append(StudySpec(name=f"{family}{label}-rep{rep}", family=family, varied=varied, kind=kind, rate=rate,
                                       replicate=rep, **cfg))  # type: ignore[arg-type]
    return specs


def study_training_data(spec: StudySpec, full: Dataset) -> Dataset:
    """The data a study model is trained and certified on, in a fixed order (independent of batch order)."""
    rng = np.random.default_rng(spec.seed)
    data = full.head(min(spec.train_size, len(full)))
    x, y = data.x.copy(), data.y.copy()
    if spec.kind in CORRUPTIONS:
        corrupt(x, y, spec.kind, spec.rate, rng, data.num_classes)
    elif spec.kind == "duplication":
        perm = rng.permutation(len(y) * DUP_FACTOR)
        x, y = np.concatenate([x] * DUP_FACTOR)[perm], np.concatenate([y] * DUP_FACTOR)[perm]
    elif spec.kind == "imbalance":
        keep = (y < 5) | (rng.random(len(y)) < spec.rate)
        x, y = x[keep], y[keep]
    return Dataset(x, y, data.num_classes, f"{spec.name}/train")


def _sgd(model: nn.Module, data: Dataset, cfg: TrainConfig, *, kind: str, rate: float) -> nn.Module:
    """SGD with momentum for the kinds zkcert.training.train does not cover: sorted batches, label smoothing, mixup."""
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    x, y = torch.as_tensor(data.x), torch.as_tensor(data.y)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    order = torch.as_tensor(np.argsort(data.y, kind="stable")) if kind == "sorted" else None
    beta = torch.distributions.Beta(torch.tensor(rate), torch.tensor(rate)) if kind == "mixup" else None
    model.train()
    for _ in range(cfg.epochs):
        perm = order if order is not None else torch.randperm(len(y), generator=gen)
        for start in range(0, len(y), cfg.batch_size):
            idx = perm[start : start + cfg.batch_size]
            opt.zero_grad()
            if kind == "mixup":
                lam = float(beta.sample())
                other = idx[torch.randperm(len(idx), generator=gen)]
                out = model(lam * x[idx] + (1 - lam) * x[other])
                loss = lam * nn.functional.cross_entropy(out, y[idx]) + (1 - lam) * nn.functional.cross_entropy(out, y[other])
            else:
                smoothing = rate if kind == "label_smoothing" else 0.0
                loss = nn.functional.cross_entropy(model(x[idx]), y[idx], label_smoothing=smoothing)
            loss.backward()
            opt.step()
    return model.eval()


@torch.no_grad()
def _post_process(model: nn.Module, spec: StudySpec) -> nn.Module:
    """Post-training pruning (the smallest |w| of each weight tensor set to 0) or weight noise; biases kept."""
    gen = torch.Generator().manual_seed(spec.seed)
    for m in model.modules():
        if not isinstance(m, (nn.Linear, nn.Conv2d)):
            continue
        w = m.weight
        if spec.kind == "prune":
            cut = torch.quantile(w.abs().flatten(), spec.rate)
            w[w.abs() <= cut] = 0.0
        elif spec.kind == "weight_noise":
            w.add_(spec.rate * w.std() * torch.randn(w.shape, generator=gen))
    return model


def study_trained(spec: StudySpec, data: Dataset, cache: Path) -> nn.Sequential:
    """The trained study model of a spec, from the cache or trained now (and cached)."""
    path = cache / f"{spec.name}-{spec.key()}.pt"
    if path.is_file():
        return load_model(path)
    torch.manual_seed(spec.seed)
    model = small_cnn(data.x.shape[1:], spec.width, data.num_classes) if spec.arch == "cnn" else \
        mlp(int(np.prod(data.x.shape[1:])), [spec.width] * spec.depth, data.num_classes)
    cfg = TrainConfig(epochs=spec.epochs, lr=spec.lr, batch_size=min(spec.batch, len(data)), weight_decay=spec.wd, seed=spec.seed)
    if spec.kind in ("sorted", "label_smoothing", "mixup"):
        model = _sgd(model, data, cfg, kind=spec.kind, rate=spec.rate)
    else:
        model = train(model, data, cfg)
    model = _post_process(model, spec)
    cache.mkdir(parents=True, exist_ok=True)
    save_model(model, path)
    return model


def trained_row(spec: StudySpec, half: str, cache: Path, data_cache: dict) -> tuple[nn.Sequential, Dataset, Dataset, dict]:
    """A zoo row's model (trained or from the cache), its training data, the proxy split and the row's head: the
    spec, seed, half, training time, accuracies, gap and training loss. The study and its amendment share it."""
    if spec.dataset not in data_cache:
        data_cache[spec.dataset] = splits(spec.dataset)
    full, proxy, test = data_cache[spec.dataset]
    data = study_training_data(spec, full)
    start = time.perf_counter()
    model = study_trained(spec, data, cache)
    row = {**asdict(spec), "seed": spec.seed, "half": half, "deviated": spec.deviated, "n_train": len(data),
           "train_seconds": time.perf_counter() - start}
    tr_acc, te_acc = accuracy(model, data), accuracy(model, test)
    row.update(train_acc=tr_acc, test_acc=te_acc, gap=tr_acc - te_acc, train_loss_full=mean_loss(model, data))
    return model, data, proxy, row
