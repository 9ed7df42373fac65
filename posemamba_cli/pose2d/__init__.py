"""2D keypoints: top-down HRNet (mmpose-compatible, plain PyTorch) and readers for keypoint files.

    load_hrnet(checkpoint, input_size=None, decoding="plain", device="cpu") -> HRNetEstimator
    HRNetEstimator.predict(image_bgr, bboxes_xyxy) -> keypoints (n, 17, 2) pixels, scores (n, 17)
    read_hrnet_state_dict(path) / hrnet_state_shapes(width)   for checkpoint verification
    read_keypoint_file(path) -> KeypointTracks                  COCO results, AlphaPose/Halpe JSON, our npz
"""

from posemamba_cli.pose2d.checkpoint import (
    check_hrnet_state_dict,
    hrnet_state_shapes,
    infer_hrnet_width,
    load_hrnet_model,
    read_hrnet_state_dict,
)
from posemamba_cli.pose2d.estimator import DEFAULT_INPUT_SIZES, HRNetEstimator, load_hrnet
from posemamba_cli.pose2d.hrnet import TopDownHRNet
from posemamba_cli.pose2d.keypoint_files import (
    KeypointTracks,
    PersonKeypoints,
    read_keypoint_file,
    write_keypoints_npz,
)

__all__ = [
    "DEFAULT_INPUT_SIZES",
    "HRNetEstimator",
    "KeypointTracks",
    "PersonKeypoints",
    "TopDownHRNet",
    "check_hrnet_state_dict",
    "hrnet_state_shapes",
    "infer_hrnet_width",
    "load_hrnet",
    "load_hrnet_model",
    "read_hrnet_state_dict",
    "read_keypoint_file",
    "write_keypoints_npz",
]
