"""zkcert: zero-knowledge certificates of directional sharpness, and robustness validation.

Measure the metric a certificate would prove, on four digits and a 64-4-10 MLP
(tests/test_package.py runs this example):

>>> import torch
>>> import zkcert
>>> from zkcert.models import mlp
>>> _ = torch.manual_seed(0)
>>> data = zkcert.load_data("digits", samples=4)
>>> result = zkcert.measure(mlp(64, [4], 10), data, nonce="verifier-nonce")
>>> result.metric, result.direction, result.n_samples, result.n_directions, result.nonce
('rds/v1', 'rademacher-abs/v1', 4, 4, 'verifier-nonce')
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
from .proving import ProveResult, prove
from .spec import CircuitSpec
from .statement import Statement
from .verification import VerificationResult, verify

__version__ = package_version()

__all__ = [
    "AuditResult", "CertificateError", "CircuitError", "CircuitSpec", "Commitments", "Dataset", "InputError",
    "Manifest", "MeasureResult", "ProveResult", "Salts", "Statement", "ThresholdExceeded", "UnsupportedLayerError",
    "VerificationError", "VerificationResult", "ZkcertError", "audit", "commit", "load_data", "load_model",
    "measure", "prove", "save_model", "ShardSalts", "verify", "__version__",
]
