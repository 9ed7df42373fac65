"""The `infer` pipeline: stages with progress bars, per-video output folders written atomically."""

from posemamba_cli.pipeline.keypoints_input import load_keypoints
from posemamba_cli.pipeline.per_video import (
    InferConfig,
    PoseEstimator2D,
    VideoResult,
    collect_videos,
    infer_video,
    lifter_num_frame,
)
from posemamba_cli.pipeline.tracks2d import Tracks2D
from posemamba_cli.pipeline.videos import infer, is_finished, plan_outputs

__all__ = [
    "InferConfig",
    "PoseEstimator2D",
    "VideoResult",
    "Tracks2D",
    "collect_videos",
    "infer",
    "infer_video",
    "is_finished",
    "plan_outputs",
    "lifter_num_frame",
    "load_keypoints",
]
