"""The held-out circuit (claim "heldout/v1"): one forward pass per challenge sample at the committed theta.

Inputs, committed like the sharpness circuit's (zkcert.commitments): the challenge column
[x_1 .. x_S (flattened), onehot(y_1) .. onehot(y_S)] (public: the verifier recomputes its commitment from its
own copy, as it does for the direction, so it is unsalted) and the model column [theta, salt_theta], the same
column the sharpness proofs commit to. Outputs, public: the number of samples whose label logit is the largest
(graph.py's _correct_count, a tie counts as correct) and the summed cross-entropy (graph.py's loss, with the
max subtracted and exp's argument floored as there). No flag: the verifier compares the summed counts with the
claim's A itself.

Layout 2 takes the samples, the labels and each layer's parameters out of their columns with gathers at
constant indices (graph.py's _take); layout 1, the first release's, sliced them, and ezkl lays out a slice in
about one cell per element of the tensor it slices. Measured on MNIST 784-32-10 at 2 columns (gen_settings,
8 and 16 samples): 2,727 rows per sample and 39,115 fixed with slices, 1,923.5 and 12,756 with gathers.

Layout 3 (PADDED_LAYOUT) is layout 2 with padded blocks, so that a block size need not divide M: the last
block's missing samples are zero features with an all-zero label vector. Each sample's count and loss are
weighted by its label vector's sum, 1 for a challenge sample and 0 for padding (two dot products per block).
The verifier builds the padded columns from its own copy, so padding is public and cannot hide a sample.
Layout 3's lookup range is not calibrated but fixed by the graph (HeldoutSpec.lookup_range): it then says
nothing about the model's logits on the challenge, which a calibrated range (twice the extremes seen) did.

Binding to C_theta: under poseidon/v1 the model's hash is the same value in both circuits when they quantize
theta at the same scale with the same salt; under kzg/v1 a column's point depends on the circuit's domain, so
the held-out circuit is built at exactly the sharpness circuit's logrows (zkcert.heldout sizes its shards to fit).
The verifier checks both (zkcert.claims.bind_model).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._internal.ezkl import ProofView
from .._internal.io import canonical_json
from ..commitments import KZG, POSEIDON, check_scheme, felt_hex, salt_len
from ..errors import CertificateError, CircuitError, InputError
from ..spec import RUN_ARGS, CircuitSpec, graph_lookup_range
from .graph import LAYOUT, LAYOUTS, SharpnessGraph, _correct_mask, _affine, _correct_count, _other_layer, _param_shapes, _tail, _take, check_layout, claim_params

__all__ = ["HELDOUT_SCHEMA", "LAYOUT", "PADDED_LAYOUT", "HeldoutSpec", "HeldoutGraph", "HeldoutInstances", "heldout_instances", "OUTPUTS"]

HELDOUT_SCHEMA = "zkcert-heldout-circuit/v1"
OUTPUTS = ("correct", "loss_sum")
_INPUTS = ("challenge", "model")
_OPSET = 17
PADDED_LAYOUT = 3
_LAYOUTS = (*LAYOUTS, PADDED_LAYOUT)


@dataclass(frozen=True)
class HeldoutSpec:
    """Everything compiled into the held-out circuit (so into its key): architecture, S samples per proof, scale, scheme."""

    layers: tuple[dict[str, Any], ...]
    input_shape: tuple[int, ...]
    num_classes: int
    num_params: int
    n_samples: int
    input_scale: int
    commitment: str = POSEIDON
    salted: bool = True
    run_args: dict[str, Any] = field(default_factory=dict)
    layout: int = PADDED_LAYOUT
    schema: str = HELDOUT_SCHEMA

    def __post_init__(self) -> None:
        if self.schema != HELDOUT_SCHEMA:
            raise CertificateError(f"held-out circuit schema {self.schema!r} is not {HELDOUT_SCHEMA!r}; upgrade zkcert")
        check_scheme(self.commitment)
        check_layout(self.layout, "held-out circuit", _LAYOUTS)
        for name in ("n_samples", "num_classes", "num_params"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"held-out spec {name} must be a positive integer, got {value!r}")
        if isinstance(self.input_scale, bool) or not isinstance(self.input_scale, int) or not 1 <= self.input_scale <= 16:
            raise InputError(f"held-out spec input_scale must be an integer in [1, 16], got {self.input_scale!r}")
        unknown = set(self.run_args) - RUN_ARGS
        if unknown:
            raise InputError(f"run_args may not set {sorted(unknown)}: only {sorted(RUN_ARGS)}")
        if sum(math.prod(s) for s in _param_shapes(self.layers)) != self.num_params:
            raise CertificateError(f"held-out spec says {self.num_params} parameters but its layers have a different count")

    @property
    def padded(self) -> bool:
        """Whether a block may hold padding (layout 3), so that blocks need not divide M."""
        return self.layout >= PADDED_LAYOUT

    def lookup_range(self) -> list[int]:
        """The inputs exp and ln can see, in fixed point, whatever the model (zkcert.spec.graph_lookup_range)."""
        return graph_lookup_range(self.input_scale, self.num_classes)

    @property
    def features(self) -> int:
        """Input features per sample."""
        return math.prod(self.input_shape)

    # Read from run_args as the sharpness spec reads them.
    logrows = CircuitSpec.logrows
    calibrated = CircuitSpec.calibrated

    def with_run_args(self, run_args: dict[str, Any]) -> "HeldoutSpec":
        """A copy with these run arguments."""
        return dataclasses.replace(self, run_args=dict(run_args))

    def input_lengths(self) -> tuple[int, int]:
        """Lengths of the challenge and model columns."""
        salt = salt_len(self.commitment) if self.salted else 0
        return self.n_samples * (self.features + self.num_classes), self.num_params + salt

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form."""
        obj = dataclasses.asdict(self)
        return {**obj, "layers": [dict(c) for c in self.layers], "input_shape": list(self.input_shape)}

    @classmethod
    def from_json(cls, obj: Any) -> "HeldoutSpec":
        """Parse, rejecting unknown fields and other schema versions."""
        if not isinstance(obj, dict) or obj.get("schema") != HELDOUT_SCHEMA:
            raise CertificateError(f"held-out circuit spec schema is not {HELDOUT_SCHEMA!r}")
        unknown = set(obj) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise CertificateError(f"held-out circuit spec has unknown fields {sorted(unknown)}")
        try:
            # A spec without a layout is the first release's (slices).
            return cls(**{"layout": 1, **obj, "layers": tuple(dict(c) for c in obj["layers"]),
                          "input_shape": tuple(int(v) for v in obj["input_shape"])})
        except (KeyError, TypeError, ValueError, InputError) as exc:
            raise CertificateError(f"held-out circuit spec is malformed: {exc}") from None

    def digest(self) -> str:
        """SHA-256 of the canonical JSON: the circuit's identity in the key cache."""
        return hashlib.sha256(canonical_json(self.to_json()).encode()).hexdigest()

    def export_onnx(self, path: Path) -> None:
        """The graph as ONNX (opset 17, static shapes): zkcert.circuit.compile_spec and calibrate_spec call this."""
        dummies = tuple(torch.zeros(1, n) for n in self.input_lengths())
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            try:
                torch.onnx.export(HeldoutGraph(self).eval(), dummies, str(path), input_names=list(_INPUTS),
                                  output_names=list(OUTPUTS), opset_version=_OPSET, dynamo=False)
            except Exception as exc:  # torch's exporter raises many types; the user needs one line
                raise CircuitError(f"ONNX export failed: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None


class HeldoutGraph(nn.Module):
    """The held-out computation for one spec: logits at theta, correct count and summed loss."""

    def __init__(self, spec: HeldoutSpec):
        super().__init__()
        self.spec = spec
        self.shapes = _param_shapes(spec.layers)

    def _params(self, model: torch.Tensor) -> list[torch.Tensor]:
        """Each layer's weights and bias from the model column (layout 1: sliced, all but the first from one _tail)."""
        return claim_params(model, list(self.shapes), self.spec.num_params, self.spec.layout)

    def forward(self, challenge: torch.Tensor, model: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.spec
        n, f, c = s.n_samples, s.features, s.num_classes
        if s.layout == 1:  # the first release's graph, op for op (its certificates' keys are rebuilt from it)
            h = challenge[:, : n * f].reshape((n, *s.input_shape))
            onehot = _tail(challenge, n * f).reshape(n, c)
        else:
            h, onehot = _take(challenge, 0, n * f).reshape((n, *s.input_shape)), _take(challenge, n * f, n * (f + c)).reshape(n, c)
        it = iter(self._params(model))
        for cfg in s.layers:
            h = _affine(cfg, h, next(it), next(it)) if cfg["type"] in ("Linear", "Conv2d") else _other_layer(cfg, h)
        if not s.padded:
            correct = _correct_count(h, onehot, True, s.input_scale)
            loss = SharpnessGraph._summed_loss_dot(h, onehot, relu_floor=True, tree_max=True).reshape(1, 1)
            return correct, loss
        real = torch.sum(onehot, dim=1).reshape(1, n)  # 1 per challenge sample, 0 per padding sample
        correct = real @ _correct_mask(h, onehot, True, s.input_scale)
        label_logits = h.reshape(1, -1) @ onehot.reshape(-1, 1)  # padding's all-zero label vector adds nothing
        loss = real @ SharpnessGraph._log_sum_exp(h, relu_floor=True, tree_max=True).reshape(n, 1) - label_logits
        return correct, loss


@dataclass(frozen=True)
class HeldoutInstances:
    """A held-out proof's public values: the challenge's and the model's commitments (0x hex), the outputs as ezkl wrote them."""

    challenge: str
    model_commitment: str
    outputs: tuple[str, ...]


def heldout_instances(spec: HeldoutSpec, proof: ProofView) -> HeldoutInstances:
    """Read a held-out proof's instances: Poseidon hashes then outputs, or (kzg/v1) outputs with the points from the transcript."""
    felts = proof.instances
    hashed = spec.commitment != KZG
    want = len(OUTPUTS) + (len(_INPUTS) if hashed else 0)
    if len(felts) != want:
        raise CircuitError(f"expected {want} public instances, got {len(felts)}")
    if hashed:
        return HeldoutInstances(felt_hex(felts[0]), felt_hex(felts[1]), tuple(felts[2:]))
    try:
        challenge, model = proof.leading_points(len(_INPUTS))
    except InputError as exc:
        raise CircuitError(str(exc)) from None
    return HeldoutInstances(challenge, model, tuple(felts))
