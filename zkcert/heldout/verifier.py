"""The verifier's side of "heldout/v1": the claim's named checks, in order, against the verifier's own copy of the challenge.

  heldout-key        the shipped key is the one rebuilt from the claim's circuit spec, with the SRS the verifier trusts
  heldout-proof      every block's proof verifies against it
  heldout-model      every proof's model commitment is the sharpness proofs' C_theta, and the circuit reads that
                     column as the same model (architecture, scale, scheme; kzg/v1: logrows) (zkcert.claims.bind_model)
  heldout-challenge  the statement names the challenge the verifier issued (its hash), and every proof's challenge
                     commitment is the one recomputed from the verifier's copy of that block
  heldout-count      the proofs' correct counts sum to at least the claimed A (and to what the manifest reports)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import circuit
from ..circuit.heldout import heldout_instances
from ..claims import ClaimContext, ClaimEntry, ClaimResult, bind_model
from ..commitments import column_committer
from ..errors import VerificationError, ZkcertError
from ..verification.steps import load_proof, trusted_key, verify_proofs
from .challenge import Challenge
from .prover import spec_columns
from .statement import HELDOUT, VK_FILE, HeldoutStatement, proof_name

__all__ = ["HeldoutClaim", "CLAIM", "CHECKS"]

CHECKS = ("heldout-key", "heldout-proof", "heldout-model", "heldout-challenge", "heldout-count")


class HeldoutClaim:
    """The claim kind "heldout/v1" (zkcert.claims.Claim)."""

    name = HELDOUT
    checks = CHECKS
    anchor_hint = "the challenge you issued (verify --challenge challenge.npz)"

    def read(self, statement: dict[str, Any]) -> tuple[str, ...]:
        """The statement parses; the files claims/heldout/ must hold."""
        return HeldoutStatement.from_json(statement).files()

    def verify(self, ctx: ClaimContext, entry: ClaimEntry, anchor: Any | None) -> ClaimResult:
        """The checks above, in order; VerificationError naming the one that fails."""
        run = ctx.run
        st = HeldoutStatement.from_json(entry.statement)
        hspec = st.spec
        names = [f"{entry.folder}/{proof_name(i)}" for i in range(st.n_proofs)]
        proofs = {n: load_proof(run, n) for n in names}
        vk, files = trusted_key(run, ctx.folder / entry.folder / VK_FILE, hspec, ctx.srs, ctx.trust, check="heldout-key")
        verify_proofs(run, names, files, vk, ctx.srs, "held-out key", check="heldout-proof")
        run.at("heldout-model")
        try:
            found = {n: heldout_instances(hspec, p) for n, p in proofs.items()}
        except ZkcertError as exc:
            raise VerificationError("heldout-model", f"a held-out proof's instances are malformed: {exc}") from None
        if st.model_commitment != ctx.model_commitment:
            raise VerificationError("heldout-model", f"the held-out statement names model {st.model_commitment[:18]}…, "
                                                     f"the sharpness proofs {ctx.model_commitment[:18]}…")
        for n, inst in found.items():
            bind_model(ctx, "heldout-model", n, inst.model_commitment, hspec)
        not_checked: tuple[str, ...] = ()
        if anchor is None:
            not_checked = ("heldout-challenge",)
        else:
            _check_challenge(ctx, st, anchor, found, (vk, files.settings))
        run.at("heldout-count")
        settings = files.settings_json()
        outputs = [circuit.decode_outputs(inst.outputs, settings) for inst in found.values()]
        correct, loss = int(round(sum(o[0] for o in outputs))), sum(o[1] for o in outputs)
        if correct < st.min_correct:
            raise VerificationError("heldout-count", f"the proofs count {correct} correct, the statement claims at least {st.min_correct}")
        reported = entry.reported.get("circuit_correct")
        if reported is not None and reported != correct:
            raise VerificationError("heldout-count", f"the manifest reports {reported!r} correct challenge samples, the proofs say {correct}")
        values = {"correct": correct, "samples": st.n_samples, "accuracy": correct / st.n_samples, "min_correct": st.min_correct,
                  "loss_sum": loss, "mean_loss": loss / st.n_samples, "challenge_sha256": st.challenge_sha256}
        if ctx.train_correct is not None and ctx.n_samples:
            train = ctx.train_correct / ctx.n_samples
            values.update({"train_accuracy": train, "gap": train - correct / st.n_samples})
        made = tuple(c for c in CHECKS if c not in not_checked)
        return ClaimResult(HELDOUT, st.describe(), made, not_checked, values)


def _check_challenge(ctx: ClaimContext, st: HeldoutStatement, challenge: Any, found: dict[str, Any], key: tuple[Path, Path]) -> None:
    """'heldout-challenge': the statement's challenge is the verifier's, and each proof commits to its block of it."""
    ctx.run.at("heldout-challenge")
    if not isinstance(challenge, Challenge):
        raise VerificationError("heldout-challenge", f"expected the issued zkcert.heldout.Challenge, got {type(challenge).__name__}")
    if challenge.sha256 != st.challenge_sha256:
        raise VerificationError("heldout-challenge", f"the certificate answers challenge {st.challenge_sha256[:16]}…, "
                                                     f"you issued {challenge.sha256[:16]}…")
    hspec = st.spec
    if len(challenge) != st.n_samples or tuple(challenge.x.shape[1:]) != hspec.input_shape or challenge.num_classes != hspec.num_classes:
        raise VerificationError("heldout-challenge", "the issued challenge does not have the statement's shape")
    commit = column_committer(hspec.commitment, hspec.input_scale, (key[0], key[1], ctx.srs.path))
    for n, column in zip(found, spec_columns(challenge, hspec)):
        if found[n].challenge != commit(column):
            raise VerificationError("heldout-challenge", f"{n} is not over its block of the issued challenge")


CLAIM = HeldoutClaim()

