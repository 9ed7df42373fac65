"""The published screen normalisation (x, y: v / w * 2 - [1, h / w]; z: z / w * 2) and its inverse."""

from __future__ import annotations

import numpy as np


def normalize_screen(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pixels -> normalised units; works on (..., 2) keypoints and (..., 3) points (z in pixel units)."""
    p = np.asarray(points, dtype=np.float64)
    out = p / width * 2
    out[..., 0] -= 1
    out[..., 1] -= height / width
    return out


def denormalize_screen(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """Normalised units -> pixels (z -> pixel units); the inverse of `normalize_screen`."""
    p = np.array(points, dtype=np.float64)
    p[..., 0] += 1
    p[..., 1] += height / width
    return p * width / 2


def normalized_to_pixel_scale(points: np.ndarray, width: int) -> np.ndarray:
    """Root-relative normalised 3D -> root-relative pixel units (a pure scale, no offset)."""
    return np.asarray(points, dtype=np.float64) * (width / 2)
