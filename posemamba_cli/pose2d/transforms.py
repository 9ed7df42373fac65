"""Top-down crops as mmpose makes them: box -> centre/scale -> affine warp -> normalised RGB tensor."""

from __future__ import annotations

import cv2
import numpy as np
import torch

BBOX_PADDING = 1.25
IMAGENET_MEAN_RGB = (123.675, 116.28, 103.53)
IMAGENET_STD_RGB = (58.395, 57.12, 57.375)


def bbox_xyxy_to_center_scale(
    bboxes_xyxy: np.ndarray, input_size: tuple[int, int], padding: float = BBOX_PADDING
) -> tuple[np.ndarray, np.ndarray]:
    """Box centres (n, 2) and padded scales (n, 2), widened or heightened to the input's aspect ratio."""
    boxes = np.asarray(bboxes_xyxy, dtype=np.float32).reshape(-1, 4)
    center = (boxes[:, 2:] + boxes[:, :2]) * 0.5
    scale = (boxes[:, 2:] - boxes[:, :2]) * padding
    aspect = input_size[0] / input_size[1]
    w, h = scale[:, :1], scale[:, 1:]
    scale = np.where(w > h * aspect, np.hstack([w, w / aspect]), np.hstack([h * aspect, h]))
    return center, scale.astype(np.float32)


def _third_point(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The point making a right angle at b: b plus (a - b) rotated by 90 degrees."""
    d = a - b
    return b + np.array([-d[1], d[0]], dtype=np.float32)


def warp_matrix(center: np.ndarray, scale: np.ndarray, input_size: tuple[int, int]) -> np.ndarray:
    """The 2x3 affine map from the image to the crop (box centre -> crop centre, box width -> crop width)."""
    out_w, out_h = input_size
    src = np.zeros((3, 2), dtype=np.float32)
    dst = np.zeros((3, 2), dtype=np.float32)
    src[0] = center
    src[1] = center + np.array([-0.5 * scale[0], 0.0])
    dst[0] = (out_w * 0.5, out_h * 0.5)
    dst[1] = dst[0] + np.array([-0.5 * out_w, 0.0])
    src[2] = _third_point(src[0], src[1])
    dst[2] = _third_point(dst[0], dst[1])
    return cv2.getAffineTransform(src, dst)


def crop_images(
    image_bgr: np.ndarray, centers: np.ndarray, scales: np.ndarray, input_size: tuple[int, int]
) -> np.ndarray:
    """The warped uint8 BGR crops (n, h, w, 3), bilinear with a black border."""
    out_w, out_h = input_size
    crops = np.empty((len(centers), out_h, out_w, 3), dtype=np.uint8)
    for i, (center, scale) in enumerate(zip(centers, scales)):
        crops[i] = cv2.warpAffine(
            image_bgr, warp_matrix(center, scale, input_size), (out_w, out_h), flags=cv2.INTER_LINEAR
        )
    return crops


def normalise_crops(crops_bgr: np.ndarray, device: torch.device | str | None = None) -> torch.Tensor:
    """uint8 BGR crops (n, h, w, 3) -> float RGB tensor (n, 3, h, w) with ImageNet mean/std, on `device`.

    The uint8 crops travel to the device first, so a GPU does the conversion on a quarter of the bytes.
    """
    raw = torch.from_numpy(np.ascontiguousarray(crops_bgr)).to(device)
    rgb = raw.permute(0, 3, 1, 2)[:, [2, 1, 0]].contiguous().float()
    mean = torch.tensor(IMAGENET_MEAN_RGB, device=rgb.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD_RGB, device=rgb.device).view(1, 3, 1, 1)
    return rgb.sub_(mean).div_(std)


def crop_to_image(
    points: np.ndarray, centers: np.ndarray, scales: np.ndarray, input_size: tuple[int, int]
) -> np.ndarray:
    """Map points (n, k, 2) in crop pixels back to image pixels."""
    size = np.asarray(input_size, dtype=np.float32)
    return points / size * scales[:, None] + centers[:, None] - 0.5 * scales[:, None]
