"""Spot-check certificates: prove only the shards a Fiat-Shamir challenge picks, with a stated confidence bound.

The owner commits to all S shards (the root C_D) and to the model before the challenge exists; the
challenge is derived from those commitments and the public nonce, so the owner cannot pick which
shards are proved. Each chosen shard is proved with the ordinary certificate circuit over its n
samples, so a spot-check certificate says: every challenged shard's directional sharpness is <= T.

Challenge "sha256-rank/v1" (documented so any verifier can reimplement it without zkcert):
  seed   = SHA-256(b"zkcert/challenge/v1" || C_D (32 bytes) || C_theta (32 bytes) || nonce (UTF-8))
  key_i  = SHA-256(seed || i as 8-byte big-endian)             for shard i = 0..S-1
  chosen = the m shards with the smallest key_i (read as big-endian integers), listed in index order.
SHA-256 ranks rather than numpy's sampling because its output is fixed by a standard, not a library.

Confidence: if b of the S shards have sharpness above T, all m chosen shards (drawn without
replacement) miss them with probability C(S-b, m) / C(S, m), the hypergeometric probability of no
success. The bound says nothing about the size of the excess in the unchosen shards: it bounds how
many shards exceed T, not the mean over all data. It holds only if both commitments were published
before the nonce was issued and the verifier checks the certificate against them: an owner who can
try g challenges (other nonces, or re-salted data or model commitments) multiplies the failure
probability by up to g.
"""

from __future__ import annotations

import hashlib

from .direction import field_bytes
from .errors import InputError

__all__ = ["CHALLENGE_DOMAIN", "CHALLENGE", "challenge", "check_sample_size", "pass_probability", "exceeding_bound"]

CHALLENGE_DOMAIN = b"zkcert/challenge/v1"
CHALLENGE = "sha256-rank/v1"


def check_sample_size(n_shards: int, n_sampled: int) -> None:
    """A one-line error unless 1 <= n_sampled <= n_shards."""
    if not 1 <= n_sampled <= n_shards:
        raise InputError(f"cannot challenge {n_sampled} of {n_shards} shards; pick between 1 and {n_shards}")


def challenge(root: str, c_theta: str, nonce: str, n_shards: int, n_sampled: int) -> tuple[int, ...]:
    """The indices of the shards the owner must prove, in increasing order."""
    check_sample_size(n_shards, n_sampled)
    seed = hashlib.sha256(CHALLENGE_DOMAIN + field_bytes(root) + field_bytes(c_theta) + nonce.encode()).digest()
    keys = sorted(range(n_shards), key=lambda i: hashlib.sha256(seed + i.to_bytes(8, "big")).digest())
    return tuple(sorted(keys[:n_sampled]))


def pass_probability(n_shards: int, n_sampled: int, n_exceeding: int) -> float:
    """Chance that no challenged shard is among n_exceeding shards above the threshold."""
    check_sample_size(n_shards, n_sampled)
    if not 0 <= n_exceeding <= n_shards:
        raise InputError(f"{n_exceeding} exceeding shards is not between 0 and {n_shards}")
    from scipy.stats import hypergeom  # here, not at the top: scipy.stats takes a second of every command's start

    return float(hypergeom.pmf(0, n_shards, n_exceeding, n_sampled))


def exceeding_bound(n_shards: int, n_sampled: int, confidence: float = 0.95) -> int:
    """The fewest exceeding shards a passing spot check rules out at this confidence.

    If b or more of the shards exceeded T, a certificate would pass with probability at most
    1 - confidence; so at that confidence, fewer than b shards exceed T.
    """
    if not 0 < confidence < 1:
        raise InputError(f"confidence must lie in (0, 1), got {confidence}")
    # pass_probability falls as b grows, so the first b at or under the risk is the bound.
    risk = 1 - confidence
    return next(b for b in range(1, n_shards + 1) if pass_probability(n_shards, n_sampled, b) <= risk)
