"""The options of one `infer` run (InferConfig) and the 2D model's interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from posemamba_cli.world.trajectory import DEFAULT_SMOOTH_S


class PoseEstimator2D(Protocol):
    """Top-down 2D keypoints: `predict(image_bgr, bboxes_xyxy) -> ((n, 17, 2) pixels, (n, 17) scores)`.

    An estimator may also offer `predict_many(images, boxes_per_image)`: the crops of several frames at once.
    """

    def predict(self, image_bgr: np.ndarray, bboxes_xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass
class InferConfig:
    """Options of one `infer` run."""

    people: str = "main"  # "main" or "all"
    flip: bool = True
    batch_size: int = 8  # lifter windows per forward pass
    device: str = "cpu"
    render: bool = True
    min_track_frames: int = 3  # shorter tracks are ignored (detector flicker) unless nothing else exists
    keep_fragments: bool = False  # people="all": keep tracks shorter than people.selection.MIN_FRAGMENT_SECONDS
    video_preset: str = "superfast"  # x264 preset of the written videos (encoding dominates rendering)
    concurrent: bool = True  # the same stages in their own threads (pipeline/stream.py); False: in this thread
    export: tuple[str, ...] = ()  # motion files per person beside pose3d.npz (posemamba_cli.export.FORMATS)
    focal_px: float | None = None  # camera focal length (pixels); None: from fov_deg, else the image diagonal
    fov_deg: float | None = None  # horizontal field of view (degrees)
    height_m: float | None = None  # every person's standing height (metres); None: typical H36M bone lengths
    smooth_s: float = DEFAULT_SMOOTH_S  # sigma (seconds) of the root path's temporal filter; 0: none
    world: bool = True  # the world step (root paths, floor, contacts); False: root-relative outputs only
    viewer: bool = True  # viewer.html in the result folder
    rerun: bool = False  # recording.rrd (the optional extra `rerun`)
