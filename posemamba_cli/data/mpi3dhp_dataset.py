"""Torch dataset over 3DHP training clips with the reference's 50% flip (3DHP left/right joints)."""

from __future__ import annotations

import numpy as np

from posemamba_cli.data.dataset import FlippedClipDataset
from posemamba_cli.data.mpi3dhp import Clips3DHP, flip_pose


class Clip3DHPDataset(FlippedClipDataset):
    """Yields (input (T, 17, 2 or 3), target (T, 17, 3)) float32: normalised 2D (+ confidence 1) and
    root-relative normalised 3D (root joint 14); flipped as FlippedClipDataset says (on by default)."""

    mirror = staticmethod(flip_pose)
    dtype = np.float32

    def __init__(self, clips: Clips3DHP, flip: bool = True, in_chans: int = 3, seed: int = 0) -> None:
        super().__init__(clips, flip, seed)
        self.in_chans = in_chans

    def model_input(self, inputs: np.ndarray, labels: np.ndarray) -> np.ndarray:
        return inputs[..., : self.in_chans]
