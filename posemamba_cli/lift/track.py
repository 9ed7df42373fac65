"""One person's COCO-17 2D track (pixels) -> 3D in camera and world frames, with units."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from posemamba_cli.lift.coco_to_h36m import coco_to_h36m
from posemamba_cli.lift.windows import Lifter, lift_sequence
from posemamba_cli.lift.world import camera_to_world, metric_scale
from posemamba_cli.skeleton import normalize_screen, normalized_to_pixel_scale


@dataclass
class Pose3D:
    """3D poses of one person, one row per video frame, H36M-17 order.

    camera_px: root-relative camera space in pixel units (x right, y down, z away; pixels of the source).
    camera_mm / world_mm: the same in approximate millimetres (`mm_per_px`, typical adult skeleton);
    world_mm is rotated by the published fixed quaternion with each frame's lowest joint at z = 0 (z up).
    """

    keypoints_2d_h36m: np.ndarray  # (T, 17, 2) pixels
    scores_h36m: np.ndarray  # (T, 17)
    camera_px: np.ndarray  # (T, 17, 3)
    camera_mm: np.ndarray  # (T, 17, 3)
    world_mm: np.ndarray  # (T, 17, 3)
    mm_per_px: float


def lift_track(
    lifter: Lifter,
    keypoints_coco: np.ndarray,
    scores_coco: np.ndarray,
    width: int,
    height: int,
    num_frame: int,
    flip: bool = True,
    batch_size: int = 8,
    device: str = "cpu",
    progress: Callable[[int], None] | None = None,
    height_mm: float | None = None,
) -> Pose3D:
    """COCO-17 pixels (T, 17, 2) -> `Pose3D`: convert, normalise, lift in windows, denormalise; millimetres
    from the typical skeleton or the person's standing `height_mm` (`metric_scale`)."""
    k_h36m, s_h36m = coco_to_h36m(keypoints_coco, scores_coco)
    normalized = normalize_screen(k_h36m, width, height)
    rel = lift_sequence(
        lifter, normalized, num_frame, flip=flip, batch_size=batch_size, device=device, progress=progress
    )
    camera_px = normalized_to_pixel_scale(rel, width)
    scale = metric_scale(camera_px, height_mm)
    camera_mm = camera_px * scale
    return Pose3D(k_h36m, s_h36m, camera_px, camera_mm, camera_to_world(camera_mm), scale)
