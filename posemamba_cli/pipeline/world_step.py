"""`infer`'s world step, after lifting: every person's path and contacts in one world frame, the camera test."""

from __future__ import annotations

import time

import av
import numpy as np

from posemamba_cli.lift.track import Pose3D
from posemamba_cli.pipeline.progress import StageTimes
from posemamba_cli.pipeline.tracks2d import Tracks2D
from posemamba_cli.video import VideoInfo
from posemamba_cli.world import WorldMotion, fit_world_motion, resolve_camera
from posemamba_cli.world.camera_motion import CameraMotion, detect_camera_motion


def estimate_world(
    info: VideoInfo, tracks: Tracks2D, poses: list[Pose3D], times_s: np.ndarray, focal_px: float | None,
    fov_deg: float | None, smooth_s: float, stage_times: StageTimes,
) -> tuple[WorldMotion, CameraMotion]:
    """World motion of the lifted people (`tracks`: the filled 2D, `poses` their lifts) and the camera verdict."""
    from posemamba_cli.video.sample import sample_frames

    start = time.perf_counter()
    camera = resolve_camera(info.width, info.height, focal_px, fov_deg)
    world = fit_world_motion(
        np.stack([p.keypoints_2d_h36m for p in poses]), np.stack([p.scores_h36m for p in poses]), tracks.detected,
        np.stack([p.camera_mm for p in poses]), times_s, camera, smooth_s,
    )  # fmt: skip
    try:
        samples = sample_frames(info)
    except (av.FFmpegError, OSError, ValueError, StopIteration):  # the test is a courtesy: never fail a run on it
        samples = []
    in_life = tracks.within_lifespan()
    boxes = []
    for index, image in samples:
        k = tracks.keypoints[in_life[:, min(index, tracks.n_frames - 1)], min(index, tracks.n_frames - 1)]
        scale = image.shape[1] / info.width
        boxes.append(np.concatenate([k.min(1), k.max(1)], 1) * scale if len(k) else np.zeros((0, 4)))
    motion = detect_camera_motion(samples, boxes)
    stage_times.add("world", time.perf_counter() - start, tracks.n_frames)
    return world, motion
