"""Verification: the checklist of shared/PROTOCOL.md, written once for every certificate form.

steps.py has each step (with its named failure), forms.py what differs between a single proof, shards
and a spot check, fingerprints.py the keys pinned in circuits/. Verification is anchored: the proofs'
commitments and nonce are compared with the values the owner published and the verifier issued.
Without them `verify` refuses (MissingAnchors) unless asked for an unanchored check, whose result
says which checks it could not make (`not_checked`, `anchored`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from .. import circuit
from ..claims import ClaimContext, require_claim_anchors, verify_claims
from ..certificate import Manifest
from ..errors import InputError, ZkcertError
from ..statement import SampledStatement, Statement
from .fingerprints import FINGERPRINTS, pin_fingerprint, pinned_fingerprint
from .forms import check_aggregation_scale, check_challenge, check_shard_link, form_of
from .result import ANCHOR_CHECKS, CHECKS, SAMPLED_CHECKS, SHARDED_CHECKS, VerificationResult
from .steps import (
    MAX_MANIFEST_BYTES, MAX_PROOF_BYTES, Run, Trust, check_anchors, check_outputs, check_proof_inputs, check_reported, check_text,
    direction_hash, fail, instances, load_proof, open_certificate, require_anchors, trusted_key, trusted_srs, verify_proofs,
)

__all__ = [
    "CHECKS", "SHARDED_CHECKS", "SAMPLED_CHECKS", "ANCHOR_CHECKS", "VerificationResult", "verify", "open_certificate",
    "pinned_fingerprint", "pin_fingerprint", "FINGERPRINTS", "MAX_MANIFEST_BYTES", "MAX_PROOF_BYTES",
]


def verify(
    folder: str | Path, *, data_commitment: str | None = None, model_commitment: str | None = None,
    nonce: str | None = None, srs_path: str | Path | None = None, allow_untrusted_srs: bool = False,
    unanchored: bool = False, rebuild_key: bool = False, max_logrows: int = 20, opened: Manifest | None = None,
    claims: Mapping[str, Any] | None = None,
) -> VerificationResult:
    """Check a certificate folder against the published commitments and the nonce you issued.

    Args:
        folder: the certificate folder.
        data_commitment, model_commitment: C_D and C_theta as the owner published them (for a sharded
            certificate C_D is the root; zkcert.api.read_published reads them from commitments.json).
        nonce: the nonce the verifier issued (the empty string if the owner was told to use none).
        srs_path: the SRS the verifier trusts: a ceremony file, or one it issued (`zkcert srs new`).
        allow_untrusted_srs: accept an SRS the verifier did not give (the prover's cached one, or one
            the certificate ships), with a warning: whoever generated it can forge proofs. Tests and demos.
        unanchored: check without the published values: the result's `anchored` is False and
            `not_checked` names what was skipped. Without it, missing values raise MissingAnchors.
        rebuild_key: rebuild the verifying key even if a fingerprint is pinned.
        max_logrows: refuse statements whose key would take more than 2**max_logrows rows to rebuild.
        opened: the folder's manifest as open_certificate returned it, when the caller already read it.
        claims: the verifier's anchor for each claim the certificate carries besides sharpness (zkcert.claims), by
            name: for "heldout/v1" the zkcert.heldout.Challenge it issued. A claim needing one that is not given
            refuses (MissingAnchors) unless unanchored; one given for a claim the certificate lacks fails 'claims'.

    Returns:
        A VerificationResult listing exactly the checks made. Raises VerificationError naming the
        failed check (UntrustedSrs for 'srs-trust', MissingAnchors for missing values).
    """
    run = Run(Path(folder), {"data-commitment": data_commitment, "model-commitment": model_commitment, "nonce": nonce})
    if srs_path is not None and not Path(srs_path).is_file():  # the user's input, checked before the certificate's
        raise InputError(f"SRS file not found: {srs_path}")
    try:
        manifest = opened or open_certificate(run.folder)                                           # 1
        require_anchors(run, unanchored)
        claim_anchors = dict(claims or {})
        require_claim_anchors(manifest.claims, claim_anchors, unanchored)  # a claim's result names what it left unchecked
        return _checklist(run, manifest, Trust(srs_path, allow_untrusted_srs, rebuild_key, max_logrows), claim_anchors)
    except InputError as exc:  # the user's inputs were checked above: this one comes from the certificate's contents
        raise fail(run.step, str(exc)) from None
    except ZkcertError:
        raise
    except Exception as exc:  # noqa: BLE001 - fail closed: whatever a malformed certificate breaks, name the step
        raise fail(run.step, f"the certificate is malformed at this step (unexpected {type(exc).__name__}: {exc})") from None


def _checklist(run: Run, manifest: Manifest, trust: Trust, claim_anchors: Mapping[str, Any]) -> VerificationResult:
    """Steps 1-6 for any form; the form says which proofs, keys and links there are."""
    st, form = manifest.statement, form_of(manifest)
    if isinstance(st, SampledStatement):
        check_challenge(run, manifest, form)                                                     # 1 (which proofs)
    run.at("certificate-format")
    proofs = {name: load_proof(run, name) for c in form.circuits for name in c.proofs}             # 1
    srs = trusted_srs(run, manifest, trust)                                                      # 3 (needed by 2)
    keys = [trusted_key(run, run.folder / c.vk_file, c.spec, srs, trust) for c in form.circuits]  # 2
    for c, (vk, files) in zip(form.circuits, keys):
        verify_proofs(run, c.proofs, files, vk, srs, c.what)                                     # 4
    settings = {name: files.settings_json() for c, (_vk, files) in zip(form.circuits, keys) for name in c.proofs}
    found = {name: instances(run, c.spec, name, proofs[name]) for c in form.circuits for name in c.proofs}  # 5
    metric = correct = None
    for c in form.circuits:
        for name in (n for n in c.proofs if n in form.flag_proofs):
            run.at("flag")
            read = circuit.read_outputs(st.spec, circuit.decode_outputs(found[name].outputs, settings[name]), form.n_samples, of=c.spec)
            check_outputs(run, st.spec, name, read)                                              # 5
            metric = read.value
            correct = None if read.correct is None or isinstance(st, SampledStatement) else int(round(read.correct))
    first = found[next(iter(form.listed))]
    # A single proof carries C_D; for shards C_D is the root over the listed shard commitments (checked
    # equal when the statement was read), and each shard proof must carry its listed one.
    c_data = first.data_commitment if isinstance(st, Statement) else st.data_commitment
    c_model = first.model_commitment
    check_anchors(run, c_data, c_model, st.nonce)                                                # 5
    run.at("direction")
    h_dir = direction_hash(st.spec, c_model, c_data, st.nonce, keys[0][1], keys[0][0], srs)
    check_proof_inputs(run, {n: (found[n], listed or c_data) for n, listed in form.listed.items()}, c_model, h_dir)
    if len(form.circuits) > 1:
        check_shard_link(run, form, found)
        check_aggregation_scale(run, manifest, keys[0][1])                                       # 6
    check_text(run, manifest, c_data, c_model)                                                   # 6
    check_reported(manifest, metric, correct)
    ctx = ClaimContext(run, run.folder, st.spec, c_model, c_data, srs, trust, correct, st.n_samples)
    proved = verify_claims(ctx, manifest.claims, claim_anchors)                                 # every claim, bound to C_theta
    return run.result(form.checks, st.describe(), c_data, c_model, st.spec.threshold, metric, correct, st.n_samples, proved)
