"""A fixed-camera 3D skeleton view drawn with OpenCV (a static ground grid, poses projected per frame).

Two ways to place people: in the world frame (`fitted_world` + `render_world`: everybody where they are on the
shared floor, with a trail of their path) or, for poses without a world path, each in a fixed slot
(`fitted` + `render`)."""

from __future__ import annotations

import cv2
import numpy as np

from posemamba_cli.render.colors import INTERPOLATED, bone_colors, person_color
from posemamba_cli.render.overlay import draw_label
from posemamba_cli.skeleton import H36M_BONES

_COLORS = bone_colors()


def _rotation(azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    """World (x, y, z up) -> view (right, down, depth) for a camera at `azimuth`, looking down by `elevation`."""
    az, el = np.radians(azimuth_deg), np.radians(elevation_deg)
    right = np.array([np.cos(az), np.sin(az), 0.0])
    forward = np.array([-np.sin(az) * np.cos(el), np.cos(az) * np.cos(el), -np.sin(el)])
    up = np.cross(right, forward)
    return np.stack([right, -up, forward])


SLOT_MM = 900.0  # distance between neighbouring people's slots in the 3D view
MIN_EXTENT_MM = 2400.0
FLOOR_STEP_MM = 1000.0  # grid squares of the world view's floor


class SkeletonView3D:
    """Renders world-frame poses (millimetres, z up, lowest joint at z=0) into square BGR images.

    Each of `n_slots` people has a fixed place on a row across the floor (`slot_mm` apart, so a person does
    not move when others appear); the view widens with the number of slots. `fitted` sizes the slots and
    the view from the poses themselves so that every joint of every person stays inside the picture.
    """

    def __init__(self, size: int, extent_mm: float | None = None, azimuth: float = 20.0, elevation: float = 15.0,
                 n_slots: int = 1, slot_mm: float = SLOT_MM) -> None:  # fmt: skip
        self.size = int(size)
        self.n_slots = max(1, int(n_slots))
        self.slot_mm = float(slot_mm)
        if extent_mm is None:
            extent_mm = max(MIN_EXTENT_MM, self.n_slots * self.slot_mm + 900.0)
        self.scale = self.size / extent_mm
        self.rot = _rotation(azimuth, elevation)
        self.origin = np.array([self.size / 2, self.size * 0.78])
        self.background = self._draw_background(extent_mm)

    @classmethod
    def fitted(cls, size: int, people_world_mm: list[np.ndarray], margin: float = 0.06) -> SkeletonView3D:
        """A view for these people's (T, 17, 3) world poses: slots as wide as the widest person (at least
        SLOT_MM), scale and centre chosen so that all of them, in every frame, fit with `margin` to spare."""
        if not people_world_mm:
            return cls(size)
        centred = [np.asarray(p, np.float64) - np.concatenate([np.asarray(p)[:, :1, :2], np.zeros((len(p), 1, 1))], -1)
                   for p in people_world_mm]  # fmt: skip
        half = max(float(np.abs(c[..., :2]).max()) for c in centred)
        view = cls(size, n_slots=len(centred), slot_mm=max(SLOT_MM, 2 * half + 300.0))
        pts = np.concatenate([(c + view.slot_offset(i)).reshape(-1, 3) for i, c in enumerate(centred)])
        pts = pts[np.isfinite(pts).all(1)]
        if len(pts) == 0:
            return view
        v = pts @ view.rot.T
        lo, hi = v[:, :2].min(0), v[:, :2].max(0)
        span = float(max(hi - lo)) or 1.0
        view.scale = min(view.scale, size * (1 - 2 * margin) / span)
        view.origin = np.array([size / 2, size / 2]) - (lo + hi) / 2 * view.scale
        view.background = view._draw_background(size / view.scale)
        return view

    @classmethod
    def fitted_world(cls, size: int, people_world_mm: list[np.ndarray], margin: float = 0.06,
                     elevation: float = 25.0) -> SkeletonView3D:  # fmt: skip
        """A view of the world frame holding every finite joint of these people's (T, 17, 3) world poses (mm,
        z up, floor z = 0) and the floor under their paths, drawn as a grid of FLOOR_STEP_MM squares."""
        view = cls(size, elevation=elevation)
        pts = np.concatenate([np.asarray(p, np.float64).reshape(-1, 3) for p in people_world_mm] or [np.zeros((0, 3))])
        pts = pts[np.isfinite(pts).all(1)]
        if len(pts) == 0:
            return view
        lo = np.floor((pts[:, :2].min(0) - 300.0) / FLOOR_STEP_MM) * FLOOR_STEP_MM
        hi = np.ceil((pts[:, :2].max(0) + 300.0) / FLOOR_STEP_MM) * FLOOR_STEP_MM
        corners = np.array([[x, y, 0.0] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])])
        v = np.concatenate([pts, corners]) @ view.rot.T
        vlo, vhi = v[:, :2].min(0), v[:, :2].max(0)
        view.scale = size * (1 - 2 * margin) / (float(max(vhi - vlo)) or 1.0)
        view.origin = np.array([size / 2, size / 2]) - (vlo + vhi) / 2 * view.scale
        view.background = view._draw_floor(lo, hi)
        return view

    def _draw_floor(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        img = np.full((self.size, self.size, 3), 24, np.uint8)
        thick = max(1, self.size // 400)
        lines = [((x, lo[1]), (x, hi[1])) for x in np.arange(lo[0], hi[0] + 1, FLOOR_STEP_MM)]
        lines += [((lo[0], y), (hi[0], y)) for y in np.arange(lo[1], hi[1] + 1, FLOOR_STEP_MM)]
        for a, b in lines:
            p, q = self.project(np.array([[*a, 0.0], [*b, 0.0]]))
            cv2.line(img, tuple(int(v) for v in p), tuple(int(v) for v in q), (70, 70, 70), thick, cv2.LINE_AA)
        return img

    def render_world(
        self, poses_mm: list[np.ndarray], interpolated: list[bool], people: list[int], labels: list[str] | None = None,
        trails: list[np.ndarray] | None = None,
    ) -> np.ndarray:
        """Draw each (17, 3) world pose where it is, in person `people[i]`'s colour, over its trail: the
        (n, 3) pelvis positions of the last moments, drawn on the floor."""
        img = self.background.copy()
        thick = max(2, self.size // 160)
        for i, trail in enumerate(trails or []):
            path = np.asarray(trail, np.float64)
            path = path[np.isfinite(path).all(1)]
            if len(path) > 1:
                floor = np.concatenate([path[:, :2], np.zeros((len(path), 1))], 1)
                pts = np.round(self.project(floor)).astype(np.int32)
                cv2.polylines(img, [pts], False, person_color(people[i]), max(1, thick // 2), cv2.LINE_AA)
        for i, pose in enumerate(poses_mm):
            if not np.isfinite(pose).all():
                continue
            self._draw_pose(img, pose, bool(interpolated[i]), people[i], labels[i] if labels else None, thick)
        return img

    def _draw_pose(self, img: np.ndarray, pose: np.ndarray, grey: bool, person: int, label: str | None,
                   thick: int) -> None:  # fmt: skip
        pts = np.round(self.project(pose)).astype(np.int32)
        for (a, b), color in zip(H36M_BONES, _COLORS):
            c = INTERPOLATED if grey else color
            cv2.line(img, tuple(int(v) for v in pts[a]), tuple(int(v) for v in pts[b]), c, thick, cv2.LINE_AA)
        for q in pts:
            cv2.circle(img, (int(q[0]), int(q[1])), thick, person_color(person), -1, cv2.LINE_AA)
        if label is not None:
            draw_label(img, label, pts.astype(np.float64), person_color(person))

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

    def slot_offset(self, slot: int) -> np.ndarray:
        """World offset (mm) of slot `slot`: a row centred on the origin."""
        return np.array([(slot - (self.n_slots - 1) / 2) * self.slot_mm, 0.0, 0.0])

    def render(
        self, poses_mm: list[np.ndarray], interpolated: list[bool] | None = None, slots: list[int] | None = None,
        labels: list[str] | None = None,
    ) -> np.ndarray:
        """Draw each (17, 3) pose, centred on its slot (default: its position in the list), onto a copy of
        the background; joints and `labels` take the slot's person colour."""
        img = self.background.copy()
        thick = max(2, self.size // 160)
        for i, pose in enumerate(poses_mm):
            slot = slots[i] if slots is not None else i
            shifted = pose - np.array([pose[0, 0], pose[0, 1], 0.0]) + self.slot_offset(slot)
            grey = bool(interpolated[i]) if interpolated is not None else False
            self._draw_pose(img, shifted, grey, slot, labels[i] if labels is not None else None, thick)
        return img
