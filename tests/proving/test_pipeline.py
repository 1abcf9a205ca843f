"""The proving pipeline: nothing is written when the metric is above T."""

from __future__ import annotations


import pytest

from zkcert import prove
from zkcert.errors import ThresholdExceeded


def test_above_threshold_writes_nothing(proof_mlp, proof_data, tmp_path):
    out = tmp_path / "cert"
    with pytest.raises(ThresholdExceeded, match="above the threshold 0.5: no certificate written"):
        prove(proof_mlp, proof_data, threshold=0.5, out=out)
    assert not out.exists() and list(tmp_path.iterdir()) == []
