"""Joint orders and bones of COCO-17 and H36M-17 (the H36M flip lives in `posemamba_cli.data.h36m`)."""

from __future__ import annotations

import numpy as np

from posemamba_cli.data.h36m import FLIP_LEFT, FLIP_RIGHT

H36M_JOINTS = (
    "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle", "spine",
    "thorax", "neck_nose", "head", "left_shoulder", "left_elbow", "left_wrist", "right_shoulder",
    "right_elbow", "right_wrist",
)  # fmt: skip
H36M_BONES = (
    (0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (5, 6), (0, 7), (7, 8), (8, 9), (9, 10),
    (8, 11), (11, 12), (12, 13), (8, 14), (14, 15), (15, 16),
)  # fmt: skip
H36M_LEFT, H36M_RIGHT = FLIP_LEFT, FLIP_RIGHT

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
