"""Torch dataset over a ClipSet with the published random horizontal flip (deterministic per epoch)."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from posemamba_cli.data.clips import ClipSet
from posemamba_cli.skeleton import flip_pose


def gt_2d_input(labels: np.ndarray) -> np.ndarray:
    """(..., 17, 3) normalised 3D -> (..., 17, 3) input of its x, y with confidence 1."""
    out = labels.copy()
    out[..., 2] = 1.0
    return out


class ClipDataset(Dataset):
    """Yields (input (T, 17, 2 or 3), target (T, 17, 3)) float32 tensors, both normalised.

    With `gt_2d` the input is the ground truth's x, y with confidence 1 (published option). With `flip`,
    input and target are flipped together with probability 0.5; the draw depends only on
    (seed, epoch, index), so a resumed or distributed run sees the same augmentation.
    """

    def __init__(
        self, clips: ClipSet, flip: bool = False, no_conf: bool = True, gt_2d: bool = False, seed: int = 0
    ) -> None:
        self.clips = clips
        self.gt_2d = gt_2d
        self.flip = flip
        self.no_conf = no_conf
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.clips)

    def flipped(self, idx: int) -> bool:
        """Whether sample `idx` is flipped in the current epoch."""
        return self.flip and np.random.default_rng([self.seed, self.epoch, idx]).random() < 0.5

    def __getitem__(self, idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.clips.clip(idx)
        if self.gt_2d:
            x = gt_2d_input(y)
        if self.no_conf:
            x = x[..., :2]
        if self.flipped(idx):
            x, y = flip_pose(x), flip_pose(y)
        return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))
