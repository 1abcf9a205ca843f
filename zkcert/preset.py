"""The statement's choices as one frozen value, and the named presets a user starts from.

A Preset fixes what a certificate claims (metric, direction family, K, eps, fixed-point scale, commitment
scheme); the threshold T and the data are the user's, and how the proof is run (shards, workers, Ray,
memory) is zkcert.proving.Execution's. `preset("default")` is what `zkcert prove`, `measure`, `commit` and
the demo use when given no statement flags; overrides make a variant:

>>> from zkcert.preset import preset
>>> preset("default").metric, preset("default").direction, preset("default").commitment
('rds/v1', 'rademacher-abs/v1', 'poseidon/v1')
>>> preset("fast", epsilon=0.25).describe()
'fast with epsilon=0.25: rds/v1 along 1 row-sign/v1 direction, eps=0.25, scale 2**10, kzg/v1 commitments'
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from .commitments import KZG, POSEIDON, check_scheme
from .direction import DEFAULT_FAMILY, RADEMACHER_ABS, ROW_SIGN, check_family
from .errors import InputError
from .metric import DEFAULT_METRIC, DS, RDS, check_metric
from .spec import DEFAULT_DIRECTIONS, DEFAULT_EPSILON, DEFAULT_INPUT_SCALE

__all__ = ["Preset", "PRESETS", "DEFAULT_PRESET", "preset", "choices_of", "OVERRIDABLE"]


@dataclass(frozen=True)
class Preset:
    """What a certificate claims, apart from T: checked on construction, so a Preset that exists is a statement zkcert can prove."""

    name: str
    metric: str
    direction: str
    n_directions: int
    epsilon: float
    input_scale: int
    commitment: str
    # Why this preset exists, for `zkcert statements` and the README.
    about: str = ""

    def __post_init__(self) -> None:
        check_metric(self.metric)
        check_family(self.direction)
        check_scheme(self.commitment)
        if isinstance(self.n_directions, bool) or not isinstance(self.n_directions, int) or self.n_directions < 1:
            raise InputError(f"the number of directions K must be a positive integer, got {self.n_directions!r}")
        if not (isinstance(self.epsilon, (int, float)) and math.isfinite(self.epsilon) and self.epsilon > 0):
            raise InputError(f"epsilon must be a positive finite number, got {self.epsilon!r}")
        if not (isinstance(self.input_scale, int) and 1 <= self.input_scale <= 16):
            raise InputError(f"the input scale must be an integer in [1, 16], got {self.input_scale!r}")

    def override(self, **changes: Any) -> "Preset":
        """This preset with some choices changed (None leaves a choice as it is); unknown names are an InputError."""
        unknown = set(changes) - set(OVERRIDABLE)
        if unknown:
            raise InputError(f"a statement has no choice {sorted(unknown)}; choices: {', '.join(OVERRIDABLE)}")
        given = {k: v for k, v in changes.items() if v is not None}
        if "epsilon" in given:
            given["epsilon"] = float(given["epsilon"])
        return dataclasses.replace(self, **given) if given else self

    def overrides(self) -> dict[str, Any]:
        """The choices that differ from the named preset this one started from."""
        base = PRESETS.get(self.name)
        if base is None:
            return {}
        return {k: getattr(self, k) for k in OVERRIDABLE if getattr(self, k) != getattr(base, k)}

    def statement_kwargs(self) -> dict[str, Any]:
        """The choices as zkcert.owner.make_spec and plan take them."""
        return {k: getattr(self, k) for k in OVERRIDABLE}

    def describe(self) -> str:
        """One line: the preset's name, its overrides, and what it claims."""
        changed = self.overrides()
        head = self.name + (" with " + ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in changed.items())
                            if changed else "")
        return (f"{head}: {self.metric} along {self.n_directions} {self.direction} direction{'s' if self.n_directions > 1 else ''}, "
                f"eps={self.epsilon:g}, scale 2**{self.input_scale}, {self.commitment} commitments")


# The statement's choices that a user may override, in the order make_spec takes them.
OVERRIDABLE = ("metric", "direction", "n_directions", "epsilon", "input_scale", "commitment")

# "default" is what the pre-registered study chose (benchmarks/generalization/PROTOCOL.md). Its amendment
# (PROTOCOL-2.md) asked whether a per-sample statement could replace it and found none feasible
# (results/generalization/amendment/report.md), so "fast", the per-sample statement that certifies 1,000 MNIST
# samples in 26 minutes, is one flag away but not the default: its value moves 2-4x between direction draws
# (p90 / p10 over 30 draws, median 2.25 on the amendment's digits zoo) and its fixed-point gap exceeded 1 % on
# near-interpolating models.
PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("default", DEFAULT_METRIC, DEFAULT_FAMILY, DEFAULT_DIRECTIONS, DEFAULT_EPSILON, DEFAULT_INPUT_SCALE, POSEIDON,
               about="the study's choice: loss-normalized sharpness along 4 per-parameter sign directions, Poseidon hashes "
                     "in-circuit; per-parameter cost (8 demo samples need about 12 GiB)"),
        Preset("fast", RDS, ROW_SIGN, 1, 2.0**-3, 10, KZG,
               about="per-sample cost (1,000 MNIST samples in 26 min, 8.5 GiB per shard, measured 2026-11-25 before label "
                     "checks); its value varies 2-4x between "
                     "direction draws and its gap can exceed 1 % on models with near-zero training loss"),
        Preset("ds-paper", DS, RADEMACHER_ABS, 1, 2.0**-3, 12, POSEIDON,
               about="raw directional sharpness (ds/v1) as first stated: the study's raw-DS reference"),
    )
}
DEFAULT_PRESET = "default"


def choices_of(spec: Any) -> dict[str, Any]:
    """A circuit spec's statement choices (zkcert.spec.CircuitSpec) as preset overrides, since a pinned spec decides
    them; none for no spec."""
    return {} if spec is None else {k: getattr(spec, k) for k in OVERRIDABLE}


def preset(choice: "str | Preset" = DEFAULT_PRESET, **overrides: Any) -> Preset:
    """A named preset (or a Preset itself) with overrides; an unknown name is an InputError naming the known ones."""
    if isinstance(choice, Preset):
        return choice.override(**overrides)
    if choice not in PRESETS:
        raise InputError(f"unknown statement {choice!r}; known: {', '.join(PRESETS)}")
    return PRESETS[choice].override(**overrides)
