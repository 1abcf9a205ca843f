"""The public statement in its three forms: one proof, shards with an aggregation, and a spot check of shards.

Each form is a frozen dataclass with a schema version; its rules (commitment format, shard counts, the
aggregation's bound and metric, the root over the shard commitments) are checked on construction, so a
statement that exists is well formed. JSON in and out goes through `to_json` and `statement_from_json`;
the human-readable `text` is written for people and recomputed on reading, never trusted.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from .challenge import challenge, exceeding_bound
from .commitments import POSEIDON, commitment_hex_len, shard_root
from .errors import CertificateError
from .metric import METRIC_NAMES, bound_coefficient
from .spec import AggregationSpec, CircuitSpec

__all__ = [
    "STATEMENT_SCHEMA", "SHARDED_SCHEMA", "SAMPLED_SCHEMA", "STATED_CONFIDENCE", "Statement", "ShardedStatement",
    "SampledStatement", "AnyStatement", "statement_from_json",
]

STATEMENT_SCHEMA = "zkcert-statement/v1"
SHARDED_SCHEMA = "zkcert-sharded-statement/v1"
SAMPLED_SCHEMA = "zkcert-sampled-statement/v1"
# The confidence a spot-check certificate's text states its bound at (zkcert.challenge has any other).
STATED_CONFIDENCE = 0.95
# A commitment is a 32-byte field element (poseidon/v1, and every shard root) or a 64-byte KZG point (kzg/v1).
_COMMITMENT = {64: re.compile(r"0x[0-9a-f]{64}"), 128: re.compile(r"0x[0-9a-f]{128}")}
# How each non-string field is read from JSON; every other field is taken as it is and checked on construction.
_PARSERS = {
    "spec": CircuitSpec.from_json, "aggregation": AggregationSpec.from_json,
    "shard_commitments": tuple, "n_sampled": int,
}


class _StatementForm:
    """What the three forms share: commitment checks, JSON in and out, and the head of the text."""

    SCHEMA: ClassVar[str]
    spec: CircuitSpec
    data_commitment: str
    model_commitment: str
    nonce: str
    schema: str

    def __post_init__(self) -> None:
        if self.schema != self.SCHEMA:
            raise CertificateError(f"statement schema {self.schema!r} is not {self.SCHEMA!r}")
        size = commitment_hex_len(self.spec.commitment)
        shards = getattr(self, "shard_commitments", None)
        # With shards, C_D is the SHA-256 root over the shard commitments, whatever their scheme.
        named = {"data_commitment": (self.data_commitment, 64 if shards is not None else size),
                 "model_commitment": (self.model_commitment, size)}
        named.update({f"shard_commitments[{i}]": (c, size) for i, c in enumerate(shards or ())})
        for name, (value, digits) in named.items():
            if not (isinstance(value, str) and _COMMITMENT[digits].fullmatch(value)):
                raise CertificateError(f"statement {name} {value!r} is not a 0x-prefixed {digits // 2}-byte lowercase hex commitment")
        if not isinstance(self.nonce, str):
            raise CertificateError(f"statement nonce {self.nonce!r} is not a string")
        self._check_form()

    def _check_form(self) -> None:
        """The form's own rules (none for a single proof)."""

    def describe(self) -> str:
        """The one-line human-readable statement."""
        raise NotImplementedError

    def claim(self) -> str:
        """'<metric name> <= T (<metric>, <direction>, eps=., K=.' : the open head of every form's text."""
        s = self.spec
        scheme = "" if s.commitment == POSEIDON else f", {s.commitment} commitments"  # older texts name no scheme
        folded = f", model folded: {'; '.join(s.folds)}" if s.folds else ""  # older texts name no folds
        return (f"{METRIC_NAMES[s.metric]} <= {s.threshold:g} ({s.metric}, {s.direction}, "
                f"eps={s.epsilon:g}, K={s.n_directions}{scheme}{folded}")

    def subjects(self) -> str:
        """'for model <C_theta> on data <C_D>': the tail of every form's text."""
        return f"for model {_short(self.model_commitment)} on data {_short(self.data_commitment)}"

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form, with the recomputed text."""
        obj: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            obj[f.name] = value.to_json() if hasattr(value, "to_json") else list(value) if isinstance(value, tuple) else value
        return {**obj, "text": self.describe()}

    @classmethod
    def from_json(cls, obj: Any) -> Any:
        """Parse, rejecting unknown fields and other schema versions; `text` is recomputed, never trusted."""
        if not isinstance(obj, dict):
            raise CertificateError("statement must be a JSON object")
        if obj.get("schema") != cls.SCHEMA:
            raise CertificateError(f"statement schema {obj.get('schema')!r} is not {cls.SCHEMA!r}")
        names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        unknown = set(obj) - set(names) - {"text"}
        if unknown:
            raise CertificateError(f"statement has unknown fields {sorted(unknown)}")
        try:
            return cls(**{n: _PARSERS.get(n, lambda v: v)(obj[n]) for n in names})
        except KeyError as exc:
            raise CertificateError(f"statement lacks field {exc}") from None
        except (TypeError, ValueError) as exc:
            raise CertificateError(f"statement is malformed: {exc}") from None


@dataclass(frozen=True)
class Statement(_StatementForm):
    """One proof: a circuit spec, the owner's commitments and the direction nonce."""

    SCHEMA: ClassVar[str] = STATEMENT_SCHEMA
    spec: CircuitSpec
    data_commitment: str
    model_commitment: str
    nonce: str
    schema: str = STATEMENT_SCHEMA

    @property
    def n_samples(self) -> int:
        """Number of certified samples."""
        return self.spec.n_samples

    def _check_form(self) -> None:
        if self.spec.shard:
            raise CertificateError("a single-proof statement uses the certificate circuit, not a shard circuit")

    def describe(self) -> str:
        """The one-line human-readable statement."""
        return f"{self.claim()}, N={self.n_samples}) {self.subjects()}"


@dataclass(frozen=True)
class ShardedStatement(_StatementForm):
    """Shards: one shard circuit proved per shard, and one aggregation circuit that applies the bound.

    data_commitment is the root over the per-shard commitments (commitments.shard_root); the
    direction is derived from the root, so every shard uses the same one.
    """

    SCHEMA: ClassVar[str] = SHARDED_SCHEMA
    spec: CircuitSpec
    aggregation: AggregationSpec
    shard_commitments: tuple[str, ...]
    data_commitment: str
    model_commitment: str
    nonce: str
    schema: str = SHARDED_SCHEMA

    @property
    def n_samples(self) -> int:
        """Total number of certified samples."""
        return self.spec.n_samples * len(self.shard_commitments)

    def _check_form(self) -> None:
        s, agg, n = self.spec, self.aggregation, len(self.shard_commitments)
        if not s.shard or agg.n_shards != n:
            raise CertificateError(f"a sharded statement needs a shard circuit and {n} aggregated shards (got {agg.n_shards})")
        if agg.metric != s.metric:
            raise CertificateError(f"the aggregation applies metric {agg.metric}, the shards compute {s.metric}")
        if agg.commitment != s.commitment:
            raise CertificateError(f"the aggregation reads {agg.commitment} partials, the shards commit with {s.commitment}")
        expected = bound_coefficient(s.metric, s.threshold, self.n_samples, s.n_directions, s.epsilon)
        if abs(agg.bound - expected) > 1e-12 * max(1.0, expected):
            raise CertificateError(f"the aggregation's bound {agg.bound:g} is not the statement's {expected:g} ({s.metric})")
        _check_root(self)

    def describe(self) -> str:
        """The one-line human-readable statement."""
        return f"{self.claim()}, N={self.n_samples} in {len(self.shard_commitments)} shards) {self.subjects()}"


@dataclass(frozen=True)
class SampledStatement(_StatementForm):
    """A spot check: every shard a challenge picks has metric <= T.

    The owner commits to all shards (data_commitment is their root) and proves only the n_sampled
    shards that zkcert.challenge.challenge draws from the root, C_theta and the nonce, each with the
    ordinary certificate circuit `spec` over one shard. See zkcert.challenge for what that does and
    does not imply about the shards left unproved.
    """

    SCHEMA: ClassVar[str] = SAMPLED_SCHEMA
    spec: CircuitSpec
    shard_commitments: tuple[str, ...]
    data_commitment: str
    model_commitment: str
    nonce: str
    n_sampled: int
    schema: str = SAMPLED_SCHEMA

    def _check_form(self) -> None:
        if self.spec.shard:
            raise CertificateError("a spot-check statement proves each shard with the ordinary circuit, not a shard circuit")
        if not 1 <= int(self.n_sampled) <= len(self.shard_commitments):
            raise CertificateError(f"cannot challenge {self.n_sampled} of {len(self.shard_commitments)} shards")
        _check_root(self)

    @property
    def n_shards(self) -> int:
        """Number of committed shards."""
        return len(self.shard_commitments)

    @property
    def n_samples(self) -> int:
        """Total number of committed samples (only the challenged shards' are proved)."""
        return self.spec.n_samples * self.n_shards

    def challenged(self) -> tuple[int, ...]:
        """The shards the certificate must prove, recomputed from the commitments and nonce."""
        return challenge(self.data_commitment, self.model_commitment, self.nonce, self.n_shards, self.n_sampled)

    def describe(self) -> str:
        """The one-line human-readable statement, with its confidence bound."""
        s = self.spec
        b = exceeding_bound(self.n_shards, self.n_sampled, STATED_CONFIDENCE)
        return (
            f"{self.claim()}) on each of {self.n_sampled} challenged shards of {s.n_samples} samples, out of "
            f"{self.n_shards} committed (N={self.n_samples}), {self.subjects()}; so, at {STATED_CONFIDENCE:.0%} "
            f"confidence, fewer than {b} of the {self.n_shards} shards exceed {s.threshold:g}, provided the nonce "
            "was issued after both commitments were published"
        )


AnyStatement = Statement | ShardedStatement | SampledStatement
_FORMS: dict[str, type] = {STATEMENT_SCHEMA: Statement, SHARDED_SCHEMA: ShardedStatement, SAMPLED_SCHEMA: SampledStatement}


def statement_from_json(obj: Any) -> AnyStatement:
    """Parse any form of statement by its schema."""
    schema = obj.get("schema") if isinstance(obj, dict) else None
    if schema not in _FORMS:
        raise CertificateError(f"statement schema {schema!r} is not one of {sorted(_FORMS)}")
    return _FORMS[schema].from_json(obj)


def _check_root(statement: ShardedStatement | SampledStatement) -> None:
    """The data commitment of a sharded form is the root over its shard commitments: the list is what proofs are checked against."""
    if statement.data_commitment != shard_root(statement.shard_commitments):
        raise CertificateError("the statement's data commitment is not the root of its shard commitments")


def _short(commitment: str) -> str:
    return commitment[:10] + "…" + commitment[-6:] if len(commitment) > 20 else commitment
