"""The resilience circuit ("resilience/v1"): Q seeded neighbours of every committed sample, classified by the committed model.

Inputs, each committed like the sharpness circuit's (zkcert.commitments; hashed under poseidon/v1, KZG columns
under kzg/v1): the data column and the model column exactly as the sharpness proof commits them (same salts,
same scale), so the proof's C_D and C_theta are the published ones, and the (Q, d) neighbour offsets of
zkcert.neighbours, unsalted and recomputed by the verifier. It computes, in fixed point,
    pairs = #{(i, q): the label's logit at x_i + delta_q is below another class's}
    weak  = #{i: pairs_i >= 1},
and whether every committed label vector is one-hot (labels_ok), all three public. The offsets are shared by
the samples, so the first layer's response to each offset, W delta_q, is computed once per proof and each
neighbour's first layer is W x_i + b + W delta_q (exact in real arithmetic; the model must start with a
Linear or Conv2d layer, after at most a Flatten). e (in the offsets), Q, N, the architecture and the scale are
constants of the spec, so of the verifying key. Layout 2 gathers a part's samples and labels and the parameters
out of their columns (graph.py's _take); layout 1, the first release's, sliced them (MNIST 784-32-10, Q 4, 4
columns: 2,864 -> 2,460 rows per sample and 22,007 -> 8,822 fixed; results/resilience/rows.md).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._internal.ezkl import ProofView
from .._internal.io import read_json
from ..commitments import KZG, POSEIDON, check_scheme, felt_hex, salt_len
from ..errors import CertificateError, CircuitError, InputError
from ..neighbours import GENERATOR, check_neighbours
from ..spec import RUN_ARGS, CircuitSpec
from .graph import (
    LAYOUT, _affine, _correct_mask, _label_error, _other_layer, _param_shapes, _product, _tail, _take, check_layout, claim_params,
    export_module,
)

__all__ = ["RESILIENCE_SCHEMA", "INPUTS", "OUTPUTS", "ResilienceSpec", "ResilienceGraph", "ResilienceInstances",
           "resilience_instances", "load_resilience_spec"]

RESILIENCE_SCHEMA = "zkcert-resilience/v1"
INPUTS = ("data", "model", "offsets")
OUTPUTS = ("labels_ok", "pairs", "weak")
_AFFINE = ("Linear", "Conv2d")


@dataclass(frozen=True)
class ResilienceSpec:
    """Everything compiled into the resilience circuit, and so into its verifying key (one key per part)."""

    layers: tuple[dict[str, Any], ...]
    input_shape: tuple[int, ...]
    num_classes: int
    num_params: int
    n_samples: int
    neighbours: int
    degree: float
    input_scale: int
    commitment: str = POSEIDON
    salted: bool = True
    run_args: dict[str, Any] = field(default_factory=dict)
    generator: str = GENERATOR
    # The proof covers samples [part m, (part + 1) m) of the committed column's n_samples, m = n_samples / parts: under
    # kzg/v1 the circuit must take the sharpness shard's whole column at the sharpness circuit's logrows, and Q
    # neighbours of every sample of a shard may not fit there (zkcert.resilience picks the fewest parts that do).
    part: int = 0
    parts: int = 1
    layout: int = LAYOUT  # graph.LAYOUTS: 2 gathers the part's samples and the parameters, 1 (first release) slices
    schema: str = RESILIENCE_SCHEMA

    def __post_init__(self) -> None:
        if self.schema != RESILIENCE_SCHEMA:
            raise CertificateError(f"resilience spec schema {self.schema!r} is not {RESILIENCE_SCHEMA!r}; upgrade zkcert")
        if self.generator != GENERATOR:
            raise CertificateError(f"neighbour generator {self.generator!r} is not {GENERATOR!r}; upgrade zkcert")
        check_scheme(self.commitment)
        check_layout(self.layout, "resilience circuit")
        check_neighbours(self.degree, self.neighbours)
        for name in ("n_samples", "num_classes", "num_params"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.input_scale, bool) or not isinstance(self.input_scale, int) or not 1 <= self.input_scale <= 16:
            raise InputError(f"input_scale must be an integer in [1, 16], got {self.input_scale!r}")
        if any(isinstance(v, bool) or not isinstance(v, int) for v in (self.part, self.parts)) or not 0 <= self.part < self.parts \
                or self.n_samples % self.parts:
            raise InputError(f"part {self.part!r} of {self.parts!r} does not cut {self.n_samples} samples into equal parts")
        unknown = set(self.run_args) - RUN_ARGS
        if unknown:
            raise InputError(f"run_args may not set {sorted(unknown)}: only {sorted(RUN_ARGS)}")
        firsts = [cfg["type"] for cfg in self.layers][: 1 + next((i for i, c in enumerate(self.layers) if c["type"] in _AFFINE), 0)]
        if not firsts or firsts[-1] not in _AFFINE or any(t != "Flatten" for t in firsts[:-1]):
            raise InputError("the resilience circuit needs a model whose first layer is Linear or Conv2d (after at most a Flatten)")
        if sum(math.prod(s) for s in _param_shapes(self.layers)) != self.num_params:
            raise CertificateError(f"resilience spec says {self.num_params} parameters but its layers have a different count")

    features = CircuitSpec.features
    logrows = CircuitSpec.logrows
    calibrated = CircuitSpec.calibrated
    digest = CircuitSpec.digest
    with_run_args = CircuitSpec.with_run_args
    save = CircuitSpec.save

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form (tuples become lists)."""
        obj = dataclasses.asdict(self)
        return {**obj, "layers": [dict(c) for c in self.layers], "input_shape": list(self.input_shape)}

    def input_lengths(self) -> tuple[int, int, int]:
        """Lengths of the data, model and offsets columns."""
        salt = salt_len(self.commitment) if self.salted else 0
        return self.n_samples * (self.features + self.num_classes) + salt, self.num_params + salt, self.neighbours * self.features

    def export_onnx(self, path: Path) -> None:
        """The graph as ONNX: zkcert.circuit.compile_spec and calibrate_spec call this."""
        dummies = tuple(torch.zeros(1, n) for n in self.input_lengths())
        export_module(ResilienceGraph(self), dummies, list(INPUTS), list(OUTPUTS), path)

    @classmethod
    def from_json(cls, obj: Any) -> "ResilienceSpec":
        """Parse, rejecting unknown fields and other schema versions."""
        if not isinstance(obj, dict) or obj.get("schema") != RESILIENCE_SCHEMA:
            raise CertificateError(f"resilience spec schema is not {RESILIENCE_SCHEMA!r}")
        unknown = set(obj) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise CertificateError(f"resilience spec has unknown fields {sorted(unknown)}")
        try:
            # A spec without a layout is the first release's (slices).
            return cls(**{"layout": 1, **obj, "layers": tuple(dict(layer) for layer in obj["layers"]),
                          "input_shape": tuple(int(v) for v in obj["input_shape"])})
        except (KeyError, TypeError, ValueError, InputError) as exc:
            raise CertificateError(f"resilience spec is malformed: {exc}") from None


def load_resilience_spec(path: str | Path) -> ResilienceSpec:
    """Read a resilience spec JSON file."""
    return ResilienceSpec.from_json(read_json(path, what="resilience spec"))


@dataclass(frozen=True)
class ResilienceInstances:
    """A resilience proof's public values: the three columns' commitments (0x hex), the outputs as ezkl wrote them."""

    data_commitment: str
    model_commitment: str
    offsets: str
    outputs: tuple[str, ...]


class ResilienceGraph(nn.Module):
    """The resilience counts for one spec, as a torch module with static shapes."""

    def __init__(self, spec: ResilienceSpec):
        super().__init__()
        self.spec = spec
        self.shapes = _param_shapes(spec.layers)

    def _params(self, model: torch.Tensor) -> list[torch.Tensor]:
        """Each layer's weights and bias from the model column: gathered, or (layout 1) sliced as graphs 3-6 slice them."""
        return claim_params(model, list(self.shapes), self.spec.num_params, self.spec.layout)

    def _neighbour_logits(self, x: torch.Tensor, deltas: torch.Tensor, params: list[torch.Tensor]) -> torch.Tensor:
        """Logits of every neighbour, shape (Q N, C), neighbour-major: row q N + i is x_i + delta_q."""
        it, q, h, first = iter(params), deltas.shape[0], x, True
        for cfg in self.spec.layers:
            if cfg["type"] not in _AFFINE:
                h = _other_layer(cfg, h)
                if first:
                    deltas = _other_layer(cfg, deltas)
                continue
            w, b = next(it), next(it)
            if first:
                z, shift = _affine(cfg, h, w, b), _product(cfg, deltas, w)
                shape = (q, *z.shape)
                h = (z.unsqueeze(0).expand(shape) + shift.unsqueeze(1).expand(shape)).reshape(q * z.shape[0], *z.shape[1:])
                first = False
            else:
                h = _affine(cfg, h, w, b)
        return h

    def forward(self, data: torch.Tensor, model: torch.Tensor, offsets: torch.Tensor) -> tuple[torch.Tensor, ...]:
        s = self.spec
        n, f, c, q = s.n_samples, s.features, s.num_classes, s.neighbours
        if s.layout != 1:
            m, a = n // s.parts, s.part * (n // s.parts)
            x = _take(data, a * f, (a + m) * f).reshape((m, *s.input_shape))
            onehot = _take(data, n * f + a * c, n * f + (a + m) * c).reshape(m, c)
            n = m
        elif s.parts == 1:
            x = data[:, : n * f].reshape((n, *s.input_shape))
            onehot = _tail(data, n * f)[:, : n * c].reshape(n, c)
        else:
            m, a = n // s.parts, s.part * (n // s.parts)
            x = data[:, a * f : (a + m) * f].reshape((m, *s.input_shape))
            onehot = _tail(data, n * f)[:, a * c : (a + m) * c].reshape(m, c)
            n = m
        deltas = offsets.reshape((-1, *s.input_shape))  # Q offsets (a measurement variant passes Q N)
        z = self._neighbour_logits(x, deltas, self._params(model))
        labels = onehot.unsqueeze(0).expand(q, n, c).reshape(q * n, c)
        right = _correct_mask(z, labels, True, s.input_scale).reshape(q, n)
        pairs = (q * n - torch.sum(right)).reshape(1, 1)
        weak = torch.sum((torch.sum(right, dim=0) <= q - 0.5).to(torch.float32)).reshape(1, 1)
        labels_ok = (_label_error(onehot) <= 0).to(torch.float32).reshape(1, 1)
        return labels_ok, pairs, weak


def resilience_instances(spec: ResilienceSpec, proof: ProofView) -> ResilienceInstances:
    """A resilience proof's public values: Poseidon hashes then outputs, or (kzg/v1) outputs with the points from the transcript."""
    felts = proof.instances
    hashed = spec.commitment != KZG
    want = len(OUTPUTS) + (len(INPUTS) if hashed else 0)
    if len(felts) != want:
        raise CircuitError(f"expected {want} public instances ({', '.join(([*INPUTS] if hashed else []) + [*OUTPUTS])}), got {len(felts)}")
    if hashed:
        return ResilienceInstances(*(felt_hex(f) for f in felts[:3]), tuple(felts[3:]))
    try:
        points = proof.leading_points(len(INPUTS))
    except InputError as exc:
        raise CircuitError(str(exc)) from None
    return ResilienceInstances(*points, tuple(felts))
