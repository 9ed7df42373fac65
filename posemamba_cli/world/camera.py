"""The pinhole camera of a video: principal point at the image centre, square pixels, one focal length."""

from __future__ import annotations

import math
from dataclasses import dataclass

FOCAL_SOURCES = ("--focal-px", "--fov", "image diagonal")


@dataclass(frozen=True)
class Camera:
    """Pinhole intrinsics in pixels; `focal_source` says where the focal length came from (FOCAL_SOURCES)."""

    width: int
    height: int
    focal_px: float
    focal_source: str

    @property
    def center(self) -> tuple[float, float]:
        """The principal point (cx, cy): the image centre."""
        return self.width / 2.0, self.height / 2.0

    def describe(self) -> str:
        return f"focal length {self.focal_px:.0f} px ({self.focal_source}) for {self.width}x{self.height}"


def diagonal_focal(width: int, height: int) -> float:
    """The default focal length: the image diagonal sqrt(W^2 + H^2) in pixels (about 53 degrees diagonal)."""
    return math.hypot(width, height)


def fov_focal(width: int, fov_deg: float) -> float:
    """Focal length (pixels) of a horizontal field of view of `fov_deg` degrees over `width` pixels."""
    return width / 2.0 / math.tan(math.radians(fov_deg) / 2.0)


def resolve_camera(width: int, height: int, focal_px: float | None = None, fov_deg: float | None = None) -> Camera:
    """The camera of a `width` x `height` video: `focal_px` if given, else from the horizontal `fov_deg`,
    else the image diagonal. Values are checked by the caller (pipeline.videos.validate_options)."""
    if focal_px is not None:
        return Camera(width, height, float(focal_px), "--focal-px")
    if fov_deg is not None:
        return Camera(width, height, fov_focal(width, fov_deg), "--fov")
    return Camera(width, height, diagonal_focal(width, height), "image diagonal")
