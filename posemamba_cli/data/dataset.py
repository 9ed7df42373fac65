"""Torch datasets over clips with the published random horizontal flip (deterministic per epoch)."""

from __future__ import annotations

from typing import Callable

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


class FlippedClipDataset(Dataset):
    """Yields (input, target) tensors of the clips of `clips` (anything with len() and clip(idx)).

    With `flip`, input and target are mirrored together by `mirror` with probability 0.5; the draw depends
    only on (seed, epoch, index), so a resumed or distributed run sees the same augmentation. Subclasses set
    the skeleton's `mirror`, the tensors' `dtype` (None: the clips' own) and how a clip becomes the input.
    """

    mirror: Callable[[np.ndarray], np.ndarray] = staticmethod(flip_pose)
    dtype: type | None = None

    def __init__(self, clips, flip: bool, seed: int) -> None:
        self.clips, self.flip, self.seed = clips, flip, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.clips)

    def flipped(self, idx: int) -> bool:
        """Whether sample `idx` is flipped in the current epoch."""
        return self.flip and np.random.default_rng([self.seed, self.epoch, idx]).random() < 0.5

    def model_input(self, inputs: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """The input (T, 17, C) fed to the model for a clip's stored inputs and labels."""
        return inputs

    def __getitem__(self, idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.clips.clip(idx)
        x = self.model_input(x, y)
        if self.flipped(idx):
            x, y = self.mirror(x), self.mirror(y)
        return (torch.from_numpy(np.ascontiguousarray(x, dtype=self.dtype)),
                torch.from_numpy(np.ascontiguousarray(y, dtype=self.dtype)))


class ClipDataset(FlippedClipDataset):
    """H36M clips: (input (T, 17, 2 or 3), target (T, 17, 3)) tensors, both normalised.

    With `gt_2d` the input is the ground truth's x, y with confidence 1 (published option); `no_conf` drops
    the confidence channel. The flip is off unless asked for (H36M left/right joints).
    """

    def __init__(
        self, clips: ClipSet, flip: bool = False, no_conf: bool = True, gt_2d: bool = False, seed: int = 0
    ) -> None:
        super().__init__(clips, flip, seed)
        self.gt_2d = gt_2d
        self.no_conf = no_conf

    def model_input(self, inputs: np.ndarray, labels: np.ndarray) -> np.ndarray:
        x = gt_2d_input(labels) if self.gt_2d else inputs
        return x[..., :2] if self.no_conf else x
