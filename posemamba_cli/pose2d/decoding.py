"""Heatmaps -> keypoints as mmpose's MSRA codec decodes them (plain quarter-offset or DARK refinement)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch

COCO_FLIP_INDICES = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)


def flip_back_heatmaps(
    heatmaps: torch.Tensor, flip_indices: Sequence[int] = COCO_FLIP_INDICES, shift: bool = True
) -> torch.Tensor:
    """Heatmaps of horizontally flipped crops -> heatmaps of the original crops.

    Mirrors the width, swaps left/right keypoints and (with `shift`) moves every column one pixel right,
    keeping column 0, to undo the half-pixel misalignment of the flip.
    """
    out = heatmaps.flip(-1)[:, list(flip_indices)]
    if shift:
        out[..., 1:] = out[..., :-1].clone()
    return out


def heatmap_maxima(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer argmax locations (..., k, 2) as (x, y) and their values (..., k); (-1, -1) where max <= 0."""
    *lead, height, width = heatmaps.shape
    flat = heatmaps.reshape(*lead, height * width)
    index = flat.argmax(axis=-1)
    values = np.take_along_axis(flat, index[..., None], axis=-1)[..., 0]
    locs = np.stack([index % width, index // width], axis=-1).astype(np.float32)
    locs[values <= 0.0] = -1
    return locs, values


def refine_plain(locs: np.ndarray, heatmaps: np.ndarray) -> np.ndarray:
    """Move each maximum a quarter pixel towards its higher neighbour (mmpose's bounds kept exactly)."""
    out = locs.copy()
    _, height, width = heatmaps.shape
    for k, (x, y) in enumerate(locs.astype(int)):
        dx = heatmaps[k, y, x + 1] - heatmaps[k, y, x - 1] if 1 < x < width - 1 and 0 < y < height else 0.0
        dy = heatmaps[k, y + 1, x] - heatmaps[k, y - 1, x] if 1 < y < height - 1 and 0 < x < width else 0.0
        out[k] += np.sign(np.array([dx, dy], dtype=np.float32)) * 0.25
    return out


def _blur_keep_peak(heatmaps: np.ndarray, kernel: int) -> np.ndarray:
    """Gaussian blur each map over a zero border, rescaled so its maximum equals the original one."""
    border = (kernel - 1) // 2
    _, height, width = heatmaps.shape
    out = np.empty_like(heatmaps)
    for k, heatmap in enumerate(heatmaps):
        peak = np.max(heatmap)
        padded = np.zeros((height + 2 * border, width + 2 * border), dtype=np.float32)
        padded[border:-border, border:-border] = heatmap
        blurred = cv2.GaussianBlur(padded, (kernel, kernel), 0)[border:-border, border:-border]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[k] = blurred * (peak / np.max(blurred))
    return out


def refine_dark(locs: np.ndarray, heatmaps: np.ndarray, blur_kernel: int) -> np.ndarray:
    """DARK: a Newton step on the log of the blurred heatmap (Taylor expansion at the maximum)."""
    out = locs.copy()
    _, height, width = heatmaps.shape
    logs = np.log(np.maximum(_blur_keep_peak(heatmaps, blur_kernel), 1e-10))
    for k, (x, y) in enumerate(locs.astype(int)):
        if not (1 < x < width - 2 and 1 < y < height - 2):
            continue
        h = logs[k]
        dx = 0.5 * (h[y, x + 1] - h[y, x - 1])
        dy = 0.5 * (h[y + 1, x] - h[y - 1, x])
        dxx = 0.25 * (h[y, x + 2] - 2 * h[y, x] + h[y, x - 2])
        dxy = 0.25 * (h[y + 1, x + 1] - h[y - 1, x + 1] - h[y + 1, x - 1] + h[y - 1, x - 1])
        dyy = 0.25 * (h[y + 2, x] - 2 * h[y, x] + h[y - 2, x])
        if dxx * dyy - dxy**2 != 0:
            hessian = np.array([[dxx, dxy], [dxy, dyy]])
            out[k] -= np.linalg.inv(hessian) @ np.array([dx, dy])
    return out


# mmpose 1.x decodes every COCO DARK config (256x192 and 384x288) with its default 11-pixel kernel.
DARK_BLUR_KERNEL = 11


def decode_heatmaps(
    heatmaps: np.ndarray, method: str = "plain", blur_kernel: int = DARK_BLUR_KERNEL
) -> tuple[np.ndarray, np.ndarray]:
    """Heatmaps (n, k, h, w) -> keypoints (n, k, 2) in heatmap pixels and scores (n, k)."""
    heatmaps = np.asarray(heatmaps, dtype=np.float32)
    locs, scores = heatmap_maxima(heatmaps)
    if method == "plain":
        refined = [refine_plain(loc, h) for loc, h in zip(locs, heatmaps)]
    elif method == "dark":
        refined = [refine_dark(loc, h, blur_kernel) for loc, h in zip(locs, heatmaps)]
    else:
        raise ValueError(f"decoding must be 'plain' or 'dark', got {method!r}")
    keypoints = np.stack(refined) if refined else locs
    return keypoints.astype(np.float32), scores.astype(np.float32)
