"""2D -> 3D: COCO-17 to H36M-17, windowed lifting, world frame and units (normalisation: `skeleton`)."""

from posemamba_cli.lift.coco_to_h36m import coco_to_h36m
from posemamba_cli.lift.windows import blend_weights, lift_sequence, window_starts
from posemamba_cli.lift.world import WORLD_QUATERNION, camera_to_world, metric_scale, quaternion_rotate
from posemamba_cli.skeleton import denormalize_screen, normalize_screen

__all__ = [
    "coco_to_h36m",
    "normalize_screen",
    "denormalize_screen",
    "lift_sequence",
    "window_starts",
    "blend_weights",
    "camera_to_world",
    "metric_scale",
    "quaternion_rotate",
    "WORLD_QUATERNION",
]
