"""World motion from root-relative 3D poses: pinhole camera, root path, floor and world frame, foot contact,
camera-motion check. Pure arrays in, arrays out: nothing here knows the pipeline."""

from posemamba_cli.world.camera import Camera, resolve_camera
from posemamba_cli.world.motion import WorldMotion, fit_world_motion
from posemamba_cli.world.trajectory import smooth_path, solve_root_trajectory

__all__ = ["Camera", "resolve_camera", "WorldMotion", "fit_world_motion", "smooth_path", "solve_root_trajectory"]
