"""The H36M-17 skeleton: joint names, bones, horizontal flip, camera names and resolutions."""

from __future__ import annotations

import numpy as np
import torch

JOINT_NAMES = (
    "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "spine", "thorax", "neck", "head", "left_shoulder", "left_elbow", "left_wrist",
    "right_shoulder", "right_elbow", "right_wrist",
)  # fmt: skip
PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
BONES = tuple((p, j) for j, p in enumerate(PARENTS) if p >= 0)
FLIP_LEFT = (4, 5, 6, 11, 12, 13)
FLIP_RIGHT = (1, 2, 3, 14, 15, 16)
FLIP_PERM = list(range(17))
for _l, _r in zip(FLIP_LEFT, FLIP_RIGHT):
    FLIP_PERM[_l], FLIP_PERM[_r] = _r, _l

#: camera name -> (width, height) in pixels, as in the published preprocessing.
CAMERA_RESOLUTIONS: dict[str, tuple[int, int]] = {
    "54138969": (1000, 1002),
    "55011271": (1000, 1000),
    "58860488": (1000, 1000),
    "60457274": (1000, 1002),
}

#: test sources (`source[:-6]`) that the published evaluation skips (damaged recordings).
DAMAGED_SOURCES = ("s_09_act_05_subact_02", "s_09_act_10_subact_02", "s_09_act_13_subact_01")

#: Human3.6M action names by action number (act_02 .. act_16).
ACTIONS = (
    "Directions", "Discussion", "Eating", "Greeting", "Phoning", "Posing", "Purchases", "Sitting",
    "SittingDown", "Smoking", "Photo", "Waiting", "Walking", "WalkDog", "WalkTogether",
)  # fmt: skip


def flip_pose(x: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """Horizontal flip of (..., 17, C) poses: negate x, swap left and right joints (returns a copy)."""
    if isinstance(x, torch.Tensor):
        out = x[..., FLIP_PERM, :].clone()
    else:
        out = x[..., FLIP_PERM, :].copy()
    out[..., 0] = -out[..., 0]
    return out
