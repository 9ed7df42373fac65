"""Camera space -> the published world frame, and the approximate metric scale."""

from __future__ import annotations

import numpy as np

from posemamba_cli.skeleton import H36M_BONE_LENGTHS_MM, H36M_BONES

# The demo's fixed camera-to-world rotation, (w, x, y, z).
WORLD_QUATERNION = np.array([0.1407, -0.1501, -0.7552, 0.6223])


def quaternion_rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v (..., 3) by the unit quaternion q = (w, x, y, z)."""
    q = np.asarray(q, dtype=np.float64)
    w, qv = q[0], q[1:]
    v = np.asarray(v, dtype=np.float64)
    uv = np.cross(qv, v)
    uuv = np.cross(qv, uv)
    return v + 2 * (w * uv + uuv)


def camera_to_world(points: np.ndarray, quaternion: np.ndarray = WORLD_QUATERNION) -> np.ndarray:
    """Rotate camera-space poses (..., 17, 3) into the world frame, then put each frame's lowest joint at z=0."""
    world = quaternion_rotate(quaternion, points)
    return world - np.stack(
        [np.zeros_like(world[..., 0, 0]), np.zeros_like(world[..., 0, 0]), world[..., 2].min(-1)], axis=-1
    )[..., None, :]


#: standing height (mm) of the typical skeleton: thigh + shin + pelvis-spine-thorax-neck-head (1629 mm) plus about
#: 120 mm for the heel below the ankle and the crown above the head joint.
TYPICAL_HEIGHT_MM = float(H36M_BONE_LENGTHS_MM[[1, 2, 6, 7, 8, 9]].sum() + 120.0)


def metric_scale(points: np.ndarray, height_mm: float | None = None) -> float:
    """Factor turning a root-relative pose sequence (T, 17, 3) into approximate millimetres.

    A single video gives no absolute scale; this assumes a typical adult H36M skeleton: the median over
    frames of the summed bone lengths is matched to the sum of typical bone lengths (4158 mm), or, given the
    person's standing `height_mm`, to that sum scaled by height_mm / TYPICAL_HEIGHT_MM. Every length, and
    the depth of the root path solved from it, scales linearly with this factor.
    """
    bones = np.array(H36M_BONES)
    lengths = np.linalg.norm(points[..., bones[:, 0], :] - points[..., bones[:, 1], :], axis=-1).sum(-1)
    median = float(np.median(lengths))
    target = H36M_BONE_LENGTHS_MM.sum() * (1.0 if height_mm is None else height_mm / TYPICAL_HEIGHT_MM)
    return float(target / median) if median > 1e-9 else 1.0
