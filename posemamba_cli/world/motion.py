"""Every person of one static-camera video in one world frame: root paths, absolute joints, floor, contacts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posemamba_cli.world.camera import Camera
from posemamba_cli.world.contact import foot_contact, foot_skate
from posemamba_cli.world.floor import Floor, apply_transform, fit_floor, world_from_camera
from posemamba_cli.world.trajectory import DEFAULT_SMOOTH_S, MIN_SCORE, smooth_path, solve_root_trajectory


@dataclass
class WorldMotion:
    """The world motion of P people over T frames (H36M-17, mm); NaN outside each person's track span."""

    camera: Camera
    smooth_s: float
    root_camera_mm: np.ndarray  # (P, T, 3) pelvis in camera space (x right, y down, z away), filtered
    joints_camera_mm: np.ndarray  # (P, T, 17, 3) root path + root-relative pose
    joints_world_mm: np.ndarray  # (P, T, 17, 3) the same in the world frame (z up, floor z = 0)
    world_from_camera: np.ndarray  # (4, 4) camera mm -> world mm
    floor: Floor
    foot_contact: np.ndarray  # (P, T, 2) bool: (left ankle, right ankle)
    foot_skate_mm: np.ndarray  # (P,) mean horizontal slide per contact; NaN without contacts


def _span(detected: np.ndarray) -> np.ndarray:
    out = np.zeros_like(detected, dtype=bool)
    for p, row in enumerate(detected):
        seen = np.flatnonzero(row)
        if len(seen):
            out[p, seen[0] : seen[-1] + 1] = True
    return out


def fit_world_motion(
    keypoints_2d: np.ndarray, scores: np.ndarray, detected: np.ndarray, pose3d_mm: np.ndarray, times: np.ndarray,
    camera: Camera, smooth_s: float = DEFAULT_SMOOTH_S,
) -> WorldMotion:
    """Root path per person (weighted least squares per detected frame, then `smooth_path` over the track's
    span), one floor for everybody, the world frame, foot contacts and foot skate.

    keypoints_2d (P, T, 17, 2) px; scores (P, T, 17); detected (P, T) bool (undetected rows are no
    measurement); pose3d_mm (P, T, 17, 3) root-relative camera axes; times (T,) seconds.
    """
    k, s = np.asarray(keypoints_2d, np.float64), np.asarray(scores, np.float64)
    det = np.asarray(detected, bool)
    pose = np.asarray(pose3d_mm, np.float64)
    span = _span(det)
    n_people, n_frames = det.shape
    roots = np.full((n_people, n_frames, 3), np.nan)
    for p in range(n_people):
        measured = s[p] * det[p][:, None]
        raw = solve_root_trajectory(k[p], measured, pose[p], (camera.width, camera.height), camera.focal_px)
        weight = np.where(measured >= MIN_SCORE, measured, 0.0).mean(-1)
        roots[p] = smooth_path(raw, weight, times, smooth_s, span[p])
    joints_camera = roots[:, :, None, :] + pose
    floor = fit_floor(list(joints_camera))
    m = world_from_camera(floor)
    joints_world = apply_transform(m, joints_camera)
    contact = np.stack([foot_contact(joints_world[p], times) for p in range(n_people)]) if n_people else (
        np.zeros((0, n_frames, 2), bool))
    skate = np.array([foot_skate(joints_world[p], contact[p]) for p in range(n_people)])
    return WorldMotion(camera, float(smooth_s), roots, joints_camera, joints_world, m, floor, contact, skate)
