"""The `infer` pipeline: stages with progress bars, per-video output folders written atomically.

Its names are imported on first use, so `posemamba_cli.pipeline.config` (InferConfig, which the command line
reads to build its flags) loads without torch.
"""

from posemamba_cli._lazy import lazy_attributes

_LAZY = {
    "InferConfig": "posemamba_cli.pipeline.config",
    "PoseEstimator2D": "posemamba_cli.pipeline.config",
    "VideoResult": "posemamba_cli.pipeline.per_video",
    "collect_videos": "posemamba_cli.pipeline.per_video",
    "infer_video": "posemamba_cli.pipeline.per_video",
    "lifter_num_frame": "posemamba_cli.pipeline.stages",
    "Tracks2D": "posemamba_cli.pipeline.tracks2d",
    "infer": "posemamba_cli.pipeline.videos",
    "is_finished": "posemamba_cli.pipeline.videos",
    "plan_outputs": "posemamba_cli.pipeline.videos",
    "load_keypoints": "posemamba_cli.pipeline.keypoints_input",
}
__getattr__ = lazy_attributes(__name__, _LAZY)
__all__ = sorted(_LAZY)
