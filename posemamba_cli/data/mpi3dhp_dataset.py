"""Torch dataset over 3DHP training clips with the reference's 50% flip (3DHP left/right joints)."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from posemamba_cli.data.mpi3dhp import Clips3DHP, flip_pose


class Clip3DHPDataset(Dataset):
    """Yields (input (T, 17, 2 or 3), target (T, 17, 3)) float32: normalised 2D (+ confidence 1) and
    root-relative normalised 3D (root joint 14).

    With `flip`, input and target are mirrored together with probability 0.5; the draw depends only on
    (seed, epoch, index), so a resumed or distributed run sees the same augmentation.
    """

    def __init__(self, clips: Clips3DHP, flip: bool = True, in_chans: int = 3, seed: int = 0) -> None:
        self.clips, self.flip, self.in_chans, self.seed = clips, flip, in_chans, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.clips)

    def flipped(self, idx: int) -> bool:
        return self.flip and np.random.default_rng([self.seed, self.epoch, idx]).random() < 0.5

    def __getitem__(self, idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.clips.clip(idx)
        x = x[..., : self.in_chans]
        if self.flipped(idx):
            x, y = flip_pose(x), flip_pose(y)
        return (torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
                torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32)))
