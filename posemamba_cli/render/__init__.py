"""Fast OpenCV rendering: 2D overlay, 3D skeleton view, side-by-side (no matplotlib per frame)."""

from posemamba_cli.render.compose import side_by_side, side_by_side_width
from posemamba_cli.render.overlay import draw_skeleton_2d
from posemamba_cli.render.view3d import SkeletonView3D

__all__ = ["draw_skeleton_2d", "SkeletonView3D", "side_by_side", "side_by_side_width"]
