"""Pinned verifying-key fingerprints: recorded per (spec, SRS), looked up, absent for anything else."""

from __future__ import annotations

from zkcert.verification import pin_fingerprint, pinned_fingerprint


def test_pin_and_look_up(tmp_path):
    table = tmp_path / "fingerprints.json"
    assert pinned_fingerprint("spec", "srs", table) is None
    pin_fingerprint("spec", "srs", "vk1", table)
    pin_fingerprint("spec", "other-srs", "vk2", table)
    assert pinned_fingerprint("spec", "srs", table) == "vk1"
    assert pinned_fingerprint("spec", "other-srs", table) == "vk2"  # the key depends on the SRS
    assert pinned_fingerprint("other-spec", "srs", table) is None
