"""What differs between certificate forms: which proofs are checked under which key, where the flag is, and extra links.

Everything else (steps 1-6) is the same code for all three forms (zkcert.verify.verify).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import circuit
from .._internal import ezkl as _ezkl
from ..certificate import AGGREGATE_PROOF, AGGREGATE_VK, PROOF, SHARD_VK, SRS_FILE, VK, Manifest, shard_proof_name
from ..commitments import felt_hex
from ..spec import AnySpec
from ..statement import SampledStatement, ShardedStatement
from .result import CHECKS, SAMPLED_CHECKS, SHARDED_CHECKS
from .steps import Run, fail

__all__ = ["Circuit", "Form", "form_of", "check_challenge", "check_shard_link", "check_aggregation_scale"]


@dataclass(frozen=True)
class Circuit:
    """One circuit of a certificate: its spec, its shipped key file, and the proofs made with it."""

    what: str
    spec: AnySpec
    vk_file: str
    proofs: tuple[str, ...]


@dataclass(frozen=True)
class Form:
    """A certificate form, as the checklist needs it.

    `listed` maps each sharpness proof to the data commitment it must carry (None: a single proof
    carries C_D itself); `flag_proof` names the proofs whose flag must be 1 (the aggregation's, for shards).
    """

    checks: tuple[str, ...]
    circuits: tuple[Circuit, ...]
    listed: dict[str, str | None]
    flag_proofs: tuple[str, ...]
    n_samples: int
    shard_index: dict[str, int] = field(default_factory=dict)


def form_of(manifest: Manifest) -> Form:
    """The form of the manifest's statement (its rules were checked when it was read)."""
    st = manifest.statement
    spec = st.spec
    if isinstance(st, ShardedStatement):
        names = tuple(shard_proof_name(i) for i in range(len(st.shard_commitments)))
        return Form(
            SHARDED_CHECKS,
            (Circuit("shard key", spec, SHARD_VK, names), Circuit("aggregation key", st.aggregation, AGGREGATE_VK, (AGGREGATE_PROOF,))),
            dict(zip(names, st.shard_commitments)), (AGGREGATE_PROOF,), st.n_samples,
            shard_index={n: i for i, n in enumerate(names)},
        )
    if isinstance(st, SampledStatement):
        chosen = st.challenged()
        names = tuple(shard_proof_name(i) for i in chosen)
        return Form(SAMPLED_CHECKS, (Circuit("shard key", spec, SHARD_VK, names),),
                    {n: st.shard_commitments[i] for n, i in zip(names, chosen)}, names, spec.n_samples,
                    shard_index=dict(zip(names, chosen)))
    return Form(CHECKS, (Circuit("key", spec, VK, (PROOF,)),), {PROOF: None}, (PROOF,), spec.n_samples)


def check_challenge(run: Run, manifest: Manifest, form: Form) -> None:
    """A spot check holds a proof for each shard the challenge picks, and for no other ('challenge')."""
    run.at("challenge")
    picked = set(form.listed)
    missing = sorted(form.shard_index[n] for n in picked if n not in manifest.files)
    if missing:
        raise fail("challenge", f"the challenge picks shards {sorted(form.shard_index.values())}; the certificate has no proof for {missing}")
    unpicked = sorted(set(manifest.files) - picked - {SHARD_VK, SRS_FILE})
    if unpicked:
        raise fail("challenge", f"the challenge picks shards {sorted(form.shard_index.values())}; the certificate also has {unpicked}")


def check_shard_link(run: Run, form: Form, found: dict[str, circuit.Instances]) -> None:
    """Shards: the aggregation's inputs are, in order, the shard proofs' hashed outputs ('shard-link')."""
    run.at("shard-link")
    agg = found[AGGREGATE_PROOF]
    for name, i in form.shard_index.items():
        if felt_hex(found[name].outputs[0]) != agg.inputs[i]:
            raise fail("shard-link", f"the aggregation's input {i} is not shard {i}'s hashed output")


def check_aggregation_scale(run: Run, manifest: Manifest, shard_files: circuit.CircuitFiles) -> None:
    """Shards: the aggregation reads the partials at the scale the rebuilt shard circuit outputs them."""
    run.at("statement")
    st = manifest.statement
    shard_scale = _ezkl.settings_output_scales(shard_files.settings_json())[0]
    if isinstance(st, ShardedStatement) and st.aggregation.input_scale != shard_scale:
        raise fail("statement", f"the aggregation reads partials at scale {st.aggregation.input_scale}, the shards output scale {shard_scale}")
