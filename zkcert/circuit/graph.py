"""The circuit's graph: the sharpness computation as a torch module, and its ONNX export.

The graph's inputs are the three committed columns of zkcert.commitments (data, model, direction
signs), hashed in-circuit (poseidon/v1: their hashes are the proof's first public instances) or
KZG-committed (kzg/v1: their points are the proof's first messages). It computes, in fixed point,
    numerator = sum_k [L(theta + eps d_k) + L(theta - eps d_k)] - 2 K L(theta),
with L the summed cross-entropy (max subtracted before exp, so the log argument is at least 1) and d_k
of the spec's direction family (zkcert.direction: r_k * |theta| formed per parameter, or row-sign's
per-unit output scaling), and outputs flag = [numerator <= T N K eps^2] for ds/v1 or
[numerator <= T K eps^2 L(theta)] for rds/v1 (zkcert.metric.bound_coefficient), then the sums the spec
reveals (output_names). The metric, the family, eps, T, N, K and the architecture are constants of
the graph, hence of the verifying key. So is the layout, the spec's `graph` (zkcert.spec.GRAPHS): each
computes the same sums in real arithmetic and lays them out in fewer of ezkl's rows than the one before.
"""

from __future__ import annotations

import functools
import math
import warnings
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..commitments import salt_len
from ..direction import RADEMACHER_ABS, sign_length, unit_counts
from ..errors import CertificateError, CircuitError
from ..metric import DS
from ..spec import EXP_FLOOR, FOLDED_GRAPH, GATHER_GRAPH, LEAN_GRAPH, CNN_GRAPH, SCALED_GRAPH, SHARED_GRAPH, SIGNED_GRAPH, AggregationSpec, AnySpec, CircuitSpec

__all__ = ["SharpnessGraph", "AggregationGraph", "export_onnx", "output_names", "shard_output_len", "sum_count", "sum_names", "input_lengths"]

_KNOWN_LAYERS = ("Linear", "Conv2d", "ReLU", "Flatten", "MaxPool2d", "AvgPool2d")
_OPSET = 17


def _param_shapes(layers: tuple[dict[str, Any], ...]) -> list[tuple[int, ...]]:
    shapes: list[tuple[int, ...]] = []
    for cfg in layers:
        if cfg["type"] == "Linear":
            shapes += [(cfg["out_features"], cfg["in_features"]), (cfg["out_features"],)]
        elif cfg["type"] == "Conv2d":
            k = cfg["kernel_size"]
            shapes += [(cfg["out_channels"], cfg["in_channels"], k[0], k[1]), (cfg["out_channels"],)]
    return shapes


def _product(cfg: dict[str, Any], h: torch.Tensor, w: torch.Tensor, im2col: bool = False) -> torch.Tensor:
    """A Linear or Conv2d layer without its bias; im2col (graph 6) lays a Conv2d out as _patches and one einsum."""
    if cfg["type"] == "Linear":
        return h @ w.T
    if not im2col:
        return F.conv2d(h, w, stride=tuple(cfg["stride"]), padding=tuple(cfg["padding"]))
    p, ho, wo = _patches(h, _pair(cfg["kernel_size"]), _pair(cfg["stride"]), _pair(cfg["padding"]))
    z = torch.einsum("ok,nkl->nol", w.reshape(w.shape[0], -1), p)
    return z.reshape(z.shape[0], w.shape[0], ho, wo)


def _patches(h: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]) -> tuple[torch.Tensor, int, int]:
    """(N, C kh kw, L) patches of h for a convolution (channel-major, like a Conv2d weight's flattening), and the output size.

    ezkl checks an einsum's result with Freivalds' random squashing, in about one cell per element of its operands
    and result, where its Conv multiplies out every window: 17 % fewer rows per sample on a 4-8 channel MNIST CNN
    (measured with gen_settings). Zero padding is a concatenation with zeros: ezkl's tract cannot analyse ONNX Pad.
    """
    n, c, height, width = h.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    if pw:
        side = torch.zeros(n, c, height, pw)
        h = torch.cat([side, h, side], dim=3)
    if ph:
        edge = torch.zeros(n, c, ph, width + 2 * pw)
        h = torch.cat([edge, h, edge], dim=2)
    ho, wo = (h.shape[2] - kh) // sh + 1, (h.shape[3] - kw) // sw + 1
    cols = [h[:, :, i : i + sh * (ho - 1) + 1 : sh, j : j + sw * (wo - 1) + 1 : sw] for i in range(kh) for j in range(kw)]
    return torch.stack(cols, dim=2).reshape(n, c * kh * kw, ho * wo), ho, wo


def _affine(cfg: dict[str, Any], h: torch.Tensor, w: torch.Tensor, b: torch.Tensor, im2col: bool = False) -> torch.Tensor:
    """A Linear or Conv2d layer with its bias."""
    z = _product(cfg, h, w, im2col)
    if cfg["type"] == "Linear":
        return z + b
    # Bias added separately and expanded to the full shape: ezkl 23.0.5 panics (gen_settings assertion)
    # on Conv with a non-constant bias and on broadcasting a variable (1, C, 1, 1).
    return z + b.reshape(1, -1, 1, 1).expand(z.shape)


def _unit_scale(z: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """z with each output unit (feature or channel) multiplied by its scale, expanded explicitly (see _affine)."""
    shape = (1, -1) if z.ndim == 2 else (1, -1, 1, 1)
    return z * scale.reshape(shape).expand(z.shape)


def _flip(z: torch.Tensor, signs: torch.Tensor) -> torch.Tensor:
    """z with each unit along dim 1 multiplied by its sign (+1 or -1), as a select rather than a product.

    Dim 1 is an activation's feature or channel, and a Linear or Conv2d weight's input column or channel.

    ezkl rescales every product of two variables (about 51 cells per element at 4 columns, measured), but
    a select on a boolean costs about 7, and row-sign/v1 signs are exactly +1 or -1 (the verifier
    recomputes them). The comparison runs on the unexpanded signs: once per unit, not per element.
    """
    shape = (1, -1) if z.ndim == 2 else (1, -1, 1, 1)
    return torch.where((signs > 0).reshape(shape).expand(z.shape), z, -z)


def _times_sign(z: torch.Tensor, signs: torch.Tensor) -> torch.Tensor:
    """_flip's value as a product by sign(signs) (graph 5), whose scale is 2**0: the product needs no rescale.

    A select needs ezkl's boolean range check, one lookup argument per column for the whole circuit; sign
    uses the decomposition's tables that every rescale already needs, once per unit. Measured on an 8-sample
    MNIST shard at logrows 16 (one proof each): 10 % faster, and 30 fewer rows per sample.
    """
    shape = (1, -1) if z.ndim == 2 else (1, -1, 1, 1)
    return z * torch.sign(signs).reshape(shape).expand(z.shape)


def _row_max(z: torch.Tensor) -> torch.Tensor:
    """Each row's maximum as a tree of max(a, b) = a + relu(b - a), shape (N, 1) (graph 5).

    Exact in fixed point like ezkl's own max, which sorts each row and proves the sort with a shuffle
    argument; relu needs only the decomposition's tables. Measured on an 8-sample MNIST shard at logrows 16,
    with _times_sign: another 10 % faster, at about the same rows (both together: -22 %, medians of 3,
    results/proving/breakdown.md).
    """
    while z.shape[1] > 1:
        half = z.shape[1] // 2
        a = z[:, :half]
        top = a + torch.relu(z[:, half : 2 * half] - a)
        z = torch.cat([top, z[:, 2 * half :]], dim=1) if z.shape[1] % 2 else top
    return z


def _tree_pool(h: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int]) -> torch.Tensor:
    """max_pool2d (no padding, floor mode) as a tree of max(a, b) = a + relu(b - a) over the window's offsets (graph 6).

    ezkl's MaxPool sorts every window and proves the sort with a shuffle argument; this needs only the
    decomposition's tables that every relu already uses: window - 1 relus per output element.
    """
    (kh, kw), (sh, sw) = kernel, stride
    ho, wo = (h.shape[2] - kh) // sh + 1, (h.shape[3] - kw) // sw + 1
    level = [h[:, :, i : i + sh * (ho - 1) + 1 : sh, j : j + sw * (wo - 1) + 1 : sw] for i in range(kh) for j in range(kw)]
    while len(level) > 1:
        pairs = [a + torch.relu(b - a) for a, b in zip(level[::2], level[1::2])]
        level = pairs + level[len(pairs) * 2 :]
    return level[0]


def _log2_inverse(eps: float) -> int:
    """k for eps = 2**-k (the folding graphs require it: zkcert.spec.folds)."""
    return round(-math.log2(eps))


def _doubled(t: torch.Tensor, times: int) -> torch.Tensor:
    """t * 2**times as additions: ezkl rescales a product by a constant (measured), not a sum."""
    for _ in range(times):
        t = t + t
    return t


def _pair(value: Any) -> tuple[int, int]:
    """A layer config's int-or-pair argument as a pair."""
    return (int(value), int(value)) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _pool_before_relu(layers: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], ...]:
    """The layers with every ReLU -> MaxPool2d pair swapped (graph 6): relu(max(a, b)) = max(relu(a), relu(b)) exactly,
    in fixed point too, and the relu then runs on the pooled (a quarter as many, for 2x2) elements."""
    out = list(layers)
    for i in range(len(out) - 1):
        if out[i]["type"] == "ReLU" and out[i + 1]["type"] == "MaxPool2d":
            out[i], out[i + 1] = out[i + 1], out[i]
    return tuple(out)


def _tail(t: torch.Tensor, start: int) -> torch.Tensor:
    """t[..., start:] as a tensor of its own, so that slices of it cost cells in proportion to it, not to t.

    ezkl lays out a slice in about one cell per element of the tensor it slices (measured: each of the
    MNIST MLP's four parameter slices cost about 25.5k cells, one per element of the model input, even the
    10-element bias), and the graph optimizer merges a slice of a slice into one slice of the original.
    A double negation, which it keeps and ezkl lays out almost for free, ends that chain.
    """
    return -(-t[..., start:])


def _take(t: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    """t[:, start:stop] as a gather at constant indices, which ezkl lays out in about nothing (see _tail on slices).

    Measured on the held-out circuit for MNIST 784-32-10 at 2 columns: taking the samples, labels and parameters
    out of their columns this way instead of by slices cut 804 of 2,727 rows per sample and 26,359 of 39,115 fixed.
    """
    return torch.index_select(t, 1, torch.arange(start, stop))


# How a claim's circuit (held-out, resilience) takes its parts out of its columns: 1 by slices (their first
# release), 2 by gathers (_take). A spec without the field is layout 1, so its certificates keep their keys.
# The held-out circuit adds layout 3 (zkcert.circuit.heldout.PADDED_LAYOUT): layout 2 with padded blocks.
LAYOUTS = (1, 2)
LAYOUT = 2


def check_layout(layout: Any, what: str, allowed: tuple[int, ...] = LAYOUTS) -> None:
    """A CertificateError unless layout is one of `allowed`."""
    if isinstance(layout, bool) or layout not in allowed:
        raise CertificateError(f"{what} layout {layout!r} is not one of {list(allowed)}; upgrade zkcert")


def _gather_params(column: torch.Tensor, shapes: list[tuple[int, ...]]) -> list[torch.Tensor]:
    """Each parameter tensor of these shapes, in order, gathered from the model column (see _take)."""
    params, offset = [], 0
    for shape in shapes:
        params.append(_take(column, offset, offset + math.prod(shape)).reshape(shape))
        offset += math.prod(shape)
    return params


def _tailed_params(theta: torch.Tensor, shapes: list[tuple[int, ...]]) -> list[torch.Tensor]:
    """Graphs 3-6 (and the claims' layout 1): the first parameter tensor sliced from theta, the rest from one _tail."""
    first = math.prod(shapes[0])
    params, rest, offset = [theta[:first].reshape(shapes[0])], _tail(theta, first), 0
    for shape in shapes[1:]:
        size = math.prod(shape)
        params.append(rest[offset : offset + size].reshape(shape))
        offset += size
    return params


def claim_params(model: torch.Tensor, shapes: list[tuple[int, ...]], num_params: int, layout: int) -> list[torch.Tensor]:
    """A claim circuit's parameter tensors from the model column: gathered (layout 2) or sliced as graphs 3-6 do (layout 1)."""
    if layout == 1:
        return _tailed_params(model[0, :num_params], shapes)
    return _gather_params(model, shapes)


def _per_feature(scale: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """A per-channel vector of a (N, C, H, W) activation as the per-feature vector of its flattening."""
    if h.ndim == 2:
        return scale
    return scale.reshape(-1, 1).expand(h.shape[1], math.prod(h.shape[2:])).reshape(-1)


def _other_layer(cfg: dict[str, Any], h: torch.Tensor, tree_pool: bool = False) -> torch.Tensor:
    kind = cfg["type"]
    if kind == "ReLU":
        return torch.relu(h)
    if kind == "Flatten":
        return h.reshape(h.shape[0], -1)
    if kind == "MaxPool2d" and tree_pool:
        return _tree_pool(h, _pair(cfg["kernel_size"]), _pair(cfg["stride"]))
    if kind == "MaxPool2d":
        return F.max_pool2d(h, cfg["kernel_size"], cfg["stride"])
    return F.avg_pool2d(h, cfg["kernel_size"], cfg["stride"])


class SharpnessGraph(nn.Module):
    """The owner-side computation for one spec, as a torch module with static shapes."""

    def __init__(self, spec: CircuitSpec):
        super().__init__()
        self.spec = spec
        unknown = [cfg.get("type") for cfg in spec.layers if cfg.get("type") not in _KNOWN_LAYERS]
        if unknown:
            raise CircuitError(f"the spec names layers the circuit cannot build: {unknown}")
        self.shapes = _param_shapes(spec.layers)
        if sum(math.prod(s) for s in self.shapes) != spec.num_params:
            raise CircuitError(f"spec says {spec.num_params} parameters but its layers have a different count")
        self.units = [units for units, _ in unit_counts(spec.layers)]
        # The layers as laid out: graph 6 pools before the relu and as a relu tree, and convolves by im2col and an
        # einsum; earlier graphs as written.
        self.cnn = spec.graph >= CNN_GRAPH
        self.layers = _pool_before_relu(spec.layers) if self.cnn else spec.layers

    def _params(self, theta: torch.Tensor) -> list[torch.Tensor]:
        """Each layer's weights and bias, sliced from theta; from graph 3 on, all but the first from one _tail; from
        GATHER_GRAPH on, gathered from the model column (theta is then that (1, P + salt) column)."""
        shapes, params = list(self.shapes), []
        if self.spec.graph >= GATHER_GRAPH:
            return _gather_params(theta, shapes)
        if self.spec.graph >= SIGNED_GRAPH:
            return _tailed_params(theta, shapes)
        offset = 0
        for shape in shapes:
            size = math.prod(shape)
            params.append(theta[offset : offset + size].reshape(shape))
            offset += size
        return params

    def _logits(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        return self._logits_scaled(x, self._params(theta), [None])[0]

    def _logits_scaled(self, x: torch.Tensor, params: list[torch.Tensor], variants: list[list[torch.Tensor] | None]) -> list[torch.Tensor]:
        """Logits of each variant: None is theta itself, else one scale per unit of each affine layer.

        Scaling unit j's output by (1 +/- eps a_j) is exactly scaling its incoming weights and bias
        (row-sign/v1). Until the first affine layer every variant has the same input, so that layer's
        product (the largest, for an MLP) is computed once and only its outputs are scaled.
        """
        hs, shared, it, layer = [x], True, iter(params), 0
        for cfg in self.spec.layers:
            if cfg["type"] not in ("Linear", "Conv2d"):
                hs = [_other_layer(cfg, h) for h in hs]
                continue
            w, b = next(it), next(it)
            if shared:
                z = _affine(cfg, hs[0], w, b)
                hs = [z if v is None else _unit_scale(z, v[layer]) for v in variants]
                shared = False
            else:
                hs = [_affine(cfg, h, w, b) if v is None else _unit_scale(_affine(cfg, h, w, b), v[layer]) for h, v in zip(hs, variants)]
            layer += 1
        return hs

    def _logits_shared(self, x: torch.Tensor, params: list[torch.Tensor], signs: list[tuple[torch.Tensor, ...]]) -> list[torch.Tensor]:
        """Logits of theta and of theta +/- eps d_k for each direction's per-layer signs a_k (graphs 2 and 3), as _logits_scaled's.

        The first layer's output unit j is z_j (1 +/- eps a_j). relu and pooling commute with that positive
        scale (the spec requires eps <= 1), so every variant shares one activation h up to the second
        layer, whose input is s * h: W (s * h) + b = (W h + b) +/- eps W (a * h). So the second layer costs
        two products per direction pair instead of three, and the two variants differ from the shared
        W h + b by exactly opposite terms: rounding there cancels in the second difference, as it must
        (folding s into W instead was cheaper, but its per-weight rounding did not cancel: gaps up to 8 %
        on a 4-unit MLP). Graph 3 forms the second layer's pair with _signed_pair, graphs 4-7 with _folded_pair,
        graph 8 with _scaled_pair where layers follow it. After the second layer each variant has its own
        stream, as in graph 1.
        """
        eps, it = self.spec.epsilon, iter(params)
        keys = [(k, sign) for k in range(len(signs)) for sign in (1.0, -1.0)]

        def scaled(h: torch.Tensor, key: tuple[int, float], layer: int) -> torch.Tensor:
            return _unit_scale(h, 1.0 + key[1] * eps * signs[key[0]][layer])

        affine = [i for i, cfg in enumerate(self.layers) if cfg["type"] in ("Linear", "Conv2d")]
        last = affine[-1]
        # Graph 8 scales the pair by 1/eps**2 where layers follow it (see _scaled_pair); `doublings` is that factor's
        # log2 while the streams carry it, 0 once the last layer's input has divided it out.
        doublings = 2 * _log2_inverse(eps) if self.spec.graph >= SCALED_GRAPH and len(affine) > 2 else 0
        streams, pending, layer = [x], [a[0] for a in signs], 0
        for i, cfg in enumerate(self.layers):
            if cfg["type"] not in ("Linear", "Conv2d"):
                if cfg["type"] == "Flatten" and layer == 1:
                    pending = [_per_feature(a, streams[0]) for a in pending]
                streams = [_other_layer(cfg, h, self.cnn) for h in streams]
                continue
            w, b = next(it), next(it)
            if layer == 0:
                z = _affine(cfg, streams[0], w, b, self.cnn)
                streams = [z, *(scaled(z, key, 0) for key in keys)] if i == last else [z]
            elif layer == 1 and self.spec.graph >= SIGNED_GRAPH:
                h, shared = streams[0], _affine(cfg, streams[0], w, b, self.cnn)
                streams = [_doubled(shared, doublings)]  # shared itself unless graph 8 scales the pair
                pair = self._folded_pair if self.spec.graph >= FOLDED_GRAPH else self._signed_pair
                for k, a in enumerate(pending):
                    streams += (self._scaled_pair(cfg, h, shared, streams[0], w, a, signs[k][1]) if doublings
                                else pair(cfg, h, shared, w, a, signs[k][1]))
            elif layer == 1:
                shared = _affine(cfg, streams[0], w, b)
                steps = [eps * _product(cfg, _unit_scale(streams[0], a), w) for a in pending]
                moved = [shared + steps[k] if sign > 0 else shared - steps[k] for k, sign in keys]
                streams = [shared, *(scaled(h, key, 1) for h, key in zip(moved, keys))]
            else:
                if doublings and i == last:
                    streams, doublings = [h * 2.0**-doublings for h in streams], 0
                b = _doubled(b, doublings)  # the streams carry 2**doublings from the pair on: so must the bias
                streams = [_affine(cfg, streams[0], w, b, self.cnn), *(scaled(_affine(cfg, h, w, b, self.cnn), key, layer) for h, key in zip(streams[1:], keys))]
            layer += 1
        return streams

    def _signed_pair(self, cfg: dict[str, Any], h: torch.Tensor, u: torch.Tensor, w: torch.Tensor, a_in: torch.Tensor, a_out: torch.Tensor) -> list[torch.Tensor]:
        """The second layer's outputs at theta + eps d and theta - eps d (graph 3), given u = W h + b at theta.

        With s_in = 1 +/- eps a_in on h and s_out = 1 +/- eps a_out on the outputs, and a * a = 1,
            s_out (u +/- eps v) = u + eps (eps a_out v +/- (v + a_out u)),   v = W (a_in h),
        so every product with a sign is a select (_flip): per sample the pair rescales 4 values per output unit
        (v, eps a_out v and the two steps) where graph 2 rescaled those and one more per hidden unit (a_in h).
        The eps^2 term joins each step before its one rounding: rounded on its own, as u + eps^2 a_out v
        (which would make the pair exactly symmetric), it is below the fixed point's resolution at eps 2**-6
        and scale 2**10 and rounds to 0 (measured on one draw: a 25 % gap on a 64-16-10 MLP, 4 % for graph 2).
        """
        eps = self.spec.epsilon
        v = _product(cfg, _flip(h, a_in), w)
        p, t = v + _flip(u, a_out), eps * _flip(v, a_out)
        return [u + eps * (t + p), u + eps * (t - p)]

    def _folded_pair(self, cfg: dict[str, Any], h: torch.Tensor, u: torch.Tensor, w: torch.Tensor, a_in: torch.Tensor, a_out: torch.Tensor) -> list[torch.Tensor]:
        """_signed_pair's two outputs with three rescales per output unit instead of five (graphs 4 and 5).

        With eps = 2**-k (spec.folds), u + eps (eps a_out v +/- p) = u + eps**2 (a_out v +/- 2**k p), and
        2**k p is k doublings: additions, which ezkl does not rescale (a product by the constant 2**k costs a
        rescale, measured), so each output rounds once where graph 3 rounded eps a_out v and then each step.
        The input signs are folded into W, once per proof: W (a * h) = (W diag(a)) h exactly for signs. At 4 columns a rescale costs about
        54-72 cells per element and a select about 8 (measured): MNIST 2,142 rows per sample, graph 3 2,466.
        """
        eps = self.spec.epsilon
        r, p = self._folded_terms(cfg, h, u, w, a_in, a_out)
        return [u + eps * eps * (r + p), u + eps * eps * (r - p)]

    def _folded_terms(self, cfg: dict[str, Any], h: torch.Tensor, u: torch.Tensor, w: torch.Tensor, a_in: torch.Tensor,
                      a_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(r, p) = (a_out v, 2**k (v + a_out u)) with v = (W diag(a_in)) h: the pair is u + eps**2 (r +/- p) (_folded_pair)."""
        flip = _times_sign if self.spec.graph >= LEAN_GRAPH else _flip
        v = _product(cfg, h, flip(w, a_in), self.cnn)
        return flip(v, a_out), _doubled(v + flip(u, a_out), _log2_inverse(self.spec.epsilon))

    def _scaled_pair(self, cfg: dict[str, Any], h: torch.Tensor, u: torch.Tensor, big_u: torch.Tensor, w: torch.Tensor, a_in: torch.Tensor,
                     a_out: torch.Tensor) -> list[torch.Tensor]:
        """_folded_pair's two outputs times 1/eps**2 (graph 8), given u = W h + b and big_u = u / eps**2 (doublings of u).

        (u + eps**2 (r +/- p)) / eps**2 = u / eps**2 + (r +/- p): additions only, where _folded_pair multiplies
        r +/- p by the constant eps**2 and ezkl rescales each product (54-72 cells per element at 4 columns).
        Used where layers follow the pair (a CNN): relu and pooling commute with the positive factor, layers
        before the last are linear in it (their biases are doubled too), and the last layer's input divides it
        out, one rescale per element. That rounding is graph 7's: u is an integer, so rounding u + (r +/- p) eps**2
        here rounds what graph 7 rounded, and relu and max commute with it; only a tie may round the other way
        (values 0-0.35 % apart on tiny models, tests/circuit/test_cnn.py; 0.03 % on the MNIST CNN). Dividing the
        logits instead (fewer elements) laid out 47 % more rows per sample on a 64-8-8-10 MLP, measured.
        MNIST CNN: 22 % fewer rows per sample (results/proving/cnn-rows.md).
        """
        r, p = self._folded_terms(cfg, h, u, w, a_in, a_out)  # graph 8 >= LEAN_GRAPH: selects by _times_sign
        return [big_u + (r + p), big_u + (r - p)]

    @classmethod
    def _summed_log_sum_exp(cls, z: torch.Tensor, relu_floor: bool = False, tree_max: bool = False) -> torch.Tensor:
        """Sum over samples of log sum_c exp(z_c) (_log_sum_exp)."""
        return torch.sum(cls._log_sum_exp(z, relu_floor, tree_max))

    @staticmethod
    def _log_sum_exp(z: torch.Tensor, relu_floor: bool = False, tree_max: bool = False) -> torch.Tensor:
        """Per sample, log sum_c exp(z_c), shifted by the row maximum so exp stays in its lookup range, shape (N,).

        relu_floor (graph 3) writes the same floor max(x, -EXP_FLOOR) as relu(x + EXP_FLOOR) - EXP_FLOOR,
        exact in fixed point: ezkl lays out a clamp in about 35 cells per element and a relu in 22 (measured).
        tree_max (graph 5) takes the maximum with _row_max.
        """
        m = _row_max(z) if tree_max else torch.max(z, dim=1, keepdim=True).values
        top, shifted = m.reshape(-1), z - m  # in this order: graphs 1 and 2 export node for node as they always did
        floored = torch.relu(shifted + EXP_FLOOR) - EXP_FLOOR if relu_floor else torch.clamp(shifted, min=-EXP_FLOOR)
        return top + torch.log(torch.sum(torch.exp(floored), dim=1))

    @classmethod
    def _summed_loss(cls, z: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        return cls._summed_log_sum_exp(z) - torch.sum(z * onehot)

    @classmethod
    def _summed_loss_dot(cls, z: torch.Tensor, onehot: torch.Tensor, relu_floor: bool = False, tree_max: bool = False) -> torch.Tensor:
        """_summed_loss with the label term as one dot product: ezkl rescales once per dot, once per element of z * onehot."""
        return cls._summed_log_sum_exp(z, relu_floor, tree_max) - (z.reshape(1, -1) @ onehot.reshape(-1, 1)).reshape(())

    def _losses(self, x: torch.Tensor, onehot: torch.Tensor, theta: torch.Tensor, signs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(summed loss at theta, sum over k of the summed losses at theta + eps d_k and theta - eps d_k, logits at theta)."""
        s = self.spec
        k, eps = s.n_directions, s.epsilon
        if s.direction == RADEMACHER_ABS:
            p = s.num_params
            eps_abs = torch.abs(theta) * eps
            z0 = self._logits(x, theta)
            base = self._summed_loss(z0, onehot)
            steps = [signs[0, i * p : (i + 1) * p] * eps_abs for i in range(k)]
            outer = [self._summed_loss(self._logits(x, theta + sign * st), onehot) for st in steps for sign in (1.0, -1.0)]
        else:
            u = sum(self.units)
            per_direction: list[tuple[torch.Tensor, ...]] = []
            variants: list[list[torch.Tensor] | None] = [None]
            for i in range(k):
                per_layer = torch.split(signs[0, i * u : (i + 1) * u], self.units)
                per_direction.append(per_layer)
                if s.graph < SHARED_GRAPH:
                    variants += [[1.0 + sign * eps * al for al in per_layer] for sign in (1.0, -1.0)]
            if s.graph >= SHARED_GRAPH:
                logits = self._logits_shared(x, self._params(theta), per_direction)
                loss = functools.partial(self._summed_loss_dot, relu_floor=s.graph >= SIGNED_GRAPH, tree_max=s.graph >= LEAN_GRAPH)
            else:
                logits, loss = self._logits_scaled(x, self._params(theta), variants), self._summed_loss
            z0 = logits[0]
            base = loss(z0, onehot)
            outer = [loss(z, onehot) for z in logits[1:]]
        total = outer[0]
        for term in outer[1:]:
            total = total + term
        return base, total, z0

    def forward(self, data: torch.Tensor, model: torch.Tensor, signs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        s = self.spec
        n, f, c, p, k = s.n_samples, s.features, s.num_classes, s.num_params, s.n_directions
        if s.graph >= GATHER_GRAPH:
            x, onehot = _take(data, 0, n * f).reshape((n, *s.input_shape)), _take(data, n * f, n * (f + c)).reshape(n, c)
            labels, theta = data, model  # the salt is gathered from the end of data; _params gathers from model
        else:
            x, theta = data[:, : n * f].reshape((n, *s.input_shape)), model[0, :p]
            if s.graph >= SIGNED_GRAPH:
                # The labels and the salt cut from a _tail: two slices of the whole data per proof, not three.
                labels = _tail(data, n * f)
                onehot = labels[:, : n * c].reshape(n, c)
            else:
                labels, onehot = data, data[:, n * f : n * f + n * c].reshape(n, c)
        base, outer, z0 = self._losses(x, onehot, theta, signs)
        numerator = (outer - 2.0 * k * base).reshape(1, 1)
        sums = [numerator] if s.metric == DS else [numerator, base.reshape(1, 1)]
        if s.check_labels:
            sums += [_correct_count(z0, onehot, s.graph >= LEAN_GRAPH, s.input_scale), _label_error(onehot)]
        if s.shard:
            # The data salt rides along so that the hashed partial cannot be found by trying values.
            salt = salt_len(s.commitment)
            tail = _take(labels, labels.shape[1] - salt, labels.shape[1]) if s.graph >= GATHER_GRAPH else labels[:, -salt:]
            return (torch.cat([*sums, tail], dim=1),)
        return _flagged(s, sums)


def _correct_count(z: torch.Tensor, onehot: torch.Tensor, tree_max: bool, scale: int) -> torch.Tensor:
    """How many samples the logits z classify as their label: z_y >= max_c z_c (a tie counts as correct), shape (1, 1).

    z_y is one dot product per sample (ezkl rescales once per dot); the maximum is graph 5's relu tree where
    the layout has it, so the count adds no lookup argument the graph did not already need. The comparison
    allows a quarter of the fixed point's step: that constant rounds to 0 in the circuit, where the comparison
    is exact, and absorbs float32 rounding in the exported graph (a + relu(b - a) is not always b there).
    """
    return torch.sum(_correct_mask(z, onehot, tree_max, scale)).reshape(1, 1)


def _correct_mask(z: torch.Tensor, onehot: torch.Tensor, tree_max: bool, scale: int) -> torch.Tensor:
    """1.0 where the logits z classify the sample as its label, else 0.0, shape (N, 1) (see _correct_count)."""
    n, c = z.shape
    label_logit = torch.bmm(z.reshape(n, 1, c), onehot.reshape(n, c, 1)).reshape(n, 1)
    top = _row_max(z) if tree_max else torch.max(z, dim=1, keepdim=True).values
    return (label_logit - top >= -(2.0 ** -(scale + 2))).to(torch.float32)


def _label_error(onehot: torch.Tensor) -> torch.Tensor:
    """sum |v^2 - v| + sum_i |sum_c v_ic - 1| over the committed label vectors: 0 exactly when each is one-hot, shape (1, 1).

    In fixed point at scale s an entry k / 2**s has v^2 = v only for k = 0 or k = 2**s (|k (k - 2**s)| >= 2**s - 1
    otherwise), so every entry is 0 or 1, and the row sums make exactly one of them 1. Without this check an
    owner could commit zero or scaled label vectors and make any model pass (shared/PROTOCOL.md, "The metric").
    |t| is written relu(t) + relu(-t), which needs only the tables a relu already uses.
    """
    def absolute(t: torch.Tensor) -> torch.Tensor:
        return torch.relu(t) + torch.relu(-t)

    entries = torch.sum(absolute(onehot * onehot - onehot))
    rows = torch.sum(absolute(torch.sum(onehot, dim=1) - 1.0))
    return (entries + rows).reshape(1, 1)


def _flagged(spec: AnySpec, sums: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """The public outputs, in output_names' order, from the sums (sum_names).

    flag = [numerator <= bound] for ds/v1, [numerator <= bound * loss sum] for rds/v1. With label checks,
    labels_ok = [label error <= 0]; the label error itself stays private (it is 0 whenever labels_ok is 1).
    """
    named = dict(zip(sum_names(spec), sums))
    rhs = spec.bound if spec.metric == DS else named["loss_sum"] * spec.bound
    named["flag"] = (named["numerator"] <= rhs).to(torch.float32).reshape(1, 1)
    if spec.check_labels:
        named["labels_ok"] = (named["label_error"] <= 0).to(torch.float32).reshape(1, 1)
    return tuple(named[name] for name in output_names(spec))


class AggregationGraph(nn.Module):
    """Sum of the shards' partial sums, compared with the whole statement's bound."""

    def __init__(self, spec: AggregationSpec):
        super().__init__()
        self.spec = spec

    def forward(self, *parts: torch.Tensor) -> tuple[torch.Tensor, ...]:
        width = sum_count(self.spec)
        sums = [parts[0][:, j : j + 1] for j in range(width)]
        for part in parts[1:]:
            sums = [total + part[:, j : j + 1] for j, total in enumerate(sums)]
        return _flagged(self.spec, sums)


def sum_names(spec: AnySpec) -> list[str]:
    """The sums a circuit computes (and a shard hashes), in order: the numerator, the summed loss for rds/v1,
    and with label checks the training correct count and the label error."""
    names = ["numerator"] if spec.metric == DS else ["numerator", "loss_sum"]
    return names + (["correct", "label_error"] if spec.check_labels else [])


def sum_count(spec: AnySpec) -> int:
    """How many sums a circuit carries (sum_names)."""
    return len(sum_names(spec))


def shard_output_len(spec: AnySpec) -> int:
    """Field elements a shard circuit hashes into its one output: its sums and the data salt."""
    return sum_count(spec) + salt_len(spec.commitment)


def output_names(spec: AnySpec) -> list[str]:
    """The graph's outputs in order, which is also the order of the proof's output instances."""
    if isinstance(spec, CircuitSpec) and spec.shard:
        return ["partial"]
    # With label checks, whether the labels are one-hot and the training correct count are public whatever
    # reveal_value says: a verifier must see that the committed data is well formed and that the model fits it.
    public = ["flag", "labels_ok", "correct"] if spec.check_labels else ["flag"]
    return public + sum_names(spec)[: 1 if spec.metric == DS else 2] if spec.reveal_value else public


def input_lengths(spec: CircuitSpec) -> tuple[int, int, int]:
    """Lengths of the data, model and direction vectors."""
    salt = salt_len(spec.commitment) if spec.salted else 0
    n = spec.n_samples
    signs = sign_length(spec.direction, spec.layers, spec.num_params)
    return n * (spec.features + spec.num_classes) + salt, spec.num_params + salt, spec.n_directions * signs


def _graph(spec: AnySpec) -> tuple[nn.Module, tuple[torch.Tensor, ...], list[str], list[str]]:
    """(module, dummy inputs, input names, output names) of either kind of spec."""
    if isinstance(spec, AggregationSpec):
        names = [f"shard{i}" for i in range(spec.n_shards)]
        dummies = tuple(torch.zeros(1, shard_output_len(spec)) for _ in names)
        return AggregationGraph(spec), dummies, names, output_names(spec)
    dummies = tuple(torch.zeros(1, n) for n in input_lengths(spec))
    return SharpnessGraph(spec), dummies, ["data", "model", "direction"], output_names(spec)


def export_onnx(spec: AnySpec, path: Path) -> None:
    """Export the spec's graph to ONNX (opset 17, static shapes)."""
    export_module(*_graph(spec), path)


def export_module(module: nn.Module, dummies: tuple[torch.Tensor, ...], inputs: list[str], outputs: list[str], path: Path) -> None:
    """Export a circuit's torch module to ONNX (opset 17, static shapes), a failure as one CircuitError line."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                module.eval(), dummies, str(path), input_names=inputs, output_names=outputs,
                opset_version=_OPSET, dynamo=False,
            )
        except Exception as exc:  # torch's exporter raises many types; the user needs one line
            raise CircuitError(f"ONNX export failed: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None

