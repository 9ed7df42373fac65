"""The root (pelvis) path in camera space: per-frame weighted linear least squares, then a temporal filter.

Per joint j with pixels (u_j, v_j), confidence w_j and root-relative camera-axes 3D (X_j, Y_j, Z_j) in mm,
the root t = (tx, ty, tz) satisfies two equations linear in t (the pinhole projection of X_j + t):

    f tx - (u_j - cx) tz = (u_j - cx) Z_j - f X_j
    f ty - (v_j - cy) tz = (v_j - cy) Z_j - f Y_j

each weighted by sqrt(w_j); with exact inputs the solution is exact.
"""

from __future__ import annotations

import numpy as np

from posemamba_cli.world.camera import diagonal_focal

MIN_SCORE = 0.3  # joints below this confidence do not enter the solve (coco_to_h36m collapses such legs)
MIN_JOINTS = 4  # fewer confident joints in a frame: no solution (NaN)
DEFAULT_SMOOTH_S = 0.1  # Gaussian sigma (seconds) of the path's temporal filter


def solve_root_trajectory(
    keypoints_2d: np.ndarray, scores: np.ndarray, pose3d_mm: np.ndarray, image_size: tuple[int, int],
    focal_px: float | None = None,
) -> np.ndarray:
    """The root's camera-space position per frame (T, 3) in mm, unsmoothed; NaN where a frame has fewer than
    MIN_JOINTS joints of score >= MIN_SCORE, or no solution in front of the camera.

    keypoints_2d (T, 17, 2) pixels; scores (T, 17); pose3d_mm (T, 17, 3) root-relative, camera axes (x right,
    y down, z away), H36M-17 order; image_size (W, H); focal_px defaults to the image diagonal.
    """
    k = np.asarray(keypoints_2d, np.float64)
    s = np.asarray(scores, np.float64)
    x = np.asarray(pose3d_mm, np.float64)
    if k.ndim != 3 or k.shape[2] != 2 or s.shape != k.shape[:2] or x.shape != k.shape[:2] + (3,):
        raise ValueError(f"expected (T, J, 2), (T, J), (T, J, 3); got {k.shape}, {s.shape}, {x.shape}")
    width, height = image_size
    f = diagonal_focal(width, height) if focal_px is None else float(focal_px)
    ok = (s >= MIN_SCORE) & np.isfinite(k).all(-1) & np.isfinite(x).all(-1)
    w = np.where(ok, s, 0.0)  # (T, J)
    du, dv = k[..., 0] - width / 2.0, k[..., 1] - height / 2.0
    zero = np.zeros_like(du)
    # rows (T, J, 2, 3) and right-hand sides (T, J, 2) of the two equations per joint
    a = np.stack([np.stack([np.full_like(du, f), zero, -du], -1), np.stack([zero, np.full_like(dv, f), -dv], -1)], -2)
    b = np.stack([du * x[..., 2] - f * x[..., 0], dv * x[..., 2] - f * x[..., 1]], -1)
    a, b = np.where(ok[..., None, None], a, 0.0), np.where(ok[..., None], b, 0.0)
    normal = np.einsum("tj,tjki,tjkl->til", w, a, a)  # (T, 3, 3): A^T W A
    rhs = np.einsum("tj,tjki,tjk->ti", w, a, b)  # (T, 3): A^T W b
    enough = ok.sum(-1) >= MIN_JOINTS
    det = np.linalg.det(np.where(enough[:, None, None], normal, np.eye(3)))
    enough &= np.abs(det) > 1e-12 * np.maximum(np.abs(normal).max((-1, -2)), 1e-300) ** 3
    out = np.full((len(k), 3), np.nan)
    if enough.any():
        out[enough] = np.linalg.solve(normal[enough], rhs[enough][..., None])[..., 0]
    out[out[:, 2] <= 0] = np.nan  # behind the camera: no physical solution
    return out


def smooth_path(
    path: np.ndarray, weights: np.ndarray, times: np.ndarray, sigma_s: float, span: np.ndarray | None = None,
) -> np.ndarray:
    """Confidence-weighted temporal filter of a (T, D) path: a Gaussian-weighted local-linear fit per frame.

    `weights` (T,) are the frames' confidences (0 or a NaN row: no measurement); `times` (T,) seconds;
    `sigma_s` the Gaussian's sigma in seconds (0: no smoothing). Frames inside `span` (T,) bool (default:
    first..last measured frame) that have no measurement near them are bridged linearly from the filtered
    neighbours (held at the span's ends); frames outside it are NaN: nothing is invented past a track's ends.
    """
    p = np.asarray(path, np.float64)
    t = np.asarray(times, np.float64)
    w = np.where(np.isfinite(p).all(-1), np.asarray(weights, np.float64), 0.0)
    w = np.maximum(w, 0.0)
    measured = w > 0
    out = np.full_like(p, np.nan)
    if not measured.any():
        return out
    if span is None:
        idx = np.flatnonzero(measured)
        span = np.zeros(len(p), bool)
        span[idx[0] : idx[-1] + 1] = True
    pz = np.where(measured[:, None], p, 0.0)
    if sigma_s > 0:
        fitted, support = _local_linear(pz, w, t, sigma_s)
    else:
        fitted, support = pz, measured.astype(np.float64)
    good = support > 1e-6 * max(float(w.max()), 1e-300)
    good &= measured | (support > 0.05 * float(np.median(w[measured])))  # a gap frame needs data close by
    src = np.flatnonzero(good)
    for d in range(p.shape[1]):
        out[:, d] = np.interp(t, t[src], fitted[src, d])  # bridges gaps; holds at the ends
    out[~np.asarray(span, bool)] = np.nan
    return out


def _local_linear(p: np.ndarray, w: np.ndarray, t: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian-kernel weighted local-linear regression at every frame (banded: +-3 sigma in frames)."""
    n = len(p)
    dt = np.median(np.diff(t)) if n > 1 else 1.0
    half = int(min(n - 1, np.ceil(3 * sigma / max(dt, 1e-9))))
    s0 = np.zeros(n)
    s1, s2 = np.zeros(n), np.zeros(n)
    r0, r1 = np.zeros_like(p), np.zeros_like(p)
    for k in range(-half, half + 1):
        lo, hi = max(0, -k), min(n, n - k)  # frames i with i + k inside
        if lo >= hi:
            continue
        i = np.arange(lo, hi)
        d = t[i + k] - t[i]
        g = np.exp(-0.5 * (d / sigma) ** 2) * w[i + k]
        s0[i] += g
        s1[i] += g * d
        s2[i] += g * d * d
        r0[i] += g[:, None] * p[i + k]
        r1[i] += (g * d)[:, None] * p[i + k]
    den = s0 * s2 - s1 * s1
    linear = den > 1e-9 * np.maximum(s0 * s2, 1e-300)
    safe0 = np.where(s0 > 0, s0, 1.0)
    level = r0 / safe0[:, None]
    slope_fit = (s2[:, None] * r0 - s1[:, None] * r1) / np.where(linear, den, 1.0)[:, None]
    return np.where(linear[:, None], slope_fit, level), s0
