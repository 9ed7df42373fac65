"""The H36M-17 skeleton, in one place: joint names, parents, bones, flip pairs, bone lengths, screen
normalisation; and the COCO-17 joint order the 2D side produces.

The normalisation is the published one (x, y: v / w * 2 - [1, h / w]; z: z / w * 2). In float32 it
reproduces the published preprocessing bit for bit (float32 arrays, float64 offsets); the lifting chain
uses float64.
"""

from __future__ import annotations

import numpy as np
import torch

H36M_JOINTS = (
    "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle", "spine",
    "thorax", "neck_nose", "head", "left_shoulder", "left_elbow", "left_wrist", "right_shoulder",
    "right_elbow", "right_wrist",
)  # fmt: skip
H36M_PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
#: (parent, child) per bone, ordered by child joint.
H36M_BONES = tuple((p, j) for j, p in enumerate(H36M_PARENTS) if p >= 0)
H36M_LEFT = (4, 5, 6, 11, 12, 13)
H36M_RIGHT = (1, 2, 3, 14, 15, 16)
#: joint index after a horizontal flip (left and right swapped).
H36M_FLIP_PERM = tuple(
    H36M_RIGHT[H36M_LEFT.index(j)] if j in H36M_LEFT else H36M_LEFT[H36M_RIGHT.index(j)] if j in H36M_RIGHT else j
    for j in range(len(H36M_JOINTS))
)
#: typical adult bone lengths in millimetres (the approximate metric scale), in H36M_BONES order.
H36M_BONE_LENGTHS_MM = np.array(
    [133, 454, 449, 133, 454, 449, 233, 257, 121, 115, 151, 279, 250, 151, 279, 250], dtype=np.float64
)

COCO_JOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
    "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
COCO_BONES = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8),
    (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)  # fmt: skip


def flip_pose(x: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """Horizontal flip of (..., 17, C) H36M poses: negate x, swap left and right joints (returns a copy)."""
    perm = list(H36M_FLIP_PERM)
    out = x[..., perm, :].clone() if isinstance(x, torch.Tensor) else x[..., perm, :].copy()
    out[..., 0] = -out[..., 0]
    return out


def normalize_screen(points: np.ndarray, width: float, height: float, dtype: np.dtype = np.float64) -> np.ndarray:
    """Pixels -> normalised units, computed in `dtype`; (..., 2) keypoints or (..., 3) points (z in pixels)."""
    out = np.asarray(points, dtype=dtype) / width * 2
    out[..., :2] = out[..., :2] - np.array([1, height / width])
    return out


def denormalize_screen(points: np.ndarray, width: float, height: float) -> np.ndarray:
    """Normalised units -> pixels (z -> pixel units), in float64; the inverse of `normalize_screen`."""
    p = np.array(points, dtype=np.float64)
    p[..., :2] += np.array([1, height / width])
    return p * width / 2


def normalized_to_pixel_scale(points: np.ndarray, width: float) -> np.ndarray:
    """Root-relative normalised 3D -> root-relative pixel units (a pure scale, no offset)."""
    return np.asarray(points, dtype=np.float64) * (width / 2)
