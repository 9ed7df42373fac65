"""The published preprocessing's screen normalisation applied per frame with each camera's resolution
(the formula is `posemamba_cli.skeleton.normalize_screen`, float32 as published: bit for bit)."""

from __future__ import annotations

import numpy as np

from posemamba_cli.data.h36m import CAMERA_RESOLUTIONS
from posemamba_cli.errors import PoseMambaError
from posemamba_cli.skeleton import denormalize_screen, normalize_screen


def camera_resolutions(camera_names: np.ndarray) -> np.ndarray:
    """(N,) camera names -> (N, 2) float64 (width, height); an unknown camera is an error."""
    names = np.asarray(camera_names).astype(str)
    out = np.zeros((len(names), 2), dtype=np.float64)
    for name in np.unique(names):
        if name not in CAMERA_RESOLUTIONS:
            idx = int(np.flatnonzero(names == name)[0])
            raise PoseMambaError(
                f"frame {idx} has an unknown camera name {name!r} "
                f"(expected one of {', '.join(CAMERA_RESOLUTIONS)})"
            )
        out[names == name] = CAMERA_RESOLUTIONS[name]
    return out


def _groups(wh: np.ndarray):
    """Yield (mask, width, height) per distinct resolution (python ints, as the published code uses)."""
    for w, h in np.unique(wh, axis=0):
        yield np.all(wh == (w, h), axis=1), int(w), int(h)


def normalize_2d(xy: np.ndarray, wh: np.ndarray) -> np.ndarray:
    """(N, J, 2) pixels with per-frame (N, 2) resolution -> v / w * 2 - [1, h / w] (float32)."""
    out = np.asarray(xy, dtype=np.float32)[..., :2].copy()
    for mask, w, h in _groups(wh):
        out[mask] = normalize_screen(out[mask], w, h, np.float32)
    return out


def normalize_3d(xyz: np.ndarray, wh: np.ndarray) -> np.ndarray:
    """(N, J, 3) image-space 3D -> x, y as in `normalize_2d`, z / w * 2 (float32)."""
    out = np.asarray(xyz, dtype=np.float32)[..., :3].copy()
    for mask, w, h in _groups(wh):
        out[mask] = normalize_screen(out[mask], w, h, np.float32)
    return out


def denormalize_clips(clips: np.ndarray, clip_wh: np.ndarray) -> np.ndarray:
    """(n_clips, T, J, 3) normalised -> image space, each clip with its first frame's (w, h) (in place)."""
    data = np.asarray(clips)
    for idx in range(len(data)):
        res_w, res_h = clip_wh[idx]
        data[idx, :, :, :3] = denormalize_screen(data[idx, :, :, :3], res_w, res_h)
    return data
