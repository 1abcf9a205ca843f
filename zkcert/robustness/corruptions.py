"""Common corruptions at severities 1 to 5, after CIFAR-10-C, in numpy, scipy and Pillow.

Hand-written because torchvision is not available and the reference code (Hendrycks &
Dietterich) needs OpenCV, Wand and scikit-image; the constants live in _constants.py.
Every function maps a batch (N, C, H, W) in [0, 1] to a batch of the same shape in [0, 1].
"""

from __future__ import annotations

import io
from types import ModuleType
from typing import TYPE_CHECKING, Callable

import numpy as np
from scipy import ndimage

from .._internal.extras import optional_import
from ..errors import InputError
from ._common import check_images, size_key
from ._constants import CONSTANTS

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["CORRUPTIONS", "corrupt"]


def _gaussian_noise(x: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    return x + rng.normal(size=x.shape, scale=c)


def _shot_noise(x: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    return rng.poisson(x * c) / c


def _impulse_noise(x: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    # Salt and pepper on a fraction c of the values, as skimage.util.random_noise('s&p') does.
    hit = rng.random(x.shape) < c
    salt = rng.random(x.shape) < 0.5
    return np.where(hit, salt.astype(x.dtype), x)


def _gaussian_blur(x: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    return ndimage.gaussian_filter(x, sigma=(0, 0, c, c), mode="nearest")


def _disk(radius: float, alias_blur: float) -> np.ndarray:
    """A normalized disk kernel softened by a 3x3 Gaussian (CIFAR-10-C's defocus kernel)."""
    r = max(1, int(np.ceil(radius)))
    grid = np.arange(-r, r + 1)
    xx, yy = np.meshgrid(grid, grid)
    disk = (xx**2 + yy**2 <= radius**2).astype(np.float64)
    disk = ndimage.gaussian_filter(np.pad(disk / disk.sum(), 1), sigma=alias_blur, truncate=1.0 / alias_blur)
    return disk / disk.sum()


def _convolve(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve every channel of every image with one 2-D kernel."""
    return ndimage.convolve(x, kernel[None, None], mode="nearest")


def _defocus_blur(x: np.ndarray, c: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    return _convolve(x, _disk(*c))


def _motion_kernel(radius: int, sigma: float, angle_deg: float) -> np.ndarray:
    """One-sided Gaussian-weighted line kernel, as ImageMagick's motion blur (used by CIFAR-10-C)."""
    size = 2 * radius + 1
    kernel = np.zeros((size, size))
    angle = np.deg2rad(angle_deg)
    for i in range(radius + 1):
        row = radius + int(round(i * np.sin(angle)))
        col = radius + int(round(i * np.cos(angle)))
        kernel[row, col] += np.exp(-(i**2) / (2 * sigma**2))
    return kernel / kernel.sum()


def _motion_blur(x: np.ndarray, c: tuple[int, float], rng: np.random.Generator) -> np.ndarray:
    angles = rng.uniform(-45, 45, size=len(x))
    return np.stack([_convolve(img[None], _motion_kernel(int(c[0]), c[1], a))[0] for img, a in zip(x, angles)])


def _brightness(x: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    if x.shape[1] == 1:
        return x + c
    colors = optional_import("matplotlib.colors", extra="robust", needed_for="the brightness of colour images")
    hsv = colors.rgb_to_hsv(np.clip(x.transpose(0, 2, 3, 1), 0, 1))
    hsv[..., 2] = np.clip(hsv[..., 2] + c, 0, 1)
    return colors.hsv_to_rgb(hsv).transpose(0, 3, 1, 2)


def _contrast(x: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    means = x.mean(axis=(2, 3), keepdims=True)
    return (x - means) * c + means


def _pil() -> ModuleType:
    """Pillow's Image module (zkcert[robust])."""
    return optional_import("PIL.Image", extra="robust", needed_for="the jpeg and pixelate corruptions")


def _to_pil(img: np.ndarray) -> Image.Image:
    """(C, H, W) in [0, 1] to an 8-bit Pillow image."""
    arr = np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)
    image = _pil()
    return image.fromarray(arr[0], "L") if arr.shape[0] == 1 else image.fromarray(arr.transpose(1, 2, 0), "RGB")


def _from_pil(im: Image.Image, channels: int) -> np.ndarray:
    arr = np.asarray(im, dtype=np.float32) / 255.0
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)


def _jpeg_one(img: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    _to_pil(img).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with _pil().open(buf) as im:
        return _from_pil(im, img.shape[0])


def _jpeg(x: np.ndarray, c: int, rng: np.random.Generator) -> np.ndarray:
    return np.stack([_jpeg_one(img, c) for img in x])


def _pixelate_one(img: np.ndarray, c: float) -> np.ndarray:
    h, w = img.shape[1:]
    small = _to_pil(img).resize((max(1, int(w * c)), max(1, int(h * c))), _pil().Resampling.BOX)
    return _from_pil(small.resize((w, h), _pil().Resampling.BOX), img.shape[0])


def _pixelate(x: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    return np.stack([_pixelate_one(img, c) for img in x])


def _random_affine(h: int, w: int, shift: float, rng: np.random.Generator) -> np.ndarray:
    """A 2x3 map from output to input pixel coordinates that moves three anchor points by up to shift."""
    centre = np.array([h // 2, w // 2], dtype=np.float64)
    side = min(h, w) // 3
    src = np.array([centre + side, [centre[0] + side, centre[1] - side], centre - side])
    dst = src + rng.uniform(-shift, shift, size=src.shape)
    # Solve dst @ A[:, :2].T + A[:, 2] = src: scipy's affine_transform maps output to input.
    design = np.hstack([dst, np.ones((3, 1))])
    return np.linalg.solve(design, src).T


def _elastic_one(img: np.ndarray, c: tuple[float, float, float], rng: np.random.Generator) -> np.ndarray:
    alpha, sigma, shift = c
    _, h, w = img.shape
    affine = _random_affine(h, w, shift, rng)
    warped = np.stack([ndimage.affine_transform(ch, affine[:, :2], affine[:, 2], order=1, mode="mirror") for ch in img])
    dy, dx = (ndimage.gaussian_filter(rng.uniform(-1, 1, (h, w)), sigma, mode="reflect", truncate=3) * alpha
              for _ in range(2))
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    coords = np.array([rows + dy, cols + dx])
    return np.stack([ndimage.map_coordinates(ch, coords, order=1, mode="reflect") for ch in warped])


def _elastic(x: np.ndarray, c: tuple[float, float, float], rng: np.random.Generator) -> np.ndarray:
    return np.stack([_elastic_one(img, c, rng) for img in x])


CORRUPTIONS: dict[str, Callable[..., np.ndarray]] = {
    "gaussian_noise": _gaussian_noise,
    "shot_noise": _shot_noise,
    "impulse_noise": _impulse_noise,
    "gaussian_blur": _gaussian_blur,
    "defocus_blur": _defocus_blur,
    "motion_blur": _motion_blur,
    "brightness": _brightness,
    "contrast": _contrast,
    "jpeg": _jpeg,
    "pixelate": _pixelate,
    "elastic": _elastic,
}


def corrupt(x: np.ndarray, name: str, severity: int, *, seed: int = 0) -> np.ndarray:
    """Apply corruption `name` at `severity` (1..5) to images (N, C, H, W) in [0, 1]; deterministic in seed.

    Example:
        >>> import numpy as np
        >>> bool(corrupt(np.full((2, 1, 28, 28), 0.5, np.float32), "contrast", 5).std() < 1e-6)
        True
    """
    x = check_images(x)
    if name not in CORRUPTIONS:
        raise InputError(f"unknown corruption {name!r}; choose one of {sorted(CORRUPTIONS)}")
    if severity not in (1, 2, 3, 4, 5):
        raise InputError(f"severity must be an integer from 1 to 5, got {severity!r}")
    const = CONSTANTS[size_key(x.shape[1:])][name][severity - 1]
    rng = np.random.default_rng([seed, list(CORRUPTIONS).index(name), severity])
    out = CORRUPTIONS[name](x.astype(np.float64), const, rng)
    return np.clip(out, 0.0, 1.0).astype(np.float32)
