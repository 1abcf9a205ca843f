"""zkcert: zero-knowledge certificates of directional sharpness, and robustness validation.

Measure the metric a certificate would prove, on four digits and a 64-4-10 MLP (tests/test_package.py runs
this example). Under the default statement the commitments are Poseidon hashes, so measure makes them and
derives the direction; under the "fast" preset (kzg/v1) no direction exists before `zkcert.commit`, and it
reports the median and spread over draws instead:

>>> import torch
>>> import zkcert
>>> from zkcert.models import mlp
>>> _ = torch.manual_seed(0)
>>> data, model = zkcert.load_data("digits", samples=4), mlp(64, [4], 10)
>>> result = zkcert.measure(model, data, nonce="verifier-nonce")
>>> result.metric, result.direction, result.n_samples, result.n_directions, result.nonce, result.exact
('rds/v1', 'rademacher-abs/v1', 4, 4, 'verifier-nonce', True)
>>> fast = zkcert.measure(model, data, statement="fast")
>>> fast.exact, fast.spread[0] <= fast.value <= fast.spread[1]
(False, True)
"""

from .api import AuditResult, MeasureResult, audit, commit, measure
from .certificate import Manifest, package_version
from .commitments import Commitments, Salts, ShardSalts
from .data import Dataset, load_data
from .errors import (
    CertificateError,
    CircuitError,
    InputError,
    ThresholdExceeded,
    UnsupportedLayerError,
    VerificationError,
    ZkcertError,
)
from .models import load_model, save_model
from .preset import PRESETS, Preset, preset
from .proving import Execution, ProveResult, prove
from .published import Published
from .spec import CircuitSpec
from .statement import Statement
from .verification import VerificationResult, verify

__version__ = package_version()

__all__ = [
    "AuditResult", "CertificateError", "CircuitError", "CircuitSpec", "Commitments", "Dataset", "Execution", "InputError",
    "PRESETS", "Preset", "Published", "preset",
    "Manifest", "MeasureResult", "ProveResult", "Salts", "Statement", "ThresholdExceeded", "UnsupportedLayerError",
    "VerificationError", "VerificationResult", "ZkcertError", "audit", "commit", "load_data", "load_model",
    "measure", "prove", "save_model", "ShardSalts", "verify", "__version__",
]
