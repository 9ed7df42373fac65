"""Per-frame pose errors: MPJPE (P1) and Procrustes-aligned MPJPE (P2), in numpy."""

from __future__ import annotations

import numpy as np


def mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(T, J, 3) x2 -> (T,) mean joint distance per frame."""
    if pred.shape != gt.shape:
        raise ValueError(f"shape mismatch {pred.shape} vs {gt.shape}")
    return np.mean(np.linalg.norm(pred - gt, axis=-1), axis=1)


def p_mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(T, J, 3) x2 -> (T,) MPJPE after the best similarity transform of `pred` onto `gt` per frame.

    Scale, rotation and translation are solved in closed form (orthogonal Procrustes via SVD); rotations
    with a reflection are replaced by the nearest proper rotation.
    """
    if pred.shape != gt.shape:
        raise ValueError(f"shape mismatch {pred.shape} vs {gt.shape}")
    mu_gt = gt.mean(axis=1, keepdims=True)
    mu_pred = pred.mean(axis=1, keepdims=True)
    g0 = gt - mu_gt
    p0 = pred - mu_pred
    norm_gt = np.sqrt(np.sum(g0**2, axis=(1, 2), keepdims=True))
    norm_pred = np.sqrt(np.sum(p0**2, axis=(1, 2), keepdims=True))
    g0 = g0 / norm_gt
    p0 = p0 / norm_pred
    cov = np.matmul(g0.transpose(0, 2, 1), p0)
    u, s, vt = np.linalg.svd(cov)
    v = vt.transpose(0, 2, 1)
    rot = np.matmul(v, u.transpose(0, 2, 1))
    sign = np.sign(np.expand_dims(np.linalg.det(rot), axis=1))
    v[:, :, -1] *= sign
    s[:, -1] *= sign.flatten()
    rot = np.matmul(v, u.transpose(0, 2, 1))
    trace = np.expand_dims(np.sum(s, axis=1, keepdims=True), axis=2)
    scale = trace * norm_gt / norm_pred
    shift = mu_gt - scale * np.matmul(mu_pred, rot)
    aligned = scale * np.matmul(pred, rot) + shift
    return np.mean(np.linalg.norm(aligned - gt, axis=-1), axis=1)
