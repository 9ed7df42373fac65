"""Joint orders, bones and flips of COCO-17 and H36M-17."""

from __future__ import annotations

import numpy as np

H36M_JOINTS = (
    "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle", "spine",
    "thorax", "neck_nose", "head", "left_shoulder", "left_elbow", "left_wrist", "right_shoulder",
    "right_elbow", "right_wrist",
)  # fmt: skip
H36M_BONES = (
    (0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (5, 6), (0, 7), (7, 8), (8, 9), (9, 10),
    (8, 11), (11, 12), (12, 13), (8, 14), (14, 15), (15, 16),
)  # fmt: skip
H36M_LEFT = (4, 5, 6, 11, 12, 13)
H36M_RIGHT = (1, 2, 3, 14, 15, 16)

COCO_JOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
    "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
COCO_BONES = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8),
    (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)  # fmt: skip

# Typical adult H36M bone lengths in millimetres (for the approximate metric scale), in H36M_BONES order.
H36M_BONE_LENGTHS_MM = np.array(
    [133, 454, 449, 133, 454, 449, 233, 257, 121, 115, 151, 279, 250, 151, 279, 250], dtype=np.float64
)


def h36m_flip_permutation() -> np.ndarray:
    """Index array that swaps left and right H36M joints."""
    perm = np.arange(17)
    perm[list(H36M_LEFT)], perm[list(H36M_RIGHT)] = H36M_RIGHT, H36M_LEFT
    return perm
