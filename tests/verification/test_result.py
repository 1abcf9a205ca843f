"""The verification result: 'verified' only when anchored; what was not checked is said, in JSON too."""

from __future__ import annotations

from zkcert.verification import ANCHOR_CHECKS, CHECKS, SAMPLED_CHECKS, SHARDED_CHECKS, VerificationResult


def _result(not_checked: tuple[str, ...]) -> VerificationResult:
    return VerificationResult("s", "0x1", "0x2", 1.0, None, tuple(c for c in CHECKS if c not in not_checked), not_checked)


def test_status_follows_the_anchors():
    assert _result(()).status == "verified" and _result(()).to_json()["ok"] is True
    unanchored = _result(("nonce",))
    assert unanchored.status == "consistent (unanchored)" and unanchored.to_json()["ok"] is False
    assert not _result(("srs-trust",)).srs_trusted and _result(("srs-trust",)).anchored


def test_every_form_runs_the_same_list_plus_its_own_checks():
    assert set(SHARDED_CHECKS) - set(CHECKS) == {"shard-link"} and set(SAMPLED_CHECKS) - set(CHECKS) == {"challenge"}
    assert set(ANCHOR_CHECKS) <= set(CHECKS)
    assert [c for c in SHARDED_CHECKS if c in CHECKS] == list(CHECKS) == [c for c in SAMPLED_CHECKS if c in CHECKS]
