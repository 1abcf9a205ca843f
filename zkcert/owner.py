"""The owner's side before any circuit exists: commit to the data (in S >= 1 shards) and the model, derive the direction, measure.

One plan serves every certificate form: a single proof is one shard whose commitment is C_D itself;
a sharded or spot-check certificate commits to S shards and publishes their root as C_D. The
direction is derived from (C_theta, C_D, nonce), so it is the same for every shard.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from torch import nn

from . import circuit
from .commitments import (
    POSEIDON, Column, Commitments, Salts, ShardSalts, check_representable, column_committer, data_vector, direction_column,
    model_vector, shard_root,
)
from .data import Dataset
from .direction import DEFAULT_FAMILY, ROW_SIGN, committed_directions, family_directions
from .errors import InputError
from .metric import DEFAULT_METRIC, DS, correct_mask, flat_params, per_sample_losses, second_differences, sharpness
from .models import check_compatible, fold_names, layer_configs
from .spec import DEFAULT_DIRECTIONS, DEFAULT_EPSILON, DEFAULT_INPUT_SCALE, NEWEST_GRAPH, SIGNED_GRAPH, CircuitSpec, folds

__all__ = [
    "Committer", "Committed", "Plan", "commit", "plan", "make_spec", "check_certifiable", "float_metric", "shard_data", "shard_count", "shard_metrics",
    "shard_sums", "provisional_committer",
]

# Turns one input column into its published commitment: Poseidon (poseidon/v1, the default) or, once the
# circuit's key exists, a KZG point (kzg/v1: zkcert.commitments.kzg_commitment with the key and SRS bound in).
Committer = Callable[[Column], str]


@dataclass(frozen=True)
class Committed:
    """The owner's commitments and the quantized vectors behind them, for S >= 1 shards.

    `sharded` is False for a single proof: then there is one shard and C_D is its commitment, not a root.
    """

    salts: ShardSalts
    sharded: bool
    shard_size: int
    data_vecs: tuple[Column, ...]
    model_vec: Column
    shard_commitments: tuple[str, ...]
    model_commitment: str

    @property
    def n_shards(self) -> int:
        """Number of shards (1 for a single proof)."""
        return len(self.shard_commitments)

    @property
    def data_commitment(self) -> str:
        """C_D: the one shard's commitment, or the root over the shards'."""
        return shard_root(self.shard_commitments) if self.sharded else self.shard_commitments[0]

    @property
    def commitments(self) -> Commitments:
        """(C_D, C_theta), as published."""
        return Commitments(self.data_commitment, self.model_commitment)

    def saved_salts(self) -> Salts | ShardSalts:
        """The salts as `zkcert commit` saves them: Salts for data committed whole, ShardSalts for shards."""
        return self.salts if self.sharded else Salts(self.salts.shards[0], self.salts.model, self.salts.scheme)


@dataclass(frozen=True)
class Plan:
    """Everything the owner derives before proving: commitments, the circuit spec of one shard, the direction, the float metric."""

    committed: Committed
    spec: CircuitSpec
    nonce: str
    r: np.ndarray
    float_metric: float

    def shard_input(self, index: int) -> dict[str, Any]:
        """ezkl's input file contents for one shard."""
        return circuit.input_json(self.committed.data_vecs[index], self.committed.model_vec, direction_column(self.r))


def make_spec(
    model: nn.Module, data: Dataset, *, threshold: float, epsilon: float = DEFAULT_EPSILON, n_directions: int = DEFAULT_DIRECTIONS,
    input_scale: int = DEFAULT_INPUT_SCALE, reveal_value: bool = True, metric: str = DEFAULT_METRIC,
    direction: str = DEFAULT_FAMILY, shard: bool = False, commitment: str = POSEIDON,
) -> CircuitSpec:
    """The uncalibrated circuit spec for this model and data (data: one shard's worth of samples)."""
    model = check_compatible(model, data.x, data.num_classes)
    layers = layer_configs(model)
    return CircuitSpec(
        layers=layers, input_shape=tuple(int(v) for v in data.x.shape[1:]),
        num_classes=data.num_classes, num_params=int(flat_params(model).size), n_samples=len(data),
        n_directions=n_directions, epsilon=float(epsilon), threshold=float(threshold),
        input_scale=input_scale, reveal_value=reveal_value, metric=metric, direction=direction, shard=shard, commitment=commitment,
        graph=_graph_for(direction, epsilon, input_scale, layers), check_labels=True, folds=fold_names(model),
        fixed_range=True,
    )


def check_certifiable(model: nn.Module, data: Dataset, input_scale: int) -> nn.Sequential:
    """The model and data can go into a circuit at this scale (supported, finite, fitting shapes, representable
    values): a one-line InputError before anything is committed, calibrated or measured."""
    model = check_compatible(model, data.x, data.num_classes)
    check_representable(data.x, "the features", input_scale)
    check_representable(flat_params(model), "the model's parameters", input_scale)
    return model


def _graph_for(direction: str, epsilon: float, input_scale: int, layers: tuple[dict[str, Any], ...]) -> int:
    """The newest graph layout the statement allows (zkcert.spec.GRAPHS), for MLPs and CNNs alike."""
    if direction != ROW_SIGN:
        return 1
    if not folds(epsilon, input_scale):
        return SIGNED_GRAPH
    return NEWEST_GRAPH


def float_metric(spec: CircuitSpec, model: nn.Module, data: Dataset, r: np.ndarray) -> float:
    """The spec's metric in float64 along the directions with signs r."""
    d = family_directions(spec.direction, r, flat_params(model), spec.layers)
    return sharpness(spec.metric, model, data, d, spec.epsilon)


def shard_count(n_samples: int, shard_size: int) -> int:
    """Number of equal shards, or a clear error when shard_size does not divide n_samples."""
    if shard_size < 1 or n_samples % shard_size:
        raise InputError(f"{n_samples} samples do not split into shards of {shard_size}; pick a shard size that divides N")
    return n_samples // shard_size


def shard_data(data: Dataset, index: int, shard_size: int) -> Dataset:
    """The samples of shard `index`: shards are consecutive runs of shard_size samples."""
    return data.subset(np.arange(index * shard_size, (index + 1) * shard_size))


def _shard_salts(salts: Salts | ShardSalts | None, n_shards: int, salted: bool, scheme: str) -> ShardSalts:
    if salts is None:
        return ShardSalts.fresh(n_shards, scheme) if salted else ShardSalts((), ((),) * n_shards, scheme)
    if isinstance(salts, Salts):
        salts = ShardSalts(salts.model, (salts.data,), salts.scheme)
    if salts.scheme != scheme:
        raise InputError(f"the salts are for {salts.scheme} commitments, the circuit commits with {scheme}")
    if len(salts.shards) != n_shards:
        raise InputError(f"the salts are for {len(salts.shards)} shards, the data makes {n_shards}")
    return salts


def provisional_committer(column: Column) -> str:
    """A stand-in commitment (SHA-256 of the column) for calibrating a kzg/v1 circuit before its key exists.

    Calibration needs inputs, and a kzg/v1 direction needs the KZG commitments, which need the key. The
    circuit is therefore calibrated along the direction these stand-ins give; it is never published.
    """
    return "0x" + hashlib.sha256(json.dumps(column).encode()).hexdigest()


def commit(
    model: nn.Module, data: Dataset, *, shard_size: int | None = None, salts: Salts | ShardSalts | None = None,
    input_scale: int = DEFAULT_INPUT_SCALE, salted: bool = True, scheme: str = POSEIDON, committer: Committer | None = None,
) -> Committed:
    """Commit to the model and to the data, whole (shard_size None) or in shards of shard_size samples.

    committer: how a column becomes its commitment; Poseidon by default. kzg/v1 needs one made from the
    circuit's key and SRS (the pipeline makes it after setup).
    """
    model = check_compatible(model, data.x, data.num_classes)
    size = len(data) if shard_size is None else shard_size
    n_shards = shard_count(len(data), size)
    committer = committer or column_committer(scheme, input_scale)
    salts = _shard_salts(salts, n_shards, salted, scheme)
    model_vec = model_vector(flat_params(model), salts.model, input_scale, scheme)
    data_vecs = tuple(data_vector(shard_data(data, s, size), salts.shards[s], input_scale, scheme) for s in range(n_shards))
    return Committed(salts, shard_size is not None, size, data_vecs, model_vec, tuple(committer(v) for v in data_vecs),
                     committer(model_vec))


def plan(
    model: nn.Module, data: Dataset, *, threshold: float = 0.0, shard_size: int | None = None, sample: int | None = None,
    epsilon: float = DEFAULT_EPSILON, n_directions: int = DEFAULT_DIRECTIONS, nonce: str = "",
    input_scale: int = DEFAULT_INPUT_SCALE, salts: Salts | ShardSalts | None = None, metric: str = DEFAULT_METRIC,
    direction: str = DEFAULT_FAMILY, spec: CircuitSpec | None = None, commitment: str = POSEIDON, committer: Committer | None = None,
) -> Plan:
    """Commit, fix one shard's circuit spec, derive the committed direction and measure the float metric over all data.

    The shard circuit (sharded, no sample) outputs only a hashed partial; a spot check proves each
    challenged shard with the ordinary circuit. Both reveal no value: only a single proof may.
    """
    model = check_compatible(model, data.x, data.num_classes)
    size = len(data) if shard_size is None else shard_size
    shard_count(len(data), size)
    if spec is None:
        spec = make_spec(model, data.head(size), threshold=threshold, epsilon=epsilon, n_directions=n_directions,
                         input_scale=input_scale, reveal_value=shard_size is None, metric=metric, direction=direction,
                         shard=shard_size is not None and sample is None, commitment=commitment)
    _check_spec_fits(spec, model, data.head(size))
    committed = commit(model, data, shard_size=shard_size, salts=salts, input_scale=spec.input_scale, salted=spec.salted,
                       scheme=spec.commitment, committer=committer)
    r = committed_directions(spec, committed.model_commitment, committed.data_commitment, nonce)
    return Plan(committed, spec, nonce, r, float_metric(spec, model, data, r))


def shard_metrics(model: nn.Module, data: Dataset, p: Plan, indices: tuple[int, ...]) -> dict[int, float]:
    """The float metric of each listed shard, along the plan's direction."""
    size = p.committed.shard_size
    return {i: float_metric(p.spec, model, shard_data(data, i, size), p.r) for i in indices}


def shard_sums(model: nn.Module, data: Dataset, p: Plan) -> list[list[float]]:
    """Each shard's float partial sums as its circuit outputs them (zkcert.circuit.sum_names): the numerator, the
    summed loss for rds/v1, and with label checks the correct count and the label error (0: the labels are one-hot)."""
    spec, size = p.spec, p.committed.shard_size
    d = family_directions(spec.direction, p.r, flat_params(model), spec.layers)
    numerators = second_differences(model, data, d, spec.epsilon).sum(axis=0)
    theta = flat_params(model)
    losses = per_sample_losses(model, data, theta).detach().numpy()
    correct = correct_mask(model, data)
    sums = []
    for s in range(p.committed.n_shards):
        cut = slice(s * size, (s + 1) * size)
        row = [float(numerators[cut].sum())] + ([] if spec.metric == DS else [float(losses[cut].sum())])
        sums.append(row + ([float(correct[cut].sum()), 0.0] if spec.check_labels else []))
    return sums


def _check_spec_fits(spec: CircuitSpec, model: nn.Module, shard: Dataset) -> None:
    if tuple(spec.layers) != layer_configs(model):
        raise InputError("the model's architecture differs from the circuit spec's")
    if spec.folds != fold_names(model):
        # The proof binds the folded model (C_theta), not how it was folded: an auditor with the trained model checks that here.
        raise InputError(f"the model folds {list(fold_names(model)) or 'nothing'}, the circuit spec names {list(spec.folds) or 'no folds'}")
    if tuple(shard.x.shape[1:]) != spec.input_shape or len(shard) != spec.n_samples or shard.num_classes != spec.num_classes:
        raise InputError(
            f"data of shape {tuple(shard.x.shape)} with {shard.num_classes} classes does not fit the spec "
            f"(N={spec.n_samples}, input {spec.input_shape}, {spec.num_classes} classes)"
        )

