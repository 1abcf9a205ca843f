"""Supported classifiers: MLPs and CNNs as a chain of layers (zkcert.folding), and the zkcert model file format."""

from __future__ import annotations

from pathlib import Path
import warnings
from typing import Any, Sequence

import torch
from torch import nn

from ._internal.io import atomic_write_bytes
from .errors import InputError, UnsupportedLayerError
from .folding import DROPPED, NORMS, Folded, fold

__all__ = ["mlp", "small_cnn", "check_supported", "check_compatible", "layer_configs", "fold_names", "save_model", "load_model",
           "num_params", "check_finite", "MODEL_FORMAT"]

MODEL_FORMAT = "zkcert-model/v1"

# Layer name -> (class, constructor arguments recorded in the model file). The circuit
# builder and the metric both accept exactly these layers.
_LAYERS: dict[str, tuple[type[nn.Module], tuple[str, ...]]] = {
    "Flatten": (nn.Flatten, ()),
    "Linear": (nn.Linear, ("in_features", "out_features")),
    "ReLU": (nn.ReLU, ()),
    "Conv2d": (nn.Conv2d, ("in_channels", "out_channels", "kernel_size", "stride", "padding")),
    "MaxPool2d": (nn.MaxPool2d, ("kernel_size", "stride")),
    "AvgPool2d": (nn.AvgPool2d, ("kernel_size", "stride")),
}


def mlp(in_features: int, hidden: Sequence[int], num_classes: int) -> nn.Sequential:
    """Flatten -> (Linear -> ReLU)* -> Linear."""
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_features
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


def small_cnn(in_shape: Sequence[int], channels: int, num_classes: int) -> nn.Sequential:
    """Conv(3x3) -> ReLU -> AvgPool(2) -> Flatten -> Linear, for (C, H, W) inputs."""
    c, h, w = in_shape
    return nn.Sequential(
        nn.Conv2d(c, channels, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(channels * (h // 2) * (w // 2), num_classes),
    )


def check_supported(model: nn.Module) -> nn.Sequential:
    """The model as the nn.Sequential zkcert commits: itself if it is one of supported layers, else its folded chain
    (zkcert.folding: BatchNorm folded, Dropout and Identity dropped, a non-Sequential traced), or one line naming
    the first unsupported layer."""
    plain = isinstance(model, nn.Sequential) and all(type(layer) in {cls for cls, _ in _LAYERS.values()} for layer in model)
    chain = model if plain else fold(model)
    for i, layer in enumerate(chain):
        name = type(layer).__name__
        if name not in _LAYERS or type(layer) is not _LAYERS[name][0]:
            folded = sorted(cls.__name__ for cls in (*DROPPED, *NORMS))
            raise UnsupportedLayerError(f"layer {i} ({name}) is not supported; supported: {sorted(_LAYERS)}, and {folded} folded away")
        if isinstance(layer, (nn.Linear, nn.Conv2d)) and layer.bias is None:
            raise UnsupportedLayerError(f"layer {i} ({name}) has no bias; zkcert expects biases")
        if isinstance(layer, nn.Conv2d) and (layer.groups != 1 or tuple(layer.dilation) != (1, 1) or layer.padding_mode != "zeros"
                                             or isinstance(layer.padding, str)):
            raise UnsupportedLayerError(f"layer {i} (Conv2d) uses groups, dilation, string padding or a padding mode other than zeros, "
                                        "which are not supported")
        if isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)) and (layer.padding not in (0, (0, 0)) or layer.ceil_mode):
            raise UnsupportedLayerError(f"layer {i} ({name}) uses padding or ceil_mode, which are not supported")
    return chain


def fold_names(model: nn.Module) -> tuple[str, ...]:
    """What check_supported folded away to get the committed model (empty for a plain supported Sequential)."""
    return getattr(check_supported(model), "folds", ())


def num_params(model: nn.Module) -> int:
    """Number of scalar parameters."""
    return sum(p.numel() for p in model.parameters())


def _layer_config(layer: nn.Module) -> dict[str, Any]:
    name = type(layer).__name__
    cfg: dict[str, Any] = {"type": name}
    for arg in _LAYERS[name][1]:
        value = getattr(layer, arg)
        cfg[arg] = list(value) if isinstance(value, tuple) else value
    return cfg


def layer_configs(model: nn.Module) -> tuple[dict[str, Any], ...]:
    """The architecture as JSON-able layer configs (what the model file and circuit spec record)."""
    return tuple(_layer_config(layer) for layer in check_supported(model))


def save_model(model: nn.Module, path: str | Path) -> None:
    """Save the committed model's architecture and weights in zkcert's format (loadable without unpickling code), with
    the folds that made it from the model given (check_supported)."""
    model = check_supported(model)
    payload = {
        "format": MODEL_FORMAT,
        "layers": list(layer_configs(model)),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        **({"folds": list(model.folds)} if getattr(model, "folds", ()) else {}),
    }
    import io

    buf = io.BytesIO()
    torch.save(payload, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_model(path: str | Path) -> nn.Sequential:
    """Load a model saved by save_model; weights_only loading never runs pickled code.

    Every problem with the file (not a zkcert model, truncated, an unknown layer, a layer config or
    weights that do not fit, NaN or infinite weights) is one InputError naming it.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"model file not found: {path}")
    try:
        with warnings.catch_warnings():  # torch warns about foreign pickle protocols before refusing them
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, foreign pickle, random bytes, etc.
        raise InputError(
            f"cannot read {path} as a zkcert model ({type(exc).__name__}); save models with zkcert.save_model"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise InputError(f"{path} is not a {MODEL_FORMAT} file; save models with zkcert.save_model")
    configs, state = payload.get("layers"), payload.get("state_dict")
    if not isinstance(configs, list) or not isinstance(state, dict):
        raise InputError(f"{path} is a malformed {MODEL_FORMAT} file: it needs a list 'layers' and a dict 'state_dict'")
    folds = payload.get("folds", [])
    if not (isinstance(folds, list) and all(isinstance(f, str) for f in folds)):
        raise InputError(f"{path} is a malformed {MODEL_FORMAT} file: 'folds' must be a list of strings")
    model = Folded(*(_layer_from_config(i, cfg, path) for i, cfg in enumerate(configs)), folds=tuple(folds))
    if not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError(f"weights in {path} are not all tensors")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise InputError(f"weights in {path} do not fit its architecture: {_first_error_line(exc)}") from None
    check_finite(model, what=f"model {path}")
    return model.eval()


def _layer_from_config(i: int, cfg: Any, path: Path) -> nn.Module:
    kind = cfg.get("type") if isinstance(cfg, dict) else None
    if kind not in _LAYERS:
        raise UnsupportedLayerError(f"layer {i} ({kind}) in {path} is not supported; supported: {sorted(_LAYERS)}")
    cls, args = _LAYERS[kind]
    missing = [a for a in args if a not in cfg]
    if missing:
        raise InputError(f"layer {i} ({kind}) in {path} lacks {', '.join(missing)}")
    try:
        return cls(**{a: tuple(cfg[a]) if isinstance(cfg[a], list) else cfg[a] for a in args})
    except (RuntimeError, TypeError, ValueError) as exc:
        raise InputError(f"layer {i} ({kind}) in {path} has an invalid config: {_first_error_line(exc)}") from None


def _first_error_line(exc: Exception) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    # torch's load_state_dict puts the useful part on the second line ("Missing key(s) ...").
    return " ".join(lines[:2]) if lines else type(exc).__name__


def check_finite(model: nn.Module, *, what: str = "model") -> None:
    """Raise InputError naming the first parameter that holds NaN or inf."""
    for name, p in model.named_parameters():
        bad = int((~torch.isfinite(p.detach())).sum())
        if bad:
            raise InputError(f"{what} has {bad} NaN or infinite values in parameter {name}")


def check_compatible(model: nn.Module, x: Any, num_classes: int) -> nn.Sequential:
    """The model is supported, has finite parameters, accepts x's per-sample shape, and has num_classes outputs."""
    model = check_supported(model)
    check_finite(model)
    try:
        with torch.no_grad():
            out = model(torch.as_tensor(x[:1], dtype=torch.float32))
    except RuntimeError as exc:
        raise InputError(f"model does not accept inputs of shape {tuple(x.shape[1:])}: {str(exc).splitlines()[0]}") from None
    if out.ndim != 2:
        raise InputError(f"model outputs shape {tuple(out.shape[1:])} per sample, expected ({num_classes},) logits")
    if out.shape[1] != num_classes:
        hint = (f"; if the labels do not cover every class, store num_classes={out.shape[1]} in the .npz"
                if out.shape[1] > num_classes else "")
        raise InputError(f"model outputs {out.shape[1]} classes but the data has {num_classes} classes{hint}")
    return model
