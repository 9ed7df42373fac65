"""A synthetic walker with planted feet, in a known world frame and seen by a known tilted camera."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Upper body relative to the pelvis (mm: body left, forward, up), H36M-17 joints 7..16.
_UPPER = {7: (0, 0, 230), 8: (0, 0, 480), 9: (0, 30, 600), 10: (0, 0, 710), 11: (150, 0, 460), 12: (150, 0, 180),
          13: (150, 0, -70), 14: (-150, 0, 460), 15: (-150, 0, 180), 16: (-150, 0, -70)}  # fmt: skip


@dataclass
class Walk:
    joints_world: np.ndarray  # (T, 17, 3) mm, z up, ankles at rest on z = 0
    contact: np.ndarray  # (T, 2) true (left, right) stance
    times: np.ndarray


def walk(n_frames: int, fps: float = 30.0, start=(0.0, 0.0), heading_deg: float = 90.0, speed: float = 1200.0) -> Walk:
    """Walk at `speed` mm/s from `start` along `heading` (degrees from +x): each foot is planted for 60% of a
    1 s stride and swings forward 1.2 m on a 100 mm high arc for the rest; the pelvis glides at 900 mm."""
    t = np.arange(n_frames) / fps
    h = np.radians(heading_deg)
    fwd, side = np.array([np.cos(h), np.sin(h), 0.0]), np.array([np.sin(h), -np.cos(h), 0.0])  # side: right
    stride = speed * 1.0
    joints = np.zeros((n_frames, 17, 3))
    contact = np.zeros((n_frames, 2), bool)
    pelvis = np.array([*start, 900.0]) + speed * t[:, None] * fwd
    for f, (ankle, knee, hip, sign, offset) in enumerate(((6, 5, 4, -1, 0.0), (3, 2, 1, 1, 0.5))):
        phase = (t + offset) % 1.0
        cycle = np.floor(t + offset)
        stance = phase < 0.6
        s = np.clip((phase - 0.6) / 0.4, 0, 1)  # swing progress
        along = stride * (cycle + np.where(stance, 0.0, s)) - stride * offset + 0.3 * stride
        foot = np.array([*start, 0.0]) + along[:, None] * fwd + sign * 130 * side
        foot[:, 2] = np.where(stance, 0.0, 100 * np.sin(np.pi * s))
        joints[:, ankle] = foot
        joints[:, hip] = pelvis + sign * 130 * side
        joints[:, knee] = (joints[:, hip] + foot) / 2 + 60 * fwd
        contact[:, f] = stance
    joints[:, 0] = pelvis
    for j, (x, y, z) in _UPPER.items():
        joints[:, j] = pelvis - x * side + y * fwd + np.array([0, 0, z])  # x: toward the body's left
    return Walk(joints, contact, t)


@dataclass
class TiltedCamera:
    """Camera at `position` (world mm) looking along +y, pitched down by `pitch_deg`; focal in pixels."""

    position: np.ndarray
    pitch_deg: float
    focal: float
    width: int
    height: int

    def rotation(self) -> np.ndarray:
        """(3, 3) world -> camera axes (x right, y down, z away)."""
        p = np.radians(self.pitch_deg)
        forward = np.array([0.0, np.cos(p), -np.sin(p)])
        right = np.array([1.0, 0.0, 0.0])
        down = np.cross(forward, right)
        return np.stack([right, down, forward])

    def to_camera(self, world: np.ndarray) -> np.ndarray:
        return (world - self.position) @ self.rotation().T

    def project(self, camera: np.ndarray) -> np.ndarray:
        return self.focal * camera[..., :2] / camera[..., 2:] + np.array([self.width / 2, self.height / 2])
