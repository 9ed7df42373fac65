"""Test motions with known answers: a skeleton whose bones keep their lengths, moving along a path."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from posemamba_cli.skeleton import H36M_PARENTS

# A standing H36M-17 figure in the world frame (mm, z up, facing -y), neck leaning forward like the demo's.
REST_WORLD_MM = np.array([
    [0, 0, 0], [-130, 0, 0], [-130, 0, -450], [-130, 0, -900], [130, 0, 0], [130, 0, -450], [130, 0, -900],
    [0, 0, 230], [0, 0, 480], [0, -30, 600], [0, 0, 710], [150, 0, 460], [150, 0, 180], [150, 0, -70],
    [-150, 0, 460], [-150, 0, 180], [-150, 0, -70],
], dtype=np.float64)  # fmt: skip


def rigid_motion(n_frames: int, fps: float = 30.0, seed: int = 0) -> np.ndarray:
    """(T, 17, 3) world mm: REST_WORLD_MM with every joint turning smoothly (random axes, up to 40 degrees),
    the body heading round and walking a curved path; every bone keeps its length."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames) / fps
    axes = rng.normal(size=(17, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    amplitude, phase, freq = rng.uniform(0.2, 0.7, 17), rng.uniform(0, 2 * np.pi, 17), rng.uniform(0.5, 2, 17)
    out = np.zeros((n_frames, 17, 3))
    glob: list[Rotation] = []
    heading = Rotation.from_rotvec(np.outer(0.8 * t, [0, 0, 1]))
    path = np.stack([2000 * np.sin(0.5 * t), 1500 * np.cos(0.4 * t), 950 + 20 * np.sin(6 * t)], -1)
    for j, p in enumerate(H36M_PARENTS):
        turn = Rotation.from_rotvec((amplitude[j] * np.sin(2 * np.pi * freq[j] * t + phase[j]))[:, None] * axes[j])
        if p < 0:
            glob.append(heading * turn)
            out[:, j] = path
        else:
            glob.append(glob[p] * turn)
            out[:, j] = out[:, p] + glob[p].apply(REST_WORLD_MM[j] - REST_WORLD_MM[p])
    return out


def umeyama(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """`source` (N, 3) mapped by the similarity transform (scale, rotation, translation) that best fits
    `target` (Umeyama 1991)."""
    mu_s, mu_t = source.mean(0), target.mean(0)
    s, t = source - mu_s, target - mu_t
    u, d, vt = np.linalg.svd(t.T @ s / len(s))
    sign = np.ones(3)
    sign[2] = np.sign(np.linalg.det(u @ vt))
    rot = u @ np.diag(sign) @ vt
    scale = np.sum(d * sign) / np.mean(np.sum(s**2, 1))
    return scale * s @ rot.T + mu_t
