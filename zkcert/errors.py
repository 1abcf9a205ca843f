"""The one error hierarchy of zkcert: every failure the API raises is a ZkcertError."""

from __future__ import annotations

__all__ = [
    "ZkcertError",
    "InputError",
    "UnsupportedLayerError",
    "CircuitError",
    "ThresholdExceeded",
    "CertificateError",
    "VerificationError",
]


class ZkcertError(Exception):
    """Base class: the CLI turns any of these into a one-line message and exit code `exit_code`."""

    # Exit codes of the CLI (README, "Exit codes"): 0 success, 2 bad usage (click's own), and these.
    exit_code = 1


class InputError(ZkcertError):
    """Bad user input: wrong shapes, NaN or inf, labels out of range, missing or truncated files."""

    exit_code = 3


class UnsupportedLayerError(InputError):
    """The model has a layer the circuit builder cannot express."""


class CircuitError(ZkcertError):
    """ezkl or the ONNX export failed (Rust panics included)."""


class ThresholdExceeded(ZkcertError):
    """The metric is above the threshold: the statement is false and no certificate is written."""

    def __init__(self, value: float, threshold: float, *, what: str = "directional sharpness"):
        self.value = value
        self.threshold = threshold
        super().__init__(f"{what} {value:.6g} is above the threshold {threshold:.6g}: no certificate written")


class CertificateError(ZkcertError):
    """A certificate folder or manifest is malformed, incomplete or of an unknown version."""


class VerificationError(ZkcertError):
    """A named verification check failed; `check` is the name from shared/PROTOCOL.md's checklist."""

    def __init__(self, check: str, message: str):
        self.check = check
        super().__init__(f"check '{check}' failed: {message}")
