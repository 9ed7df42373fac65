"""A fixed-camera 3D skeleton view drawn with OpenCV (a static ground grid, poses projected per frame)."""

from __future__ import annotations

import cv2
import numpy as np

from posemamba_cli.render.colors import INTERPOLATED, bone_colors
from posemamba_cli.skeleton import H36M_BONES

_COLORS = bone_colors()


def _rotation(azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    """World (x, y, z up) -> view (right, down, depth) for a camera at `azimuth`, looking down by `elevation`."""
    az, el = np.radians(azimuth_deg), np.radians(elevation_deg)
    right = np.array([np.cos(az), np.sin(az), 0.0])
    forward = np.array([-np.sin(az) * np.cos(el), np.cos(az) * np.cos(el), -np.sin(el)])
    up = np.cross(right, forward)
    return np.stack([right, -up, forward])


class SkeletonView3D:
    """Renders world-frame poses (millimetres, z up, lowest joint at z=0) into square BGR images."""

    def __init__(self, size: int, extent_mm: float = 2400.0, azimuth: float = 20.0, elevation: float = 15.0) -> None:
        self.size = int(size)
        self.scale = self.size / extent_mm
        self.rot = _rotation(azimuth, elevation)
        self.origin = np.array([self.size / 2, self.size * 0.78])
        self.background = self._draw_background(extent_mm)

    def project(self, points: np.ndarray) -> np.ndarray:
        """World mm (..., 3) -> image pixels (..., 2), orthographic."""
        v = points @ self.rot.T
        return v[..., :2] * self.scale + self.origin

    def _draw_background(self, extent: float) -> np.ndarray:
        img = np.full((self.size, self.size, 3), 24, np.uint8)
        thick = max(1, self.size // 400)
        for g in np.linspace(-extent / 2, extent / 2, 9):
            for a, b in ((np.array([g, -extent / 2, 0]), np.array([g, extent / 2, 0])),
                         (np.array([-extent / 2, g, 0]), np.array([extent / 2, g, 0]))):
                p, q = self.project(np.stack([a, b]))
                cv2.line(img, tuple(int(v) for v in p), tuple(int(v) for v in q), (70, 70, 70), thick, cv2.LINE_AA)
        return img

    def render(self, poses_mm: list[np.ndarray], interpolated: list[bool] | None = None) -> np.ndarray:
        """Draw each (17, 3) pose, side by side when several, onto a copy of the background."""
        img = self.background.copy()
        thick = max(2, self.size // 160)
        n = len(poses_mm)
        for i, pose in enumerate(poses_mm):
            shifted = pose - np.array([pose[0, 0], pose[0, 1], 0.0]) + np.array([(i - (n - 1) / 2) * 900.0, 0, 0])
            pts = np.round(self.project(shifted)).astype(np.int32)
            grey = bool(interpolated[i]) if interpolated is not None else False
            for (a, b), color in zip(H36M_BONES, _COLORS):
                c = INTERPOLATED if grey else color
                cv2.line(img, tuple(int(v) for v in pts[a]), tuple(int(v) for v in pts[b]), c, thick, cv2.LINE_AA)
        return img
