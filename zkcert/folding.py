"""What zkcert commits for a model people train: its layers read as one chain, BatchNorm folded, Dropout and Identity dropped.

A model is read as the chain of its layers: an nn.Sequential (nested ones flattened), or any other module whose
forward torch.fx traces to a straight chain (each operation takes the previous one's output and nothing else).
In eval mode a BatchNorm after a Linear or Conv2d is an affine map per unit, so it folds into that layer:
    W' = W * g / sqrt(var + e),    b' = (b - mean) * g / sqrt(var + e) + beta      (per output unit or channel),
and Dropout and Identity are the identity. The folded chain computes the same function; theta, the direction
and the certificate are about it, and each fold is named (zkcert.spec.CircuitSpec.folds) so an auditor knows.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from .errors import UnsupportedLayerError

__all__ = ["DROPPED", "NORMS", "Folded", "chain_of", "fold"]

# Layers that are the identity in eval mode, and the norms folded into the layer before them.
DROPPED: tuple[type[nn.Module], ...] = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Identity)
NORMS: dict[type[nn.Module], type[nn.Module]] = {nn.BatchNorm1d: nn.Linear, nn.BatchNorm2d: nn.Conv2d}
# Functions and tensor methods a traced forward may call, as the layer that computes the same thing.
_FUNCTIONS = {torch.relu: nn.ReLU, F.relu: nn.ReLU, "relu": nn.ReLU}


class Folded(nn.Sequential):
    """The supported nn.Sequential that fold made of a model, with the folds it took (empty if none)."""

    def __init__(self, *layers: nn.Module, folds: tuple[str, ...] = ()):
        super().__init__(*layers)
        self.folds = tuple(folds)


def _sequential_layers(model: nn.Sequential) -> list[nn.Module]:
    """The leaf layers of a Sequential, nested Sequentials flattened in order."""
    out: list[nn.Module] = []
    for layer in model:
        out += _sequential_layers(layer) if isinstance(layer, nn.Sequential) else [layer]
    return out


def chain_of(model: nn.Module) -> list[nn.Module]:
    """The model's layers in order: a Sequential's, or a straight chain's read by torch.fx; else one line naming the module."""
    if isinstance(model, nn.Sequential):
        return _sequential_layers(model)
    name = type(model).__name__
    try:
        traced = fx.symbolic_trace(model)
    except Exception as exc:  # fx raises TraceError, TypeError, NotImplementedError... on dynamic forwards
        raise UnsupportedLayerError(
            f"model {name} is not an nn.Sequential and torch.fx cannot trace it ({type(exc).__name__}); write it as an nn.Sequential"
        ) from None
    return _traced_chain(traced, name)


def _traced_chain(traced: fx.GraphModule, name: str) -> list[nn.Module]:
    """The layers of a traced forward that is one chain, or an UnsupportedLayerError naming where it branches."""
    layers: list[nn.Module] = []
    prev: fx.Node | None = None
    for node in traced.graph.nodes:
        if node.op == "placeholder":
            if prev is not None:
                raise UnsupportedLayerError(f"model {name} takes more than one input ({node.name}); zkcert certifies one-input chains")
            prev = node
            continue
        if _batch_size_node(node, prev):
            continue
        if node.op == "get_attr":
            raise UnsupportedLayerError(f"model {name} uses {node.target!r} in its forward directly; zkcert reads layers written as modules")
        if node.op == "output":
            if node.args[0] is not prev:
                raise UnsupportedLayerError(f"model {name} returns {node.args[0]!r}, not the last layer's output; zkcert certifies chains of layers")
            break
        users = [u for u in prev.users if not _batch_size_node(u, prev)] if prev is not None else []
        if len(users) != 1 or node not in users:
            raise UnsupportedLayerError(
                f"model {name} is not a straight chain: the output of {_where(traced, prev)} feeds {len(users)} operations "
                f"({', '.join(u.name for u in users)}); zkcert certifies chains of layers only"
            )
        layers.append(_layer_of(traced, node, prev, name))
        prev = node
    return layers


def _batch_size_node(node: fx.Node, prev: fx.Node | None) -> bool:
    """Whether node is x.size(0) of the chain's current x (read by x.view(x.size(0), -1), a flatten)."""
    return node.op == "call_method" and node.target == "size" and node.args[:2] == (prev, 0) and prev is not None


def _where(traced: fx.GraphModule, node: fx.Node | None) -> str:
    """A node as a person finds it in the model: module `name` (Type), or the operation's name."""
    if node is not None and node.op == "call_module":
        return f"module {node.target!r} ({type(traced.get_submodule(node.target)).__name__})"
    return f"{node.name!r}" if node is not None else "the input"


def _layer_of(traced: fx.GraphModule, node: fx.Node, prev: fx.Node, name: str) -> nn.Module:
    """The layer one traced operation computes: a submodule, or relu and flatten written as functions."""
    if node.op == "call_module":
        return traced.get_submodule(node.target)
    rest = node.args[1:]
    if node.op in ("call_function", "call_method") and node.target in _FUNCTIONS and not rest and not any(node.kwargs.values()):
        return _FUNCTIONS[node.target]()
    flatten = node.target in (torch.flatten, "flatten") and list(rest) == [1] and not node.kwargs
    view = node.op == "call_method" and node.target in ("view", "reshape") and len(rest) == 2 and rest[1] == -1 \
        and isinstance(rest[0], fx.Node) and _batch_size_node(rest[0], prev)
    if flatten or view:
        return nn.Flatten()
    what = node.target.__name__ if callable(node.target) else node.target
    raise UnsupportedLayerError(
        f"model {name}: operation {what!r} ({node.name}) is not a supported layer; use modules, relu, or flatten(x, 1)"
    )


def fold(model: nn.Module) -> Folded:
    """The model's chain with each BatchNorm folded into the Linear or Conv2d before it and Dropout and Identity dropped."""
    layers, folds = [], []
    index: list[int] = []  # each kept layer's position in the model's chain, for naming folds
    for i, layer in enumerate(chain_of(model)):
        kind = type(layer).__name__
        if type(layer) in DROPPED:
            folds.append(f"{kind} (layer {i}) dropped: the identity in eval mode")
        elif type(layer) in NORMS:
            target = NORMS[type(layer)]
            if not layers or type(layers[-1]) is not target:
                raise UnsupportedLayerError(
                    f"layer {i} ({kind}) does not follow a {target.__name__}; zkcert folds {kind} into the {target.__name__} before it"
                )
            layers[-1] = _fold_norm(layers[-1], layer, i)
            folds.append(f"{kind} (layer {i}) folded into {target.__name__} (layer {index[-1]})")
        else:
            layers.append(layer)
            index.append(i)
    return Folded(*layers, folds=tuple(folds))


def _fold_norm(affine: nn.Module, norm: nn.Module, i: int) -> nn.Module:
    """A copy of the Linear or Conv2d with the eval-mode BatchNorm after it folded in (in float64, then float32)."""
    if norm.running_mean is None or norm.running_var is None:
        raise UnsupportedLayerError(f"layer {i} ({type(norm).__name__}) keeps no running statistics, so eval mode is not a fixed map")
    with torch.no_grad():
        scale = 1.0 / torch.sqrt(norm.running_var.double() + norm.eps)
        shift = -norm.running_mean.double() * scale
        if norm.affine:
            scale, shift = scale * norm.weight.double(), shift * norm.weight.double() + norm.bias.double()
        folded = _with_bias(affine)
        w = affine.weight.double() * scale.reshape(-1, *[1] * (affine.weight.ndim - 1))
        b = (affine.bias.double() if affine.bias is not None else torch.zeros_like(scale)) * scale + shift
        folded.weight.copy_(w.to(affine.weight.dtype))
        folded.bias.copy_(b.to(affine.weight.dtype))
    return folded


def _with_bias(affine: nn.Module) -> nn.Module:
    """A new layer of the same kind and shape with a bias (a Linear or Conv2d before a BatchNorm often has none)."""
    if isinstance(affine, nn.Linear):
        return nn.Linear(affine.in_features, affine.out_features, dtype=affine.weight.dtype)
    args: dict[str, Any] = {k: getattr(affine, k) for k in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "padding_mode")}
    return nn.Conv2d(**args, bias=True, dtype=affine.weight.dtype)
