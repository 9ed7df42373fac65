"""The world frame (mm, z up, x right, y forward into the scene) -> the exported files' axes (metres, y up).

BVH and glTF both take y up: file (x, y, z) = world (x, z, -y) / 1000, a proper rotation, so Blender's BVH
importer (forward -Z, up Y by default) and glTF importer (glTF is y up by its specification) put every joint
back at its world position, in metres, with z up.
"""

from __future__ import annotations

import numpy as np

#: rows: file axes as combinations of world axes
FILE_FROM_WORLD = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
METRES_PER_MM = 1e-3


def points_to_file(points_mm: np.ndarray) -> np.ndarray:
    """(..., 3) world mm -> (..., 3) file metres."""
    return np.asarray(points_mm, dtype=np.float64) @ FILE_FROM_WORLD.T * METRES_PER_MM


def rotations_to_file(matrices: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations acting on world vectors -> the same rotations acting on file vectors."""
    return FILE_FROM_WORLD @ matrices @ FILE_FROM_WORLD.T


def check_joints(joints_world_mm: np.ndarray) -> np.ndarray:
    """(T, 17, 3) finite positions as float64, or ValueError naming what is wrong."""
    joints = np.asarray(joints_world_mm, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (17, 3) or len(joints) == 0:
        raise ValueError(f"joints must be (T, 17, 3) H36M-17 positions with T >= 1, got shape {joints.shape}")
    if not np.isfinite(joints).all():
        raise ValueError("joints hold NaN or infinite values: export only the frames where the person is known")
    return joints
