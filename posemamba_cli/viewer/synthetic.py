"""A made-up scene for the viewer's tests and benchmark: people walking circles on the floor."""

from __future__ import annotations

import numpy as np

from posemamba_cli.video.synthetic import body_motion
from posemamba_cli.viewer.scene import ViewerScene


def walking_scene(
    n_frames: int, n_people: int = 3, fps: float = 30.0, absent_tail: int = 0, jitter_mm: float = 0.0
) -> ViewerScene:
    """`n_people` walking circles of different radii (mm, z up, feet near z = 0); with `absent_tail`, the
    last person leaves that many frames before the end (NaN there); `jitter_mm`: Gaussian noise (seed 0) as
    a real lifter's output has."""
    cycle = min(n_frames, int(round(20 * fps)))  # the walking motion repeats every 20 s
    camera, _ = body_motion(cycle, fps)
    body = np.stack([camera[..., 0], camera[..., 2], -camera[..., 1]], -1)  # camera (y down) -> z up
    body[..., 2] -= body[..., 2].min()
    body = body[np.arange(n_frames) % cycle]
    t = np.arange(n_frames) / fps
    joints = np.zeros((n_people, n_frames, 17, 3), np.float32)
    for p in range(n_people):
        radius, speed = 1500.0 + 1200.0 * p, 0.2 + 0.05 * p
        angle = speed * t + 2 * np.pi * p / max(n_people, 1)
        root = np.stack([radius * np.cos(angle), radius * np.sin(angle), np.zeros_like(t)], -1)
        joints[p] = body + root[:, None, :]
    if jitter_mm:
        joints += np.random.default_rng(0).normal(0.0, jitter_mm, joints.shape).astype(np.float32)
    if absent_tail and n_people:
        joints[-1, n_frames - absent_tail :] = np.nan
    return ViewerScene(joints, t, fps, np.arange(1, n_people + 1), note="synthetic people walking circles")
