"""The circuit spec: everything compiled into the circuit (and so into its verifying key), and the standard specs in circuits/."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.resources
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._internal.io import atomic_write_json, canonical_json, read_json
from .commitments import POSEIDON, check_scheme
from .direction import RADEMACHER_ABS, ROW_SIGN, check_family
from .errors import CertificateError, InputError
from .metric import DS, bound_coefficient, check_metric

__all__ = [
    "SPEC_SCHEMA", "AGGREGATION_SCHEMA", "DEFAULT_INPUT_SCALE", "DEFAULT_EPSILON", "DEFAULT_DIRECTIONS", "CIRCUITS_DIR",
    "RUN_ARGS", "GRAPHS", "SHARED_GRAPH", "SIGNED_GRAPH", "FOLDED_GRAPH", "LEAN_GRAPH", "CNN_GRAPH", "GATHER_GRAPH", "SCALED_GRAPH", "NEWEST_GRAPH", "EXP_FLOOR", "graph_lookup_range", "folds", "CircuitSpec", "AggregationSpec", "AnySpec", "load_spec", "standard_spec",
]

SPEC_SCHEMA = "zkcert-circuit/v1"
# The layouts of the sharpness graph a spec may name (CircuitSpec.graph): from SHARED_GRAPH on, variants
# share the first layer's activation (row-sign/v1 only); from SIGNED_GRAPH on, signs are applied as selects;
# FOLDED_GRAPH also folds the input signs into the second layer's weights and needs eps = 2**-k with eps**2
# exact at the input scale (folds); LEAN_GRAPH (the same rule) lays out FOLDED_GRAPH's arithmetic without
# two of ezkl's lookup arguments; CNN_GRAPH is LEAN_GRAPH with each MaxPool2d a tree of relus and each Conv2d an
# im2col einsum (the same nodes as LEAN_GRAPH for a model without either); GATHER_GRAPH is CNN_GRAPH taking the
# samples, labels, salt and parameters out of their columns by gathers at constant indices instead of slices,
# which ezkl lays out in a cell per element of the column sliced (zkcert.circuit.graph._take); SCALED_GRAPH is
# GATHER_GRAPH with the second layer's pair scaled by 1/eps**2 (doublings) where layers follow it, and the factor
# taken out at the last layer's input (the same nodes as GATHER_GRAPH where the pair gives the logits: an MLP with
# one hidden layer; with three affine layers the same rounding as GATHER_GRAPH but for ties; a deeper model
# rounds its middle layers' products at the finer scale instead). NEWEST_GRAPH is the one new row-sign/v1 specs
# get where eps allows it, with or without a Conv2d.
GRAPHS = (1, 2, 3, 4, 5, 6, 7, 8)
SHARED_GRAPH = 2
SIGNED_GRAPH = 3
FOLDED_GRAPH = 4
LEAN_GRAPH = 5
CNN_GRAPH = 6
GATHER_GRAPH = 7
SCALED_GRAPH = 8
NEWEST_GRAPH = SCALED_GRAPH
# exp(x) rounds to 0 in fixed point for x < ln(2**-(s+1)), about -9.7 at scale 2**13: clamping z - max(z) at -16
# changes no value at the scales zkcert uses, and keeps exp's lookup table from spanning the whole
# logit range (measured: it set logrows 19 instead of 18 for the study's default statement at N = 8).
EXP_FLOOR = 16.0
AGGREGATION_SCHEMA = "zkcert-aggregation/v1"
# The default statement's parameters (zkcert.preset's "default", which reads them from here) are the ones the
# pre-registered study chose (benchmarks/generalization/PROTOCOL.md): rds/v1 along rademacher-abs/v1 directions,
# eps = 2**-6, K = 4 (zkcert.metric.DEFAULT_METRIC, zkcert.direction.DEFAULT_FAMILY). Its amendment (PROTOCOL-2.md,
# results/generalization/amendment/) found no per-sample statement feasible, so they stay.
DEFAULT_EPSILON = 2.0**-6
DEFAULT_DIRECTIONS = 4
# The default fixed-point scale 2**12. Measured on the demo's model: at eps = 2**-6 the numerator is small
# (it scales with eps^2), and rds/v1's gap from the float value was 6.4 % at 2**10 and 0.8 % at 2**12.
DEFAULT_INPUT_SCALE = 12
# circuits/ ships inside the wheel as the package zkcert.circuits (pyproject's package-dir), so the
# standard specs and pinned fingerprints are found the same way in a checkout and in an installed wheel.
CIRCUITS_DIR = Path(str(importlib.resources.files("zkcert.circuits")))
# The ezkl run arguments a spec may pin. Anything else (visibility, range-check switches, check mode)
# is zkcert's design and not the prover's to choose: a spec that names it is rejected, because the
# verifier rebuilds the key from the spec and would otherwise accept a weakened circuit.
RUN_ARGS = frozenset({
    "input_scale", "param_scale", "scale_rebase_multiplier", "lookup_range", "logrows",
    "num_inner_cols", "decomp_base", "decomp_legs", "bounded_log_lookup", "disable_freivalds",
})

_SCALAR_TYPES = {"bool": (bool,), "int": (numbers.Integral,), "float": (numbers.Real,), "str": (str,)}


def _check_field_types(spec: Any) -> None:
    """Each scalar field holds its annotated type (a bool is no number): a spec read from JSON must not carry,
    say, [true] where true belongs, which would build the same circuit under another spelling."""
    for f in dataclasses.fields(spec):
        value, allowed = getattr(spec, f.name), _SCALAR_TYPES.get(str(f.type))
        if allowed and (not isinstance(value, allowed) or (f.type != "bool" and isinstance(value, bool))):
            raise InputError(f"{type(spec).__name__} field {f.name} must be a {f.type}, got {value!r}")


def graph_lookup_range(input_scale: int, num_classes: int) -> list[int]:
    """The inputs exp and ln can see in every graph, in fixed point, whatever the model and data: exp's in [-16, 0]
    (the floor after the row maximum), ln's in [1, C] (a sum of C exps at most 1, one of them exp(0)), one step of
    slack each side. ezkl lays out no other lookup in zkcert's circuits (their settings' required_lookups)."""
    step = 2**input_scale
    return [-int(EXP_FLOOR) * step - 1, num_classes * step + 1]


def folds(epsilon: float, input_scale: int) -> bool:
    """Whether FOLDED_GRAPH can carry eps: 1/eps an integer power of two (2**k p is k doublings, no rescale)
    and eps**2 a multiple of 2**-input_scale (the circuit's constant eps**2 is then exact, not rounded, even to 0)."""
    m, e = math.frexp(epsilon)
    return m == 0.5 and e <= 1 and 2 * (1 - e) <= input_scale


@dataclass(frozen=True)
class CircuitSpec:
    """Everything compiled into the circuit, and so into its verifying key.

    `run_args` are ezkl's run arguments (scales, lookup range, logrows, ...) fixed at calibration;
    rebuilding from the same spec gives the same circuit, which is how a verifier checks the key.
    """

    layers: tuple[dict[str, Any], ...]
    input_shape: tuple[int, ...]
    num_classes: int
    num_params: int
    n_samples: int
    n_directions: int
    epsilon: float
    threshold: float
    input_scale: int
    reveal_value: bool = True
    salted: bool = True
    run_args: dict[str, Any] = field(default_factory=dict)
    # A shard circuit outputs only the hash of (partial numerator, salt); the aggregation circuit
    # (AggregationSpec) sums the partials and applies the bound.
    shard: bool = False
    # The certified metric and direction family (zkcert.metric, zkcert.direction). The defaults are the
    # ones of specs written before they were named, so an older certificate reads as what it proved.
    metric: str = DS
    direction: str = RADEMACHER_ABS
    # How the inputs are committed (zkcert.commitments): Poseidon hashes in-circuit, or KZG-committed
    # columns. The default is that of specs written before the scheme was named.
    commitment: str = POSEIDON
    # Which layout of the sharpness graph the circuit is built from (zkcert.circuit.graph). 1: every variant
    # computed as written. 2 (row-sign/v1 only, eps <= 1): the variants share the first layer's activations
    # and the second layer's product, and the label term is one dot product; about 25 % fewer rows per sample
    # (results/proving/rows.md). 3 (the same rules): graph 2 with every product by a sign a select, and the
    # second layer's two variants as c +/- e. 4 (eps = 2**-k, eps**2 a multiple of 2**-input_scale): graph 3
    # with the input signs folded into the second layer's weights and its variants as u + eps**2 (r +/- p / eps).
    # 5 (the same rule): graph 4's values, with signs applied as products by sign(a) and each row's maximum as
    # a tree of relus, so the circuit needs neither the boolean range check nor the shuffles (20 % faster proofs).
    # 6 (the same rule): graph 5 with each MaxPool2d a tree of relus too, taken before the ReLU that precedes it,
    # and each Conv2d as patches and one einsum (zkcert.circuit.graph._patches).
    # The default is that of specs written before layouts were numbered, so they rebuild as proved.
    graph: int = 1
    # Whether the circuit checks that every committed label vector is one-hot and reveals the training correct
    # count (zkcert.circuit.graph: labels_ok and correct). Specs written before the check existed lack it, and
    # the verifier says that their labels were not checked.
    check_labels: bool = False
    # What was folded away before committing (zkcert.models.fold: BatchNorm into the Linear or Conv2d before it,
    # Dropout and Identity dropped in eval mode), for an auditor to read: theta, the direction and the circuit are
    # the folded model's, which computes the same function. Not part of the circuit; empty for specs before folds.
    folds: tuple[str, ...] = ()
    # Whether the lookup range is the graph's bound (graph_lookup_range) and logrows the fewest that hold it and the
    # rows, both fixed without data (zkcert.circuit.calibrate_spec), instead of calibrated on the owner's samples:
    # a calibrated range is twice the extremes the samples reach, which tells a reader of the spec about the
    # model's logits on private data, and it has to be calibrated on every shard proved. Not part of the circuit
    # (the run arguments are): a spec that names it must hold the bound, which is all a verifier checks of it.
    # Specs written before this lack it and keep their calibrated range.
    fixed_range: bool = False
    schema: str = SPEC_SCHEMA

    def __post_init__(self) -> None:
        if self.schema != SPEC_SCHEMA:
            raise CertificateError(f"circuit spec schema {self.schema!r} is not {SPEC_SCHEMA!r}; upgrade zkcert")
        if not (isinstance(self.folds, tuple) and all(isinstance(f, str) for f in self.folds)):
            raise CertificateError(f"circuit spec folds must be a list of strings, got {self.folds!r}")
        check_scheme(self.commitment)
        if type(self.graph) is not int or self.graph not in GRAPHS:
            raise CertificateError(f"circuit spec graph {self.graph!r} is not one of {GRAPHS}; upgrade zkcert")
        _check_field_types(self)
        for name in ("n_samples", "n_directions", "num_classes", "num_params"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name} must be positive, got {getattr(self, name)}")
        if not (math.isfinite(self.epsilon) and self.epsilon > 0):
            raise InputError(f"epsilon must be a positive finite number, got {self.epsilon}")
        if not (math.isfinite(self.threshold) and self.threshold >= 0):
            raise InputError(f"threshold must be a non-negative finite number, got {self.threshold}")
        if not 1 <= self.input_scale <= 16:
            raise InputError(f"input_scale must lie in [1, 16], got {self.input_scale}")
        check_metric(self.metric)
        check_family(self.direction)
        if self.graph >= SHARED_GRAPH and self.direction != ROW_SIGN:
            raise InputError(f"graph {self.graph} is built only for {ROW_SIGN} directions, not {self.direction}")
        if self.graph >= SHARED_GRAPH and self.epsilon > 1:
            # Sharing an activation across variants needs relu(s z) = s relu(z), true only for scales s = 1 +/- eps >= 0.
            raise InputError(f"epsilon {self.epsilon:g} > 1 flips the sign of perturbed rows; {ROW_SIGN} needs epsilon <= 1")
        steps = self.epsilon * 2**self.input_scale
        if steps != int(steps):
            # Otherwise the circuit's constant eps would be a rounded value (even 0) while the statement
            # names the exact one.
            raise InputError(
                f"epsilon {self.epsilon:g} is not a multiple of 2**-{self.input_scale}, so the circuit cannot "
                f"represent it exactly; use e.g. {max(round(steps), 1) / 2**self.input_scale:g}"
            )
        if self.graph >= FOLDED_GRAPH and not folds(self.epsilon, self.input_scale):
            raise InputError(f"graph {self.graph} needs epsilon = 2**-k with epsilon**2 a multiple of 2**-{self.input_scale}, "
                             f"not {self.epsilon:g}; graph {SIGNED_GRAPH} takes any epsilon")
        self._check_run_args()

    def _check_run_args(self) -> None:
        unknown = set(self.run_args) - RUN_ARGS
        if unknown:
            raise InputError(f"run_args may not set {sorted(unknown)}: only {sorted(RUN_ARGS)}")
        for key in ("input_scale", "param_scale"):
            if key in self.run_args and self.run_args[key] != self.input_scale:
                raise InputError(f"run_args {key} {self.run_args[key]} differs from the spec's input_scale {self.input_scale}")
        # A fixed range that is not the bound would say something the spec does not: refused wherever a spec is read.
        if self.fixed_range is True and "lookup_range" in self.run_args and self.run_args["lookup_range"] != self.lookup_bound():
            raise CertificateError(f"circuit spec says its lookup range is the graph's bound {self.lookup_bound()}, "
                                   f"but its run_args set {self.run_args['lookup_range']}")

    def lookup_bound(self) -> list[int]:
        """The lookup range this spec's graph fixes (graph_lookup_range)."""
        return graph_lookup_range(self.input_scale, self.num_classes)

    @property
    def bound(self) -> float:
        """The circuit's constant c: numerator <= c (ds/v1, c = T N K eps^2) or <= c * summed loss (rds/v1)."""
        return bound_coefficient(self.metric, self.threshold, self.n_samples, self.n_directions, self.epsilon)

    @property
    def features(self) -> int:
        """Number of input features per sample."""
        return math.prod(self.input_shape)

    @property
    def logrows(self) -> int | None:
        """Circuit size: the SRS must have at least this many logrows."""
        value = self.run_args.get("logrows")
        return int(value) if value is not None else None

    @property
    def calibrated(self) -> bool:
        """True once run arguments are fixed."""
        return "logrows" in self.run_args

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form (tuples become lists); fields at the values of specs written before they existed (the
        commitment scheme, the graph, label checks) are left out, so those specs (and their digests, which key
        caches and pinned fingerprints) are unchanged."""
        obj = _jsonable(dataclasses.asdict(self))
        if obj.get("commitment") == POSEIDON:
            del obj["commitment"]
        if obj.get("graph") == 1:
            del obj["graph"]
        if obj.get("check_labels") is False:
            del obj["check_labels"]
        if obj.get("folds") == []:
            del obj["folds"]
        if obj.get("fixed_range") is False:
            del obj["fixed_range"]
        return obj

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "CircuitSpec":
        """Parse, rejecting unknown fields and other schema versions."""
        if not isinstance(obj, dict):
            raise CertificateError("circuit spec must be a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(obj) - known
        if unknown:
            raise CertificateError(f"circuit spec has unknown fields {sorted(unknown)}")
        if obj.get("schema", SPEC_SCHEMA) != SPEC_SCHEMA:
            raise CertificateError(f"circuit spec schema {obj.get('schema')!r} is not {SPEC_SCHEMA!r}; upgrade zkcert")
        try:
            return cls(
                **{
                    **obj,
                    "layers": tuple(dict(layer) for layer in obj["layers"]),
                    "input_shape": tuple(int(v) for v in obj["input_shape"]),
                    **({"folds": tuple(obj["folds"])} if isinstance(obj.get("folds"), list) else {}),
                }
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CertificateError(f"circuit spec is malformed: {exc}") from None

    def digest(self) -> str:
        """SHA-256 of the canonical JSON: the spec's identity in caches and fingerprints."""
        return _digest(self)

    def with_run_args(self, run_args: dict[str, Any]) -> "CircuitSpec":
        """A copy with calibrated run arguments."""
        return dataclasses.replace(self, run_args=dict(run_args))

    def save(self, path: str | Path) -> None:
        """Write as canonical JSON, atomically."""
        atomic_write_json(path, self.to_json())


@dataclass(frozen=True)
class AggregationSpec:
    """The aggregation circuit: n_shards hashed (partial numerator, salt) inputs, summed and compared with bound.

    input_scale must be the shard circuits' output scale, so that the field elements it hashes are the
    ones the shard proofs hashed; the verifier checks that against the rebuilt shard circuit.
    """

    n_shards: int
    bound: float
    input_scale: int
    reveal_value: bool = True
    run_args: dict[str, Any] = field(default_factory=dict)
    metric: str = DS
    # The shards' scheme: under kzg/v1 the hashed partials carry field-element salts.
    commitment: str = POSEIDON
    # The shards' label checks: their partials then carry the correct count and the label error too.
    check_labels: bool = False
    schema: str = AGGREGATION_SCHEMA

    def __post_init__(self) -> None:
        if self.schema != AGGREGATION_SCHEMA:
            raise CertificateError(f"aggregation spec schema {self.schema!r} is not {AGGREGATION_SCHEMA!r}; upgrade zkcert")
        check_scheme(self.commitment)
        _check_field_types(self)
        if int(self.n_shards) < 1:
            raise InputError(f"n_shards must be positive, got {self.n_shards}")
        check_metric(self.metric)
        if not (math.isfinite(self.bound) and self.bound >= 0):
            raise InputError(f"bound must be a non-negative finite number, got {self.bound}")
        if not 1 <= self.input_scale <= 30:
            raise InputError(f"input_scale must lie in [1, 30], got {self.input_scale}")
        unknown = set(self.run_args) - RUN_ARGS
        if unknown:
            raise InputError(f"run_args may not set {sorted(unknown)}: only {sorted(RUN_ARGS)}")

    logrows = CircuitSpec.logrows
    calibrated = CircuitSpec.calibrated
    to_json = CircuitSpec.to_json
    digest = CircuitSpec.digest
    with_run_args = CircuitSpec.with_run_args

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "AggregationSpec":
        """Parse, rejecting unknown fields and other schema versions."""
        if not isinstance(obj, dict) or obj.get("schema") != AGGREGATION_SCHEMA:
            raise CertificateError(f"aggregation spec schema is not {AGGREGATION_SCHEMA!r}")
        unknown = set(obj) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise CertificateError(f"aggregation spec has unknown fields {sorted(unknown)}")
        try:
            return cls(**obj)
        except (TypeError, ValueError) as exc:
            raise CertificateError(f"aggregation spec is malformed: {exc}") from None


def _digest(spec: Any) -> str:
    return hashlib.sha256(canonical_json(spec.to_json()).encode()).hexdigest()


AnySpec = CircuitSpec | AggregationSpec


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj

def load_spec(path: str | Path) -> CircuitSpec:
    """Read a circuit spec JSON file."""
    return CircuitSpec.from_json(read_json(path, what="circuit spec"))


def standard_spec(name: str) -> CircuitSpec:
    """A spec shipped in circuits/ by name (e.g. 'demo')."""
    path = CIRCUITS_DIR / f"{name}.json"
    if not path.is_file():
        names = sorted(p.stem for p in CIRCUITS_DIR.glob("*.json") if p.stem != "fingerprints")
        raise InputError(f"no standard circuit spec {name!r}; available: {names}")
    return load_spec(path)
