"""zkcert: zero-knowledge certificates of directional sharpness, and robustness validation."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("zkcert")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+local"
