"""The top-down 2D estimator: person boxes in an image -> COCO-17 keypoints, as mmpose's inference_topdown."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.pose2d.checkpoint import load_hrnet_model
from posemamba_cli.pose2d.decoding import COCO_FLIP_INDICES, DARK_BLUR_KERNEL, decode_heatmaps, flip_back_heatmaps
from posemamba_cli.pose2d.hrnet import TopDownHRNet
from posemamba_cli.pose2d.inference import inference_hrnet
from posemamba_cli.pose2d.transforms import (
    bbox_xyxy_to_center_scale,
    crop_images,
    crop_to_image,
    normalise_crops,
)

DEFAULT_INPUT_SIZES = {32: (192, 256), 48: (288, 384)}  # (w, h) of mmpose's COCO model-zoo configs
HEATMAP_STRIDE = 4


@dataclass(frozen=True)
class Crops:
    """Normalised crops ready for the network, with what is needed to map results back to the image."""

    inputs: torch.Tensor  # (n, 3, h, w) float32, on the estimator's device
    centers: np.ndarray  # (n, 2) box centres, image pixels
    scales: np.ndarray  # (n, 2) aspect-fixed padded box sizes, image pixels


class HRNetEstimator:
    """Top-down HRNet with mmpose's preprocessing, heatmap flip test and MSRA (plain or DARK) decoding."""

    def __init__(
        self,
        model: TopDownHRNet,
        input_size: tuple[int, int],
        decoding: str = "plain",
        flip_test: bool = True,
        batch_size: int = 32,
        device: str | torch.device = "cpu",
        blur_kernel: int = DARK_BLUR_KERNEL,
        half: bool = False,
    ) -> None:
        if decoding not in ("plain", "dark"):
            raise PoseMambaError(f"2D decoding must be 'plain' or 'dark', got {decoding!r}")
        w, h = (int(v) for v in input_size)
        if w % HEATMAP_STRIDE or h % HEATMAP_STRIDE or w <= 0 or h <= 0:
            raise PoseMambaError(f"HRNet input size must be positive multiples of 4, got {w}x{h} (w x h)")
        self.device = torch.device(device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise PoseMambaError(f"device {device!r} requested but CUDA is not available")
        if half and self.device.type != "cuda":
            raise PoseMambaError("half precision HRNet needs a CUDA device")
        self.dtype = torch.float16 if half else torch.float32
        self.model = model.to(self.device, self.dtype).eval()
        self.input_size = (w, h)
        self.decoding = decoding
        self.flip_test = flip_test
        self.batch_size = max(1, int(batch_size))
        if blur_kernel < 1 or blur_kernel % 2 == 0:
            raise PoseMambaError(f"DARK blur kernel must be a positive odd size, got {blur_kernel}")
        self.blur_kernel = int(blur_kernel)

    @property
    def width(self) -> int:
        """HRNet width (32 or 48)."""
        return self.model.width

    def prepare(self, image_bgr: np.ndarray, bboxes_xyxy: np.ndarray) -> Crops:
        """Crop and normalise every box of one image (the crops land on the estimator's device)."""
        image = np.asarray(image_bgr)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise PoseMambaError(f"expected a uint8 BGR image (h, w, 3), got {image.dtype} {image.shape}")
        boxes = np.asarray(bboxes_xyxy, dtype=np.float32).reshape(-1, 4)
        centers, scales = bbox_xyxy_to_center_scale(boxes, self.input_size)
        crops = crop_images(image, centers, scales, self.input_size)
        return Crops(normalise_crops(crops, self.device), centers, scales)

    @torch.inference_mode()
    def heatmaps(self, inputs: torch.Tensor) -> torch.Tensor:
        """Network heatmaps (n, 17, h/4, w/4) for normalised crops, flip-tested if enabled, in batches."""
        outputs = []
        for start in range(0, len(inputs), self.batch_size):
            chunk = inputs[start : start + self.batch_size].to(self.device, self.dtype)
            if not self.flip_test:
                outputs.append(self.model(chunk).float().cpu())
                continue
            both = self.model(torch.cat([chunk, chunk.flip(-1)])).float()
            plain, mirrored = both[: len(chunk)], both[len(chunk) :]
            outputs.append(((plain + flip_back_heatmaps(mirrored, COCO_FLIP_INDICES)) * 0.5).cpu())
        if not outputs:
            w, h = self.input_size
            return torch.zeros((0, 17, h // HEATMAP_STRIDE, w // HEATMAP_STRIDE))
        return torch.cat(outputs)

    def decode(self, heatmaps: torch.Tensor, crops: Crops) -> tuple[np.ndarray, np.ndarray]:
        """Heatmaps -> keypoints (n, 17, 2) in image pixels and scores (n, 17)."""
        points, scores = decode_heatmaps(heatmaps.numpy(), self.decoding, self.blur_kernel)
        points = points * np.float32(HEATMAP_STRIDE)
        return crop_to_image(points, crops.centers, crops.scales, self.input_size), scores

    def predict(self, image_bgr: np.ndarray, bboxes_xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints (n, 17, 2) in image pixels and scores (n, 17) for n person boxes (x1, y1, x2, y2)."""
        crops = self.prepare(image_bgr, bboxes_xyxy)
        return self.decode(self.heatmaps(crops.inputs), crops)

    def predict_many(
        self, images_bgr: Sequence[np.ndarray], bboxes_xyxy: Sequence[np.ndarray]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """`predict` over several images (e.g. video frames), batching all their crops together."""
        if len(images_bgr) != len(bboxes_xyxy):
            raise ValueError("one box array per image is needed")
        prepared = [self.prepare(img, boxes) for img, boxes in zip(images_bgr, bboxes_xyxy)]
        if not prepared:
            return []
        allmaps = self.heatmaps(torch.cat([c.inputs for c in prepared]))
        results, start = [], 0
        for crops in prepared:
            stop = start + len(crops.inputs)
            results.append(self.decode(allmaps[start:stop], crops))
            start = stop
        return results


def load_hrnet(
    checkpoint: str | os.PathLike | Mapping[str, torch.Tensor],
    input_size: tuple[int, int] | None = None,
    decoding: str = "plain",
    device: str | torch.device = "cpu",
    flip_test: bool = True,
    batch_size: int = 32,
    half: bool = False,
    fold: bool = False,
) -> HRNetEstimator:
    """An `HRNetEstimator` from an mmpose COCO HRNet checkpoint (path or state dict); width from shapes.

    `input_size` is (w, h); by default 192x256 for W32 and 288x384 for W48 (mmpose's model-zoo pairs).
    `half` runs the network in float16 (CUDA only); decoding always runs in float32 on the CPU.
    `fold` runs the inference form of the network (batch norms folded, channels-last on a CPU; see
    `pose2d.inference`): the same heatmaps up to float rounding, about 1.8x faster on a CPU.
    """
    model = load_hrnet_model(checkpoint)
    if fold:
        model = inference_hrnet(model, device)
    size = input_size or DEFAULT_INPUT_SIZES[model.width]
    return HRNetEstimator(model, size, decoding, flip_test, batch_size, device, half=half)
