"""Corruption strength per severity (1..5), one table per image kind.

'cifar' (32x32 colour) copies the constants of CIFAR-10-C (Hendrycks & Dietterich, ICLR 2019,
make_cifar_c.py). 'mnist' (28x28 grey) follows MNIST-C (Mu & Gilmer, 2019) in spirit: the same
corruption families, stronger than CIFAR-10-C because digit classifiers ignore CIFAR-strength noise,
with the elastic setting of Simard et al. (alpha 34, sigma 4) as level 5. These are zkcert's
choices, not MNIST-C's published single setting. 'digits' (8x8, 16 grey levels) scales the spatial
ones down to 8 pixels.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CONSTANTS"]

CONSTANTS: dict[str, dict[str, list[Any]]] = {
    "cifar": {
        "gaussian_noise": [0.04, 0.06, 0.08, 0.09, 0.10],
        "shot_noise": [500, 250, 100, 75, 50],
        "impulse_noise": [0.01, 0.02, 0.03, 0.05, 0.07],
        "gaussian_blur": [0.4, 0.6, 0.7, 0.8, 1.0],
        "defocus_blur": [(0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1.0, 0.2), (1.5, 0.1)],
        "motion_blur": [(10, 1.0), (10, 1.5), (10, 2.0), (10, 2.5), (12, 3.0)],
        "brightness": [0.05, 0.1, 0.15, 0.2, 0.3],
        "contrast": [0.75, 0.5, 0.4, 0.3, 0.15],
        "jpeg": [80, 65, 58, 50, 40],
        "pixelate": [0.95, 0.9, 0.85, 0.75, 0.65],
        # (alpha, sigma, affine) in pixels: CIFAR-10-C's fractions times 32.
        "elastic": [(0.0, 0.0, 2.56), (1.6, 6.4, 2.24), (2.56, 1.92, 1.92), (3.2, 1.28, 1.6), (3.2, 0.96, 0.96)],
    },
    "mnist": {
        "gaussian_noise": [0.08, 0.12, 0.18, 0.26, 0.38],
        "shot_noise": [60, 30, 15, 8, 4],
        "impulse_noise": [0.03, 0.06, 0.09, 0.17, 0.27],
        "gaussian_blur": [0.5, 0.75, 1.0, 1.25, 1.5],
        "defocus_blur": [(1.0, 0.2), (1.5, 0.3), (2.0, 0.4), (2.5, 0.5), (3.0, 0.5)],
        "motion_blur": [(3, 1.0), (4, 1.5), (5, 2.0), (6, 2.5), (7, 3.0)],
        "brightness": [0.1, 0.2, 0.3, 0.4, 0.5],
        "contrast": [0.6, 0.45, 0.3, 0.2, 0.1],
        "jpeg": [40, 25, 15, 10, 5],
        "pixelate": [0.8, 0.65, 0.5, 0.4, 0.3],
        "elastic": [(8.0, 4.0, 0.5), (14.0, 4.0, 1.0), (20.0, 4.0, 1.5), (27.0, 4.0, 2.0), (34.0, 4.0, 2.5)],
    },
    "digits": {
        "gaussian_noise": [0.08, 0.12, 0.18, 0.26, 0.38],
        "shot_noise": [60, 30, 15, 8, 4],
        "impulse_noise": [0.03, 0.06, 0.09, 0.17, 0.27],
        "gaussian_blur": [0.4, 0.55, 0.7, 0.85, 1.0],
        "defocus_blur": [(0.5, 0.5), (1.0, 0.2), (1.0, 0.5), (1.5, 0.3), (1.5, 0.6)],
        "motion_blur": [(1, 0.5), (2, 0.7), (2, 1.0), (3, 1.5), (3, 2.0)],
        "brightness": [0.1, 0.2, 0.3, 0.4, 0.5],
        "contrast": [0.6, 0.45, 0.3, 0.2, 0.1],
        "jpeg": [60, 40, 25, 15, 8],
        "pixelate": [0.75, 0.5, 0.375, 0.25, 0.125],
        "elastic": [(0.6, 1.0, 0.15), (1.0, 1.0, 0.25), (1.5, 1.0, 0.35), (2.0, 1.0, 0.45), (2.5, 1.0, 0.55)],
    },
}
